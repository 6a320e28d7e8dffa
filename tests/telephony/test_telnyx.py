"""The Telnyx provider against a local fake of Telnyx's Call Control API, and POST /v1/telnyx/webhook:
outbound dialing, hang-up, every status mapping, out-of-order and duplicate events, signatures, and
inbound calls answered (or refused) through Call Control."""

import base64
import json
import time
from urllib.parse import parse_qs, urlsplit

import pytest

from agents.models import Provider
from calls.models import Call, CallEvent, CallStatus, Direction, EndReason
from calls.providers import provider_for
from calls.services import call_place, call_provider_hangup, stream_token_digest
from telephony.inbound import NOT_IN_SERVICE
from tests.factories import AgentFactory, CallFactory, PhoneNumberFactory
from tests.telephony.fake_telnyx import FakeTelnyx, TelnyxSigner, telnyx_error, telnyx_event

pytestmark = pytest.mark.django_db

WEBHOOK = "/v1/telnyx/webhook"
CONTROL_ID = "v3:ctl-0001"


@pytest.fixture
def signer() -> TelnyxSigner:
    return TelnyxSigner()


@pytest.fixture
def fake_telnyx(settings, signer):
    fake = FakeTelnyx().start()
    settings.TELNYX_API_KEY = "KEY0123"
    settings.TELNYX_CONNECTION_ID = "conn-42"
    settings.TELNYX_PUBLIC_KEY = signer.public_key_b64
    settings.TELNYX_API_BASE_URL = fake.base_url
    settings.PUBLIC_BASE_URL = "https://calls.example.com"
    yield fake
    fake.stop()


def telnyx_call(**fields) -> Call:
    agent = fields.pop("agent", None) or AgentFactory(public_id="agent_tx")
    fields.setdefault("from_number", "+14155559999")
    return CallFactory(agent=agent, provider=Provider.TELNYX, **fields)


def client_state(call: Call) -> str:
    return base64.b64encode(json.dumps({"call_id": call.public_id}).encode()).decode()


def post_event(client, signer, body: dict | bytes, *, headers: dict | None = None):
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    signed = signer.headers(raw) if headers is None else headers
    return client.post(WEBHOOK, raw, content_type="application/json", **signed)


def call_event(call: Call, event_type: str, **payload) -> dict:
    """An event of `call` as Telnyx sends it for a call we dialed: our client_state comes back."""
    payload = {
        "call_control_id": call.provider_call_id or CONTROL_ID,
        "client_state": client_state(call),
        "connection_id": "conn-42",
        **payload,
    }
    return telnyx_event(event_type, payload)


# --- placing and hanging up ---------------------------------------------------------------------------


def test_placing_a_call_dials_through_telnyx_with_the_media_stream_client_state_and_amd(fake_telnyx):
    call = telnyx_call(to_number="+14155550123", max_duration=300)
    control_id = call_place(call_id=call.pk)
    assert control_id.startswith("v3:")
    assert Call.objects.get(pk=call.pk).provider_call_id == control_id
    (request,) = fake_telnyx.dials()
    body = request["json"]
    assert request["auth"] == "Bearer KEY0123"
    assert (body["to"], body["from"], body["connection_id"]) == ("+14155550123", "+14155559999", "conn-42")
    assert body["webhook_url"] == "https://calls.example.com/v1/telnyx/webhook"
    assert json.loads(base64.b64decode(body["client_state"])) == {"call_id": call.public_id}
    stream = urlsplit(body["stream_url"])
    assert (stream.scheme, stream.netloc, stream.path) == ("wss", "calls.example.com", "/v1/media/telnyx")
    query = parse_qs(stream.query)
    assert (query["agent_id"], query["call_id"]) == (["agent_tx"], [call.public_id])
    # The stream's single-use token is the one whose digest the call keeps.
    assert Call.objects.get(pk=call.pk).stream_token_hash == stream_token_digest(query["stream_token"][0])
    assert (body["stream_bidirectional_mode"], body["stream_bidirectional_codec"]) == ("rtp", "PCMU")
    assert (body["stream_codec"], body["stream_track"]) == ("PCMU", "inbound_track")
    assert body["stream_bidirectional_sampling_rate"] == 8000
    assert body["answering_machine_detection"] == "detect"
    assert (body["time_limit_secs"], body["timeout_secs"]) == (300, 30)


