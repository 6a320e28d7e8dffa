"""Safe retries: what the client sends again after a lost answer, a 429 or a 5xx, and what it never does.

The lost answer is real: a proxy in front of the live server relays the request, lets the server act on
it, and drops the connection before the answer gets back."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import pytest

from calls.models import Call
from campaigns.models import Campaign
from tests.client.fakes import Answer, DroppingProxy, scripted_server
from wordcab_admin.client import APIConnectionError, Client, ServerError


def test_a_call_whose_answer_was_lost_is_asked_for_again_and_exactly_one_call_exists(
    live_asgi_url, key_of, alice, agent
):
    with DroppingProxy(live_asgi_url) as proxy:
        client = Client(base_url=proxy.url, api_key=key_of(alice), backoff=0.01)
        call = client.agents.calls.create(
            agent_id="agent_abc",
            phone_number="+14155551234",
            idempotency_key="reminder-2026-04-16-user-55123",
        )
        client.close()
    assert proxy.connections == 2  # the first answer was dropped; the retry got the same call
    assert list(Call.objects.values_list("public_id", "idempotency_key")) == [
        (call.id, "reminder-2026-04-16-user-55123")
    ]


def test_a_call_created_without_a_key_gets_one_from_the_client_so_a_retry_is_still_one_call(
    live_asgi_url, key_of, alice, agent
):
    with DroppingProxy(live_asgi_url) as proxy:
        client = Client(base_url=proxy.url, api_key=key_of(alice), backoff=0.01)
        call = client.agents.calls.create(agent_id="agent_abc", phone_number="+14155551234")
        client.close()
    assert proxy.connections == 2
    stored = Call.objects.get()
    assert stored.public_id == call.id
    assert uuid.UUID(stored.idempotency_key)  # the key the client made up


def test_a_campaign_upload_whose_answer_was_lost_is_not_sent_again(
    live_asgi_url, key_of, alice, agent, tmp_path: Path
):
    contacts = tmp_path / "contacts.csv"
    contacts.write_text("name,phone\nJane,+14155550123\n")
    with DroppingProxy(live_asgi_url, drops=5) as proxy:
        client = Client(base_url=proxy.url, api_key=key_of(alice), backoff=0.01)
        with pytest.raises(APIConnectionError):
            client.campaigns.create(contacts, agent_id="agent_abc")
        client.close()
    assert proxy.connections == 1  # a campaign has no idempotency key: a second upload could make two
    assert Campaign.objects.count() == 1


def test_a_503_is_retried_even_for_a_post_without_a_key_since_the_server_did_nothing():
    unavailable = {"error": {"code": "service_unavailable", "message": "Retry shortly.", "field": None}}
    with scripted_server(
        Answer(503, unavailable, {"Retry-After": "0"}), Answer(200, {"id": "camp_1", "status": "running"})
    ) as server:
        campaign = Client(base_url=server.url, api_key="k").campaigns.start("camp_1")
    assert (campaign.id, campaign.status) == ("camp_1", "running")
    assert server.requests == [("POST", "/v1/campaigns/camp_1/start")] * 2


def test_a_500_answering_a_post_without_a_key_is_raised_not_sent_again():
    failure = {"error": {"code": "server_error", "message": "Something went wrong.", "field": None}}
    with scripted_server(Answer(500, failure)) as server, pytest.raises(ServerError):
        Client(base_url=server.url, api_key="k", backoff=0.01).campaigns.start("camp_1")
    assert len(server.requests) == 1  # it may have started: a second start could be refused or repeat it


def test_a_429_is_retried_after_the_wait_the_server_asks_for():
    throttled = {"error": {"code": "throttled", "message": "Slow down.", "field": None}}
    with scripted_server(
        Answer(429, throttled, {"Retry-After": "0.3"}), Answer(200, {"id": "call_1", "status": "completed"})
    ) as server:
        started = time.monotonic()
        call = Client(base_url=server.url, api_key="k").calls.get("call_1")
        waited = time.monotonic() - started
    assert call.status == "completed"
    assert len(server.requests) == 2
    assert waited >= 0.3
