"""The cast, each with what they may do, and the real components tests lean on."""

import contextlib
import socket
import threading
from collections.abc import Callable, Iterator

import pytest
from django.db import connection
from redis.exceptions import RedisError
from rest_framework.test import APIClient

from tests.compliance.calling_clock import calls_cleared_at_a_weekday_midday, clearance_clock_at  # noqa: F401
from tests.factories import AgentFactory, UserFactory
from wordcab_admin.kernel.accounts import api_key_create, api_key_lockout_clear
from wordcab_admin.kernel.roles import Role

# Carriers and recording stores, shared by the calls, telephony, recordings and live folders.
pytest_plugins = ["tests.shared_fixtures"]


@pytest.fixture
def ada(db):
    """Ada the admin: everything, users and settings included."""
    return UserFactory(username="ada", role=Role.ADMIN)


@pytest.fixture
def alice(db):
    """Alice the operator: agents, numbers, campaigns, calls and playback; no compliance settings."""
    return UserFactory(username="alice", role=Role.OPERATOR)


@pytest.fixture
def bob(db):
    """Bob the viewer: reads everything, changes nothing, may not play recordings."""
    return UserFactory(username="bob", role=Role.VIEWER)


@pytest.fixture
def carol(db):
    """Carol the compliance officer: openers, retention, holds, do-not-call, audit log and playback."""
    return UserFactory(username="carol", role=Role.COMPLIANCE)


@pytest.fixture
def agent(db):
    return AgentFactory(public_id="agent_abc", name="Reminder bot")


@pytest.fixture
def api() -> Callable:
    """`api(alice)` is a DRF client that sends a fresh API key of alice's as a Bearer token."""

    def client_for(user=None) -> APIClient:
        client = APIClient()
        if user is not None:
            _, raw = api_key_create(user=user, name="test")
            client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
        return client

    return client_for


@pytest.fixture
def on_postgres(db) -> None:
    """Behaviour that depends on row locks and real concurrency is tested on PostgreSQL only."""
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (set DATABASE_URL); .ci/run runs it there")


@pytest.fixture
def celery_worker_thread(transactional_db) -> Iterator[object]:
    """A real Celery worker (threads pool) consuming from the real Redis broker while the test runs."""
    from celery.contrib.testing.worker import start_worker

    from wordcab_admin.celery import app

    with start_worker(
        app, pool="threads", concurrency=4, perform_ping_check=False, loglevel="WARNING"
    ) as worker:
        yield worker


@pytest.fixture(scope="session")
def _live_server_connections(django_db_setup, django_db_blocker) -> Iterator[None]:
    """At the end of the session, before the test database is dropped, end the database sessions that
    the live server's request threads left open (each request runs in a thread of its own that Django
    does not close on exit); PostgreSQL would otherwise refuse to drop a database still in use."""
    yield
    from django.db import connection

    with django_db_blocker.unblock():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )


@pytest.fixture
def live_asgi_url(_live_server_connections, transactional_db) -> Iterator[str]:
    """Base URL (`http://127.0.0.1:<port>`) of the ASGI app served by uvicorn in a background thread."""
    import uvicorn

    from wordcab_admin.asgi import application

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))  # bound here, handed to uvicorn: no race for the port
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        application,
        lifespan="off",
        log_level="warning",
        access_log=False,
        ws="websockets-sansio",
        timeout_graceful_shutdown=5,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="live-asgi", daemon=True)
    thread.start()
    from tests.helpers import wait_for

    wait_for(lambda: server.started or not thread.is_alive(), timeout=15, what="uvicorn to start")
    if not server.started:
        raise RuntimeError("uvicorn did not start; see the log above")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        sock.close()
        assert not thread.is_alive(), "uvicorn did not shut down within 15 s"


@pytest.fixture(autouse=True)
def hot_db_work_in_the_request_thread(settings):
    """Tests wrap each test in a transaction that only the test's own connection sees, so webhook
    database work runs in the request's thread here; tests/core/test_hot_db_threads.py covers the threads."""
    settings.HOT_DB_THREADS = 0


@pytest.fixture(autouse=True)
def no_api_key_lockout_carried_over() -> Iterator[None]:
    """Failed API key lookups are counted per address in Redis, which outlives each test's database: the
    test client's address starts every test with a clean count, whatever an earlier test sent."""
    yield
    with contextlib.suppress(RedisError, OSError):
        api_key_lockout_clear("127.0.0.1")
