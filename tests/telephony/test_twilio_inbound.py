"""POST /v1/twilio/voice: Twilio's inbound webhook routes the called number to its agent."""

import logging
import xml.etree.ElementTree as ET
from urllib.parse import urlencode

import pytest
from django.test import Client, override_settings

from calls.models import Call, CallStatus, Direction
from calls.services import stream_token_digest
from telephony.twilio.signature import twilio_sign
from tests.factories import AgentFactory, PhoneNumberFactory

TOKEN = "test-auth-token-0123456789abcdef"
BASE = "https://admin.example.com"
URL = "/v1/twilio/voice"


@pytest.fixture(autouse=True)
def _twilio_settings():
    with override_settings(TWILIO_AUTH_TOKEN=TOKEN, PUBLIC_BASE_URL=BASE):
        yield


def webhook_params(**overrides) -> dict:
    return {
        "CallSid": "CA0123456789abcdef0123456789abcdef",
        "AccountSid": "AC0123456789abcdef0123456789abcdef",
        "From": "+12125550100",
        "To": "+14155550111",
        "CallStatus": "ringing",
        "Direction": "inbound",
    } | overrides


def post_voice(params: dict, *, signature: str | None = "sign", signed_url: str = BASE + URL):
    headers = {}
    if signature == "sign":
        headers["HTTP_X_TWILIO_SIGNATURE"] = twilio_sign(signed_url, params)
    elif signature is not None:
        headers["HTTP_X_TWILIO_SIGNATURE"] = signature
    form = "application/x-www-form-urlencoded"  # as Twilio posts it
    return Client(enforce_csrf_checks=True).post(URL, urlencode(params), content_type=form, **headers)


@pytest.fixture
def routed(agent):
    agent.record, agent.max_duration = True, 900
    agent.save()
    return PhoneNumberFactory(number="+14155550111", agent=agent, provider="twilio")


def parse(response) -> ET.Element:
    assert response["Content-Type"].startswith("text/xml")
    return ET.fromstring(response.content)  # noqa: S314 -- our own TwiML, in a test


def test_a_signed_call_to_an_assigned_number_is_connected_to_its_agent_over_media_streams(routed, db):
    response = post_voice(webhook_params())
    assert response.status_code == 200
    root = parse(response)
    assert root.tag == "Response"
    stream = root.find("./Connect/Stream")
    assert stream is not None
    assert stream.get("url") == "wss://admin.example.com/v1/media/twilio?agent_id=agent_abc"
    parameters = {p.get("name"): p.get("value") for p in stream.findall("Parameter")}
    call = Call.objects.get()
    token = parameters.pop("stream_token")
    assert parameters == {"call_id": call.public_id, "agent_id": "agent_abc", "direction": "inbound"}
    # A single-use stream token: only its hash is stored.
    assert len(token) >= 43
    assert call.stream_token_hash == stream_token_digest(token) != token


def test_the_inbound_call_is_recorded_with_the_agents_defaults(routed, db):
    post_voice(webhook_params())
    call = Call.objects.get()
    assert (call.direction, call.provider, call.provider_call_id) == (
        Direction.INBOUND,
        "twilio",
        "CA0123456789abcdef0123456789abcdef",
    )
    assert (call.from_number, call.to_number, call.status) == (
        "+12125550100",
        "+14155550111",
        CallStatus.INITIATING,
    )
    assert (call.agent.public_id, call.record, call.max_duration) == ("agent_abc", True, 900)


def test_the_stream_url_is_ws_when_the_public_url_is_http(routed, db):
    with override_settings(PUBLIC_BASE_URL="http://127.0.0.1:8000"):
        response = post_voice(webhook_params(), signed_url="http://127.0.0.1:8000" + URL)
    assert (
        parse(response).find("./Connect/Stream").get("url")
        == "ws://127.0.0.1:8000/v1/media/twilio?agent_id=agent_abc"
    )


def test_a_repeated_webhook_for_the_same_call_sid_creates_one_call(routed, db):
    first = parse(post_voice(webhook_params()))
    again = parse(post_voice(webhook_params()))
    assert Call.objects.count() == 1
    parameters = [
        {p.get("name"): p.get("value") for p in r.findall("./Connect/Stream/Parameter")}
        for r in (first, again)
    ]
    assert parameters[0]["call_id"] == parameters[1]["call_id"] == Call.objects.get().public_id
    # The answer Twilio acts on is the latest: its token replaced the first one.
    assert parameters[0]["stream_token"] != parameters[1]["stream_token"]
    assert Call.objects.get().stream_token_hash == stream_token_digest(parameters[1]["stream_token"])