def test_a_telnyx_outage_leaves_the_call_initiating_to_be_placed_again(fake_telnyx):
    call = telnyx_call()
    fake_telnyx.next_status.append((503, telnyx_error("10007", "Unexpected error")))
    assert call_place(call_id=call.pk) is None
    call.refresh_from_db()
    assert (call.status, call.provider_call_id, call.place_attempts) == (CallStatus.INITIATING, None, 1)
    assert call.place_due_at is not None
    assert call_place(call_id=call.pk).startswith("v3:")  # the retry goes through


def test_a_rate_limit_is_an_outage_too(fake_telnyx):
    call = telnyx_call()
    fake_telnyx.next_status.append((429, telnyx_error("10011", "Too many requests")))
    assert call_place(call_id=call.pk) is None
    assert Call.objects.get(pk=call.pk).status == CallStatus.INITIATING


def test_a_dial_telnyx_refuses_fails_the_call_with_telnyxs_error(fake_telnyx):
    call = telnyx_call()
    fake_telnyx.next_status.append((422, telnyx_error("10016", "Invalid phone number", "Bad 'to' number")))
    assert call_place(call_id=call.pk) is None
    call.refresh_from_db()
    assert (call.status, call.error_code, call.error_message) == (
        CallStatus.FAILED,
        "telnyx_10016",
        "Bad 'to' number",
    )


def test_hanging_up_sends_the_call_control_hangup_command(fake_telnyx):
    call = telnyx_call(provider_call_id=CONTROL_ID, status=CallStatus.COMPLETED)
    call_provider_hangup(call_id=call.pk)
    (request,) = fake_telnyx.requests
    assert request["path"] == f"/v2/calls/{CONTROL_ID}/actions/hangup"


def test_hanging_up_a_call_telnyx_already_ended_is_fine(fake_telnyx):
    call = telnyx_call(provider_call_id=CONTROL_ID, status=CallStatus.COMPLETED)
    fake_telnyx.next_status.append((422, telnyx_error("90018", "Call has already ended")))
    call_provider_hangup(call_id=call.pk)  # no error
    assert len(fake_telnyx.commands("hangup")) == 1


def test_telnyx_says_which_settings_it_misses(settings):
    settings.TELNYX_API_KEY, settings.TELNYX_CONNECTION_ID = "", ""
    assert provider_for("telnyx").not_configured() == (
        "Telnyx is not configured (TELNYX_API_KEY, TELNYX_CONNECTION_ID)."
    )
    settings.TELNYX_API_KEY, settings.TELNYX_CONNECTION_ID = "KEY", "conn"
    assert provider_for("telnyx").not_configured() == ""


# --- status events ------------------------------------------------------------------------------------

STATUS_MAPPINGS = [
    # (event, payload extras, status, end_reason, error code)
    ("call.answered", {}, CallStatus.IN_PROGRESS, "", ""),
    (
        "call.hangup",
        {"hangup_cause": "normal_clearing", "sip_hangup_cause": "200"},
        "completed",
        "hangup",
        "",
    ),
    ("call.hangup", {"hangup_cause": "time_limit"}, CallStatus.COMPLETED, EndReason.MAX_DURATION, ""),
    ("call.hangup", {"hangup_cause": "user_busy", "sip_hangup_cause": "486"}, "no_answer", "busy", ""),
    ("call.hangup", {"hangup_cause": "no_answer"}, CallStatus.NO_ANSWER, EndReason.NO_ANSWER, ""),
    ("call.hangup", {"hangup_cause": "timeout"}, CallStatus.NO_ANSWER, EndReason.NO_ANSWER, ""),
    ("call.hangup", {"hangup_cause": "originator_cancel"}, CallStatus.FAILED, EndReason.CANCELED, "canceled"),
    (
        "call.hangup",
        {"hangup_cause": "call_rejected", "sip_hangup_cause": "603"},
        "failed",
        "error",
        "carrier_rejected",
    ),
    (
        "call.hangup",
        {"hangup_cause": "not_found", "sip_hangup_cause": "404"},
        "failed",
        "error",
        "invalid_number",
    ),
    ("call.hangup", {"hangup_cause": "unallocated_number"}, "failed", "error", "invalid_number"),
    (
        "call.hangup",
        {"hangup_cause": "unspecified", "sip_hangup_cause": "480"},
        "failed",
        "error",
        "unreachable",
    ),
    (
        "call.hangup",
        {"hangup_cause": "unspecified", "sip_hangup_cause": "503"},
        "failed",
        "error",
        "carrier_error",
    ),
    ("call.hangup", {"hangup_cause": "unspecified"}, CallStatus.FAILED, EndReason.ERROR, "call_failed"),
    ("call.machine.detection.ended", {"result": "machine"}, "completed", "voicemail", ""),
    ("call.machine.premium.detection.ended", {"result": "machine"}, "completed", "voicemail", ""),
    ("call.machine.detection.ended", {"result": "human"}, CallStatus.RINGING, "", ""),
    ("call.machine.detection.ended", {"result": "not_sure"}, CallStatus.RINGING, "", ""),
    ("streaming.started", {"stream_url": "wss://calls.example.com/v1/media/telnyx"}, "ringing", "", ""),
    ("streaming.stopped", {}, CallStatus.RINGING, "", ""),
]


