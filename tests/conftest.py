"""The cast, each with what they may do, and the real components tests lean on."""

from collections.abc import Callable, Iterator

import pytest
from django.db import connection
from rest_framework.test import APIClient

from tests.factories import AgentFactory, UserFactory
from wordcab_admin.accounts import api_key_create
from wordcab_admin.roles import Role


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
