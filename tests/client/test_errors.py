"""Each error type of the client, from a real server's answer (a scripted stand-in only for 5xx and a server
that never answers): its class, HTTP status, the API's code, message and field, and the request id."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from calls.models import Call
from tests.client.fakes import Answer, scripted_server, silent_server, unused_port_url
from tests.factories import DoNotCallFactory
from wordcab_admin.client import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    AuthenticationError,
    Client,
    ComplianceRefusal,
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
    ValidationError,
)


def test_an_unknown_call_is_a_not_found_error_with_the_api_code_and_request_id(client_for, alice):
    with pytest.raises(NotFoundError) as raised:
        client_for(alice).calls.get("call_nope")
    error = raised.value
    assert (error.status, error.code) == (404, "call_not_found")
    assert error.request_id
    assert len(error.request_id) == 32
    assert str(error) == "404 call_not_found: No call call_nope."


def test_an_idempotency_key_reused_with_another_body_is_a_conflict_error(client_for, alice, agent):
    client = client_for(alice)
    client.agents.calls.create(agent_id=agent.public_id, phone_number="+14155550123", idempotency_key="k-1")
    with pytest.raises(ConflictError) as raised:
        client.agents.calls.create(
            agent_id=agent.public_id, phone_number="+14155550124", idempotency_key="k-1"
        )
    assert (raised.value.status, raised.value.code, raised.value.field) == (
        409,
        "idempotency_conflict",
        "idempotency_key",
    )
    assert Call.objects.count() == 1


def test_a_number_that_cannot_be_read_is_a_validation_error_naming_the_field(client_for, alice, agent):
    with pytest.raises(ValidationError) as raised:
        client_for(alice).agents.calls.create(agent_id=agent.public_id, phone_number="555-0123")
    assert not isinstance(raised.value, ComplianceRefusal)
    assert (raised.value.status, raised.value.field) == (400, "phone_number")
    assert "is not a valid phone number" in raised.value.message
    assert Call.objects.count() == 0


def test_an_unknown_api_key_is_an_authentication_error(live_asgi_url):
    client = Client(base_url=live_asgi_url, api_key="wck_not-a-key")
    with pytest.raises(AuthenticationError) as raised:
        client.calls.list().first(1)
    assert (raised.value.status, raised.value.code) == (401, "authentication_failed")


def test_a_viewers_key_placing_a_call_is_a_permission_denied_error(client_for, bob, agent):
    with pytest.raises(PermissionDeniedError) as raised:
        client_for(bob).agents.calls.create(agent_id=agent.public_id, phone_number="+14155550123")
    assert (raised.value.status, raised.value.code) == (403, "permission_denied")
    assert Call.objects.count() == 0


def test_a_number_on_the_do_not_call_list_is_a_compliance_refusal(client_for, alice, agent):
    DoNotCallFactory(number="+14155550123")
    with pytest.raises(ComplianceRefusal) as raised:
        client_for(alice).agents.calls.create(agent_id=agent.public_id, phone_number="+14155550123")
    refusal = raised.value
    assert isinstance(refusal, ValidationError)
    assert (refusal.status, refusal.code, refusal.field) == (422, "do_not_call", "phone_number")
    assert Call.objects.count() == 0


def test_a_callee_outside_their_calling_window_is_a_compliance_refusal_saying_when_it_opens(
    client_for, alice, agent, clearance_clock_at
):
    clearance_clock_at(datetime(2026, 6, 17, 9, 0, tzinfo=UTC))  # 02:00 in California
    with pytest.raises(ComplianceRefusal) as raised:
        client_for(alice).agents.calls.create(agent_id=agent.public_id, phone_number="+14155550123")
    refusal = raised.value
    assert (refusal.status, refusal.code) == (422, "outside_calling_window")
    assert refusal.opens_at
    assert refusal.opens_at.startswith("2026-06-17T15:00")
    assert Call.objects.count() == 0


def test_a_locked_out_address_is_a_rate_limit_error_raised_at_once_with_its_retry_after(
    live_asgi_url, settings
):
    settings.API_KEY_FAILURE_LIMIT = 2  # the second unknown key locks the address out for 15 minutes
    client = Client(base_url=live_asgi_url, api_key="wck_guess", max_retry_wait=60)
    with pytest.raises(AuthenticationError):
        client.me()
    with pytest.raises(RateLimitError) as raised:
        client.me()  # not retried: the server asks for 900 s, more than the client waits
    assert (raised.value.status, raised.value.code) == (429, "too_many_failures")
    assert raised.value.retry_after == settings.API_KEY_LOCKOUT_SECONDS


def test_a_server_error_is_retried_for_a_read_then_raised_as_a_server_error():
    failure = {
        "error": {"code": "server_error", "message": "Something went wrong on our side.", "field": None}
    }
    with scripted_server(Answer(500, failure)) as server:
        client = Client(base_url=server.url, api_key="k", max_retries=2, backoff=0.01)
        with pytest.raises(ServerError) as raised:
            client.calls.get("call_1")
    assert (raised.value.status, raised.value.code) == (500, "server_error")
    assert server.requests == [("GET", "/v1/calls/call_1")] * 3  # the first try and two retries


def test_an_error_page_that_is_not_json_still_gives_the_status_and_a_code():
    with scripted_server(Answer(502, "<html>Bad gateway</html>")) as server:
        client = Client(base_url=server.url, api_key="k", max_retries=0)
        with pytest.raises(ServerError) as raised:
            client.calls.get("call_1")
    assert (raised.value.status, raised.value.code, raised.value.message) == (502, "http_502", "Bad Gateway")


def test_an_unexpected_client_error_status_is_a_plain_api_error():
    not_allowed = Answer(405, {"error": {"code": "method_not_allowed", "message": "No."}})
    with scripted_server(not_allowed) as server, pytest.raises(APIError) as raised:
        Client(base_url=server.url, api_key="k").calls.get("call_1")
    assert type(raised.value) is APIError
    assert (raised.value.status, raised.value.code) == (405, "method_not_allowed")


def test_no_server_is_a_connection_error_after_the_retries():
    client = Client(base_url=unused_port_url(), api_key="k", max_retries=1, backoff=0.01)
    with pytest.raises(APIConnectionError) as raised:
        client.calls.get("call_1")
    assert not isinstance(raised.value, APITimeoutError)
    assert (raised.value.status, raised.value.code) == (None, "connection_error")


def test_a_server_that_never_answers_is_a_timeout_error():
    with silent_server() as url:
        client = Client(base_url=url, api_key="k", timeout=0.3, max_retries=0)
        with pytest.raises(APITimeoutError) as raised:
            client.calls.get("call_1")
    assert raised.value.code == "timeout"
