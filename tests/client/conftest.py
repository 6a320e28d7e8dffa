"""The client against a real server: the ASGI app served by uvicorn in this process (live_asgi_url), real
HTTP, a real Celery worker, the simulator carrier and local recording storage.

Calls are cleared at the suite's fixed clock (tests/compliance/calling_clock.py): the server runs in this
process, so the clock applies to it and to the worker thread alike."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator

import pytest

from wordcab_admin.client import Client
from wordcab_admin.kernel.accounts import api_key_create


@pytest.fixture
def quick_calls(settings, recording_store) -> None:
    """Simulated calls ring and talk for a fraction of a second; recordings are stored under tmp_path."""
    settings.SIMULATOR_SPEED = 20
    settings.SIMULATOR_DISORDER = False


@pytest.fixture
def key_of() -> Callable:
    """`key_of(alice)`: a new API key of alice's, as `manage.py create_api_key alice` prints it."""

    def make(user) -> str:
        return api_key_create(user=user, name="client tests")[1]

    return make


@pytest.fixture
def jurisdictions_as_migrated(transactional_db) -> None:
    """The jurisdictions a migrated server has. The data migration wrote them, but a transactional test
    empties every table when it ends, and campaigns call only the countries that have jurisdictions."""
    from django.apps import apps

    from compliance.models import Jurisdiction
    from compliance.seed import jurisdictions_seed

    if not Jurisdiction.objects.exists():
        jurisdictions_seed(apps)


@pytest.fixture
def client_for(live_asgi_url, key_of, jurisdictions_as_migrated) -> Iterator[Callable[..., Client]]:
    """`client_for(alice)`: a Client of the live server with a key of alice's (options passed on)."""
    made: list[Client] = []

    def make(user, **options) -> Client:
        options.setdefault("backoff", 0.05)
        client = Client(base_url=live_asgi_url, api_key=key_of(user), **options)
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


@pytest.fixture
def dispatch_beat(celery_worker_thread) -> Iterator[None]:
    """Beat's part, faster: `campaigns.dispatch_tick` every half second while the test runs."""
    from wordcab_admin.celery import app

    stop = threading.Event()

    def tick() -> None:
        while not stop.wait(0.5):
            app.send_task("campaigns.dispatch_tick", ignore_result=True)

    thread = threading.Thread(target=tick, name="test-beat", daemon=True)
    thread.start()
    yield
    stop.set()
    thread.join(timeout=5)