def test_a_wrong_signature_is_a_403_and_creates_nothing(routed, db):
    response = post_voice(webhook_params(), signature="bm90IGEgc2lnbmF0dXJl")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "invalid_signature"
    assert not Call.objects.exists()


def test_a_missing_signature_is_a_403(routed, db):
    response = post_voice(webhook_params(), signature=None)
    assert response.status_code == 403
    assert not Call.objects.exists()


def test_a_signature_computed_for_another_host_is_a_403(routed, db):
    response = post_voice(webhook_params(), signed_url="https://attacker.example.net" + URL)
    assert response.status_code == 403
    assert not Call.objects.exists()


def test_a_signature_over_other_parameters_is_a_403(routed, db):
    params = webhook_params()
    signature = twilio_sign(BASE + URL, params | {"To": "+14155550999"})
    response = post_voice(params, signature=signature)
    assert response.status_code == 403


def test_without_a_configured_auth_token_every_webhook_is_refused(routed, db):
    params = webhook_params()
    signature = twilio_sign(BASE + URL, params)
    with override_settings(TWILIO_AUTH_TOKEN=""):
        response = post_voice(params, signature=signature)
    assert response.status_code == 403


def hangup_text(response) -> str:
    root = parse(response)
    assert root.find("Connect") is None
    assert root.find("Hangup") is not None
    return root.find("Say").text


def test_a_call_to_an_unknown_number_gets_a_polite_hangup_and_a_log_line(db, caplog):
    with caplog.at_level(logging.WARNING, logger="telephony.twilio.inbound"):
        response = post_voice(webhook_params(To="+14155550999"))
    assert response.status_code == 200
    assert "not in service" in hangup_text(response)
    assert "+14155550999" in caplog.text
    assert not Call.objects.exists()


def test_a_call_to_an_unassigned_number_gets_a_polite_hangup(db, caplog):
    PhoneNumberFactory(number="+14155550111")
    with caplog.at_level(logging.WARNING, logger="telephony.twilio.inbound"):
        response = post_voice(webhook_params())
    assert "not in service" in hangup_text(response)
    assert "no agent" in caplog.text
    assert not Call.objects.exists()


def test_a_call_to_a_disabled_agents_number_gets_a_polite_hangup(db, caplog):
    PhoneNumberFactory(number="+14155550111", agent=AgentFactory(is_active=False, public_id="agent_off"))
    with caplog.at_level(logging.WARNING, logger="telephony.twilio.inbound"):
        response = post_voice(webhook_params())
    assert "try again later" in hangup_text(response)
    assert "agent_off is disabled" in caplog.text
    assert not Call.objects.exists()


@pytest.mark.parametrize("to", ["", "garbage", "+1"])
def test_a_garbled_to_number_is_a_polite_hangup_never_a_500(db, to):
    response = post_voice(webhook_params(To=to))
    assert response.status_code == 200
    assert hangup_text(response)


def test_a_webhook_without_a_call_sid_is_a_polite_hangup(routed, db):
    params = webhook_params()
    del params["CallSid"]
    response = post_voice(params)
    assert hangup_text(response)
    assert not Call.objects.exists()


def test_the_webhook_needs_no_api_key_and_no_csrf_token(routed, db):
    # post_voice uses a Django test client that enforces CSRF and sends no credentials
    assert post_voice(webhook_params()).status_code == 200


def test_a_get_is_not_allowed(db):
    assert Client().get(URL).status_code == 405


def test_a_call_from_a_pbx_through_a_sip_domain_is_routed_by_the_number_in_the_sip_uri(agent, db):
    PhoneNumberFactory(number="+14155550111", agent=agent, provider="sip")
    params = webhook_params(
        To="sip:+14155550111@wordcab.sip.example.com;transport=tcp", From="sip:+12125550100@pbx.example.com"
    )
    root = parse(post_voice(params))
    assert root.find("./Connect/Stream").get("url").endswith("agent_id=agent_abc")
    call = Call.objects.get()
    assert (call.to_number, call.from_number) == ("+14155550111", "+12125550100")


def test_a_sip_uri_naming_an_agent_reaches_that_agent(agent, db):
    root = parse(post_voice(webhook_params(To="sip:agent_abc@wordcab.sip.example.com")))
    assert root.find("./Connect/Stream").get("url").endswith("agent_id=agent_abc")
    assert Call.objects.get().agent == agent


def test_a_sip_uri_naming_an_unknown_or_disabled_agent_is_a_polite_hangup(db):
    AgentFactory(public_id="agent_off", is_active=False)
    assert "not in service" in hangup_text(post_voice(webhook_params(To="sip:agent_nope@gw.example.com")))
    assert "try again later" in hangup_text(post_voice(webhook_params(To="sip:agent_off@gw.example.com")))
    assert not Call.objects.exists()