@pytest.mark.parametrize(("event_type", "extra", "status", "end_reason", "error_code"), STATUS_MAPPINGS)
def test_each_telnyx_event_maps_to_our_status_end_reason_and_error(
    client, fake_telnyx, signer, event_type, extra, status, end_reason, error_code
):
    call = telnyx_call(provider_call_id=CONTROL_ID, status=CallStatus.RINGING)
    response = post_event(client, signer, call_event(call, event_type, **extra))
    assert response.status_code == 204
    call.refresh_from_db()
    assert (call.status, call.end_reason, call.error_code or "") == (status, end_reason, error_code)
    event = CallEvent.objects.get(call=call)  # stored either way: the call's timeline
    assert event.source == "provider"
    if "sip_hangup_cause" in extra and status != CallStatus.COMPLETED:
        assert call.sip_response_code == int(extra["sip_hangup_cause"])


def test_a_machine_answer_asks_telnyx_to_drop_the_line(
    client, fake_telnyx, signer, django_capture_on_commit_callbacks
):
    call = telnyx_call(provider_call_id=CONTROL_ID, status=CallStatus.IN_PROGRESS)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        post_event(client, signer, call_event(call, "call.machine.detection.ended", result="machine"))
    call.refresh_from_db()
    assert (call.status, call.end_reason) == (CallStatus.COMPLETED, EndReason.VOICEMAIL)
    assert callbacks  # the provider hang-up (and the announcements) after commit
    provider_for("telnyx").hangup(call)
    assert fake_telnyx.commands("hangup")[0]["path"] == f"/v2/calls/{CONTROL_ID}/actions/hangup"


def test_an_answered_event_after_the_hangup_does_not_move_the_call_back(client, fake_telnyx, signer):
    call = telnyx_call(provider_call_id=CONTROL_ID, status=CallStatus.RINGING)
    post_event(client, signer, call_event(call, "call.hangup", hangup_cause="user_busy"))
    response = post_event(client, signer, call_event(call, "call.answered"))
    assert response.status_code == 204
    call.refresh_from_db()
    assert (call.status, call.end_reason) == (CallStatus.NO_ANSWER, EndReason.BUSY)
    late = CallEvent.objects.filter(call=call).order_by("pk").last()
    assert (late.applied, late.provider_status) == (False, "answered")
    assert "already ended" in late.ignored_reason


def test_a_late_initiated_after_answered_is_ignored(client, fake_telnyx, signer):
    call = telnyx_call(provider_call_id=CONTROL_ID, status=CallStatus.INITIATING)
    post_event(client, signer, call_event(call, "call.answered"))
    post_event(client, signer, call_event(call, "call.initiated", direction="outgoing"))
    call.refresh_from_db()
    assert call.status == CallStatus.IN_PROGRESS
    assert CallEvent.objects.filter(call=call, applied=True).count() == 1


def test_a_redelivered_event_is_applied_once(client, fake_telnyx, signer):
    call = telnyx_call(provider_call_id=CONTROL_ID, status=CallStatus.RINGING)
    answered = call_event(call, "call.answered")
    assert post_event(client, signer, answered).status_code == 204
    assert post_event(client, signer, answered).status_code == 204
    events = CallEvent.objects.filter(call=call).order_by("pk")
    assert [e.applied for e in events] == [True, False]
    assert events[0].provider_event_id == answered["data"]["id"]
    assert Call.objects.get(pk=call.pk).status == CallStatus.IN_PROGRESS


