import os
import subprocess
import sys

import pytest
from asgiref.sync import SyncToAsync, async_to_sync, iscoroutinefunction
from django.core.handlers.asgi import ASGIHandler
from django.test import AsyncClient

from tests.factories import UserFactory
from wordcab_admin.kernel.roles import Role


def test_every_middleware_runs_async_so_requests_skip_extra_thread_hops():
    chain = ASGIHandler()._middleware_chain
    assert iscoroutinefunction(chain)
    assert not isinstance(chain, SyncToAsync), "a sync-only middleware splits the chain into thread hops"


def test_static_files_are_served_through_the_async_chain():
    response = async_to_sync(AsyncClient().get)("/static/css/app.css")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/css")


def test_an_unknown_api_path_answers_the_json_error_shape_through_the_async_chain():
    response = async_to_sync(AsyncClient().get)("/v1/no-such-thing")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


# --- the stock middleware with inline hooks (wordcab_admin/kernel/fastpath/async_middleware.py), through the ASGI handler --


def _thread_hops(monkeypatch) -> list[str]:
    """Names of the sync functions the ASGI stack sends to a thread during a request."""
    hops: list[str] = []
    original = SyncToAsync.__call__

    async def counting(self, *args, **kwargs):
        hops.append(getattr(self.func, "__qualname__", repr(self.func)))
        return await original(self, *args, **kwargs)

    monkeypatch.setattr(SyncToAsync, "__call__", counting)
    return hops


def test_a_request_that_saves_nothing_passes_the_middleware_without_thread_hops(monkeypatch):
    hops = _thread_hops(monkeypatch)
    response = async_to_sync(AsyncClient().get)("/v1/no-such-thing")
    assert response.status_code == 404
    assert not [hop for hop in hops if "process_request" in hop or "process_response" in hop]


@pytest.mark.django_db(transaction=True)
def test_signing_in_saves_the_session_on_a_thread_and_the_next_request_knows_the_user(monkeypatch):
    UserFactory(username="dora", role=Role.OPERATOR)
    hops = _thread_hops(monkeypatch)
    client = AsyncClient()
    signed_in = async_to_sync(client.post)(
        "/login/", {"username": "dora", "password": "correct horse battery staple"}
    )
    assert signed_in.status_code == 302
    assert "SessionMiddleware.process_response" in hops
    page = async_to_sync(client.get)("/agents/")
    assert page.status_code == 200
    assert b"dora" in page.content


@pytest.mark.django_db(transaction=True)
def test_a_flash_message_is_stored_and_shown_through_the_async_chain():
    UserFactory(username="erin", role=Role.OPERATOR)
    client = AsyncClient()
    async_to_sync(client.post)("/login/", {"username": "erin", "password": "correct horse battery staple"})
    created = async_to_sync(client.post)(
        "/agents/create", {"name": "Night shift", "language": "en-US", "max_duration": 60}
    )
    assert created.status_code == 302, created.content[:500]
    page = async_to_sync(client.get)(created["Location"])
    assert "Agent Night shift created." in page.content.decode()
    again = async_to_sync(client.get)(created["Location"])
    assert "Agent Night shift created." not in again.content.decode()  # shown once, then gone


@pytest.mark.django_db(transaction=True)
def test_a_form_post_without_its_csrf_token_is_refused_through_the_async_chain():
    UserFactory(username="fay", role=Role.OPERATOR)
    client = AsyncClient(enforce_csrf_checks=True)
    refused = async_to_sync(client.post)(
        "/login/", {"username": "fay", "password": "correct horse battery staple"}
    )
    assert refused.status_code == 403


def test_the_web_process_imports_every_view_and_freezes_its_startup_heap_before_serving():
    """Full garbage collections that walk Django's start-up objects stalled live updates for 40-80 ms."""
    probe = (
        "import gc, sys; import wordcab_admin.asgi; "
        "print(gc.get_freeze_count(), 'calls.api' in sys.modules, 'compliance.views' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "wordcab_admin.settings"},
    )
    frozen, api_imported, compliance_imported = result.stdout.split()
    assert int(frozen) > 50_000  # Django, DRF, Channels and our modules: ~118,000 objects
    assert api_imported == compliance_imported == "True"