def test_an_event_without_our_client_state_finds_its_call_by_call_control_id(client, fake_telnyx, signer):
    call = telnyx_call(provider_call_id=CONTROL_ID, status=CallStatus.RINGING, direction=Direction.INBOUND)
    body = telnyx_event("call.hangup", {"call_control_id": CONTROL_ID, "hangup_cause": "originator_cancel"})
    assert post_event(client, signer, body).status_code == 204
    assert Call.objects.get(pk=call.pk).status == CallStatus.FAILED


def test_an_event_type_we_do_not_use_is_acknowledged_and_ignored(client, fake_telnyx, signer):
    call = telnyx_call(provider_call_id=CONTROL_ID, status=CallStatus.RINGING)
    response = post_event(client, signer, call_event(call, "call.recording.saved"))
    assert response.status_code == 204
    assert not CallEvent.objects.filter(call=call).exists()


def test_an_event_of_a_call_we_do_not_know_is_acknowledged(client, fake_telnyx, signer):
    body = telnyx_event("call.hangup", {"call_control_id": "v3:unknown", "hangup_cause": "normal_clearing"})
    assert post_event(client, signer, body).status_code == 204


def test_a_signed_body_that_is_not_a_telnyx_event_is_a_400(client, fake_telnyx, signer):
    assert post_event(client, signer, b"not json").status_code == 400
    response = post_event(client, signer, {"data": []})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"


# --- signatures ---------------------------------------------------------------------------------------


def _refused(response) -> bool:
    return response.status_code == 403 and response.json()["error"]["code"] == "invalid_signature"


def test_a_webhook_signed_with_another_key_is_refused_and_changes_nothing(client, fake_telnyx, signer):
    call = telnyx_call(provider_call_id=CONTROL_ID, status=CallStatus.RINGING)
    raw = json.dumps(call_event(call, "call.answered")).encode()
    assert _refused(post_event(client, signer, raw, headers=TelnyxSigner().headers(raw)))
    assert Call.objects.get(pk=call.pk).status == CallStatus.RINGING
    assert not CallEvent.objects.exists()


def test_a_webhook_whose_body_was_changed_after_signing_is_refused(client, fake_telnyx, signer):
    call = telnyx_call(provider_call_id=CONTROL_ID, status=CallStatus.RINGING)
    raw = json.dumps(call_event(call, "call.answered")).encode()
    headers = signer.headers(raw)
    tampered = raw.replace(b"call.answered", b"call.hangup  ")
    assert _refused(post_event(client, signer, tampered, headers=headers))


def test_a_webhook_without_a_signature_or_timestamp_is_refused(client, fake_telnyx, signer):
    call = telnyx_call(provider_call_id=CONTROL_ID, status=CallStatus.RINGING)
    raw = json.dumps(call_event(call, "call.answered")).encode()
    headers = signer.headers(raw)
    assert _refused(post_event(client, signer, raw, headers={}))
    only_signature = {"HTTP_TELNYX_SIGNATURE_ED25519": headers["HTTP_TELNYX_SIGNATURE_ED25519"]}
    assert _refused(post_event(client, signer, raw, headers=only_signature))
    assert not CallEvent.objects.exists()


def test_a_webhook_signed_more_than_five_minutes_ago_is_refused_as_expired(client, fake_telnyx, signer):
    call = telnyx_call(provider_call_id=CONTROL_ID, status=CallStatus.RINGING)
    raw = json.dumps(call_event(call, "call.answered")).encode()
    stale = post_event(client, signer, raw, headers=signer.headers(raw, timestamp=int(time.time()) - 301))
    assert _refused(stale)
    assert "expired" in stale.json()["error"]["message"]
    future = post_event(client, signer, raw, headers=signer.headers(raw, timestamp=int(time.time()) + 301))
    assert _refused(future)
    fresh = post_event(client, signer, raw, headers=signer.headers(raw, timestamp=int(time.time()) - 290))
    assert fresh.status_code == 204
    assert Call.objects.get(pk=call.pk).status == CallStatus.IN_PROGRESS


def test_without_a_public_key_every_webhook_is_refused(client, fake_telnyx, signer, settings):
    settings.TELNYX_PUBLIC_KEY = ""
    call = telnyx_call(provider_call_id=CONTROL_ID, status=CallStatus.RINGING)
    assert _refused(post_event(client, signer, call_event(call, "call.answered")))


# --- inbound calls ------------------------------------------------------------------------------------


def incoming(to: str = "+14155550111", *, control_id: str = CONTROL_ID) -> dict:
    return telnyx_event(
        "call.initiated",
        {
            "call_control_id": control_id,
            "connection_id": "conn-42",
            "direction": "incoming",
            "from": "+14155550100",
            "to": to,
            "state": "parked",
            "client_state": None,
        },
    )


def test_an_incoming_call_is_recorded_and_answered_with_the_stream_to_the_numbers_agent(
    client, fake_telnyx, signer
):
    agent = AgentFactory(public_id="agent_in")
    PhoneNumberFactory(number="+14155550111", agent=agent, provider="telnyx")
    assert post_event(client, signer, incoming()).status_code == 204
    call = Call.objects.get()
    assert (call.direction, call.provider, call.provider_call_id) == (Direction.INBOUND, "telnyx", CONTROL_ID)
    assert (call.from_number, call.to_number, call.agent_id) == ("+14155550100", "+14155550111", agent.pk)
    (answer,) = fake_telnyx.commands("answer")
    assert answer["path"] == f"/v2/calls/{CONTROL_ID}/actions/answer"
    body = answer["json"]
    assert json.loads(base64.b64decode(body["client_state"])) == {"call_id": call.public_id}
    query = parse_qs(urlsplit(body["stream_url"]).query)
    assert (query["agent_id"], query["call_id"]) == (["agent_in"], [call.public_id])
    assert call.stream_token_hash == stream_token_digest(query["stream_token"][0])
    assert (body["stream_bidirectional_mode"], body["stream_bidirectional_codec"]) == ("rtp", "PCMU")


def test_a_redelivered_incoming_call_is_one_call_answered_with_a_fresh_token(client, fake_telnyx, signer):
    PhoneNumberFactory(number="+14155550111", agent=AgentFactory(), provider="telnyx")
    body = incoming()
    post_event(client, signer, body)
    post_event(client, signer, body)
    assert Call.objects.count() == 1
    tokens = [
        parse_qs(urlsplit(a["json"]["stream_url"]).query)["stream_token"][0]
        for a in fake_telnyx.commands("answer")
    ]
    assert len(set(tokens)) == 2
    assert Call.objects.get().stream_token_hash == stream_token_digest(tokens[-1])


def test_a_call_to_an_unknown_number_is_told_so_then_hung_up_and_no_call_is_made(client, fake_telnyx, signer):
    assert post_event(client, signer, incoming("+14155550999")).status_code == 204
    assert not Call.objects.exists()
    (answer,) = fake_telnyx.commands("answer")
    state = answer["json"]["client_state"]
    assert "stream_url" not in answer["json"]
    assert json.loads(base64.b64decode(state)) == {"refuse": NOT_IN_SERVICE}
    # Telnyx reports the answer: we say why, then, once it is said, hang up.
    answered = telnyx_event("call.answered", {"call_control_id": CONTROL_ID, "client_state": state})
    assert post_event(client, signer, answered).status_code == 204
    (speak,) = fake_telnyx.commands("speak")
    assert (speak["json"]["payload"], speak["json"]["voice"]) == (NOT_IN_SERVICE, "female")
    assert not fake_telnyx.commands("hangup")
    spoken = telnyx_event("call.speak.ended", {"call_control_id": CONTROL_ID, "client_state": state})
    assert post_event(client, signer, spoken).status_code == 204
    assert fake_telnyx.commands("hangup")[0]["path"] == f"/v2/calls/{CONTROL_ID}/actions/hangup"
    hangup = telnyx_event("call.hangup", {"call_control_id": CONTROL_ID, "hangup_cause": "normal_clearing"})
    assert post_event(client, signer, hangup).status_code == 204
    assert not Call.objects.exists()
    assert not CallEvent.objects.exists()


def test_an_incoming_call_telnyx_cannot_take_commands_for_now_is_delivered_again(client, fake_telnyx, signer):
    PhoneNumberFactory(number="+14155550111", agent=AgentFactory(), provider="telnyx")
    fake_telnyx.next_status.append((503, telnyx_error("10007", "Unexpected error")))
    assert post_event(client, signer, incoming()).status_code == 503  # Telnyx redelivers it
    assert post_event(client, signer, incoming()).status_code == 204
    assert Call.objects.count() == 1
    assert len(fake_telnyx.commands("answer")) == 2
