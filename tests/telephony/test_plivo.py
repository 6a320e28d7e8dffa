"""The Plivo provider against a local fake of Plivo's API, and its webhooks: POST /v1/plivo/answer (the
`<Stream>` XML) and POST /v1/plivo/status (callbacks → the lifecycle), both behind Plivo's V3 signature."""

from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from django.test import Client

from agents.models import Provider
from calls.models import Call, CallEvent, CallStatus, Direction, EndReason
from calls.providers import provider_for
from calls.services import call_place, call_provider_hangup, stream_token_digest
from tests.factories import AgentFactory, CallFactory, PhoneNumberFactory
from tests.telephony.fake_plivo import (
    PLIVO_AUTH_ID,
    PLIVO_AUTH_TOKEN,
    FakePlivo,
    parse_xml,
    plivo_post,
    plivo_sign,
    stream_headers,
)
from wordcab_admin.kernel.public_url import public_url

pytestmark = pytest.mark.django_db

CALL_UUID = "7a3e1f00-1b2c-4d5e-8f90-0123456789ab"
REQUEST_UUID = "9834029e-58b6-11e1-b8b7-a5bd0e4e126f"


@pytest.fixture
def plivo_settings(settings):
    settings.PLIVO_AUTH_ID = PLIVO_AUTH_ID
    settings.PLIVO_AUTH_TOKEN = PLIVO_AUTH_TOKEN
    settings.PUBLIC_BASE_URL = "https://calls.example.com"
    return settings


@pytest.fixture
def fake_plivo(plivo_settings):
    fake = FakePlivo().start()
    plivo_settings.PLIVO_API_BASE_URL = fake.base_url
    yield fake
    fake.stop()


def plivo_call(**kwargs) -> Call:
    agent = kwargs.pop("agent", None) or AgentFactory(public_id="agent_pl")
    return CallFactory(agent=agent, provider=Provider.PLIVO, from_number="+14155559999", **kwargs)


def status_path(call: Call | None = None) -> str:
    return "/v1/plivo/status" + (f"?{urlencode({'call_id': call.public_id})}" if call else "")


def callback(**params) -> dict:
    return {"CallUUID": CALL_UUID, "RequestUUID": REQUEST_UUID, "Direction": "outbound"} | params


# --- placing and hanging up --------------------------------------------------------------------------------


def test_placing_a_call_creates_it_through_the_plivo_api_with_our_answer_and_callback_urls(fake_plivo):
    call = plivo_call(to_number="+14155550123", max_duration=300)
    request_uuid = call_place(call_id=call.pk)
    assert Call.objects.get(pk=call.pk).provider_call_id == request_uuid
    (request,) = fake_plivo.creates()
    assert request["path"] == f"/v1/Account/{PLIVO_AUTH_ID}/Call/"
    assert request["auth"].startswith("Basic ")
    body = request["json"]
    assert (body["from"], body["to"]) == ("14155559999", "14155550123")
    answer = urlsplit(body["answer_url"])
    assert (answer.netloc, answer.path) == ("calls.example.com", "/v1/plivo/answer")
    assert parse_qs(answer.query) == {"call_id": [call.public_id]}
    status = f"https://calls.example.com/v1/plivo/status?call_id={call.public_id}"
    assert body["ring_url"] == body["hangup_url"] == body["machine_detection_url"] == status
    assert body["answer_method"] == body["hangup_method"] == body["ring_method"] == "POST"
    assert (body["time_limit"], body["ring_timeout"], body["machine_detection"]) == (300, 30, "true")


def test_placing_twice_places_one_call(fake_plivo):
    call = plivo_call()
    assert call_place(call_id=call.pk) == call_place(call_id=call.pk)
    assert len(fake_plivo.creates()) == 1


def test_a_plivo_outage_leaves_the_call_initiating_and_due_again_without_resending(fake_plivo):
    call = plivo_call()
    fake_plivo.next_status.append((503, {"error": "unavailable"}))
    assert call_place(call_id=call.pk) is None
    assert len(fake_plivo.creates()) == 1  # not resent to the SDK's fallback hosts: the outbox retries
    call.refresh_from_db()
    assert (call.status, call.provider_call_id, call.place_attempts) == (CallStatus.INITIATING, None, 1)
    assert call.place_due_at is not None
    assert call_place(call_id=call.pk)  # the retry goes through
    assert Call.objects.get(pk=call.pk).place_due_at is None


def test_a_rate_limit_is_an_outage_not_a_refusal(fake_plivo):
    call = plivo_call()
    fake_plivo.next_status.append((429, {"error": "too many requests"}))
    assert call_place(call_id=call.pk) is None
    assert Call.objects.get(pk=call.pk).status == CallStatus.INITIATING


def test_a_refused_call_fails_with_plivos_status_and_message(fake_plivo):
    call = plivo_call()
    fake_plivo.next_status.append((400, {"api_id": "x", "error": "invalid to number"}))
    call_place(call_id=call.pk)
    call.refresh_from_db()
    assert call.status == CallStatus.FAILED
    assert call.error_code == "plivo_400"
    assert "invalid to number" in call.error_message


def test_without_credentials_plivo_says_which_settings_to_set(settings):
    settings.PLIVO_AUTH_ID = settings.PLIVO_AUTH_TOKEN = ""
    sentence = provider_for("plivo").not_configured()
    assert "PLIVO_AUTH_ID" in sentence
    assert "PLIVO_AUTH_TOKEN" in sentence


def test_hanging_up_an_answered_call_deletes_it_by_its_call_uuid(fake_plivo, client):
    call = plivo_call(status=CallStatus.RINGING, provider_call_id=REQUEST_UUID)
    assert (
        plivo_post(status_path(call), callback(CallStatus="in-progress", Event="Answer")).status_code == 204
    )
    call_provider_hangup(call_id=call.pk)
    (request,) = fake_plivo.deletes()
    assert request["path"] == f"/v1/Account/{PLIVO_AUTH_ID}/Call/{CALL_UUID}/"


def test_hanging_up_a_call_not_answered_yet_cancels_its_request(fake_plivo):
    call = plivo_call(status=CallStatus.INITIATING, provider_call_id=REQUEST_UUID)
    call_provider_hangup(call_id=call.pk)
    (request,) = fake_plivo.deletes()
    assert request["path"] == f"/v1/Account/{PLIVO_AUTH_ID}/Request/{REQUEST_UUID}/"


def test_hanging_up_a_call_plivo_has_already_ended_is_no_error(fake_plivo):
    call = plivo_call(status=CallStatus.INITIATING, provider_call_id=REQUEST_UUID)
    fake_plivo.next_status.append((404, {"error": "not found"}))
    call_provider_hangup(call_id=call.pk)
    assert len(fake_plivo.deletes()) == 1


# --- status callbacks -----------------------------------------------------------------------------------


MAPPINGS = [
    # (Plivo's callback, our status, end_reason, error code)
    ({"CallStatus": "ringing", "Event": "Ring"}, CallStatus.RINGING, "", ""),
    ({"CallStatus": "in-progress", "Event": "Answer"}, CallStatus.IN_PROGRESS, "", ""),
    (
        {"CallStatus": "completed", "Event": "Hangup", "HangupCause": "Normal Hangup", "HangupCauseCode": "4000",
         "HangupSource": "Callee", "Duration": "42", "BillDuration": "60"},
        CallStatus.COMPLETED, EndReason.HANGUP, "",
    ),
    (
        {"CallStatus": "busy", "Event": "Hangup", "HangupCause": "Busy Line", "HangupCauseCode": "3000"},
        CallStatus.NO_ANSWER, EndReason.BUSY, "",
    ),
    (
        {"CallStatus": "no-answer", "Event": "Hangup", "HangupCause": "No Answer", "HangupCauseCode": "3020"},
        CallStatus.NO_ANSWER, EndReason.NO_ANSWER, "",
    ),
    (
        {"CallStatus": "cancel", "Event": "Hangup", "HangupCause": "Canceled", "HangupCauseCode": "1000",
         "HangupSource": "API Request"},
        CallStatus.FAILED, EndReason.CANCELED, "canceled",
    ),
    (
        {"CallStatus": "cancel", "Event": "Hangup", "HangupCause": "Rejected", "HangupSource": "Call recipient"},
        CallStatus.NO_ANSWER, EndReason.NO_ANSWER, "",
    ),
    ({"CallStatus": "timeout", "Event": "Hangup"}, CallStatus.FAILED, EndReason.ERROR, "unreachable"),
    (
        {"CallStatus": "failed", "Event": "Hangup", "HangupCause": "Invalid Destination Address",
         "HangupCauseCode": "2000"},
        CallStatus.FAILED, EndReason.ERROR, "invalid_number",
    ),
    (
        {"CallStatus": "failed", "Event": "Hangup", "HangupCause": "Destination Out Of Service",
         "HangupCauseCode": "2010"},
        CallStatus.FAILED, EndReason.ERROR, "invalid_number",
    ),
    (
        {"CallStatus": "failed", "Event": "Hangup", "HangupCause": "Endpoint Not Registered",
         "HangupCauseCode": "2020"},
        CallStatus.FAILED, EndReason.ERROR, "unreachable",
    ),
    (
        {"CallStatus": "failed", "Event": "Hangup", "HangupCause": "Destination Country Barred",
         "HangupCauseCode": "2030"},
        CallStatus.FAILED, EndReason.ERROR, "plivo_2030",
    ),
    ({"CallStatus": "failed", "Event": "Hangup"}, CallStatus.FAILED, EndReason.ERROR, "call_failed"),
    (
        {"CallStatus": "in-progress", "Event": "MachineDetection", "Machine": "true"},
        CallStatus.COMPLETED, EndReason.VOICEMAIL, "",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("params", "status", "end_reason", "error_code"), MAPPINGS)
def test_every_plivo_status_maps_to_our_status_end_reason_and_error(
    plivo_settings, params, status, end_reason, error_code
):
    call = plivo_call(status=CallStatus.INITIATING, provider_call_id=REQUEST_UUID)
    response = plivo_post(status_path(call), callback(**params))
    assert response.status_code == 204
    call.refresh_from_db()
    assert (call.status, call.end_reason, call.error_code) == (status, end_reason, error_code)
    event = CallEvent.objects.get(call=call)
    assert (event.applied, event.source) == (True, "provider")
    assert event.payload["CallUUID"] == CALL_UUID


def test_a_completed_call_talked_for_plivos_duration(plivo_settings):
    call = plivo_call(status=CallStatus.RINGING, provider_call_id=REQUEST_UUID)
    plivo_post(status_path(call), callback(CallStatus="completed", Duration="42", BillDuration="60"))
    call.refresh_from_db()
    assert (call.ended_at - call.answered_at).total_seconds() == pytest.approx(42)


def test_a_call_that_ran_to_its_time_limit_ended_by_max_duration(plivo_settings):
    call = plivo_call(status=CallStatus.IN_PROGRESS, provider_call_id=REQUEST_UUID, max_duration=60)
    plivo_post(status_path(call), callback(CallStatus="completed", Duration="60", HangupCauseCode="4000"))
    call.refresh_from_db()
    assert (call.status, call.end_reason) == (CallStatus.COMPLETED, EndReason.MAX_DURATION)


def test_a_machine_answering_ends_the_call_as_voicemail_and_drops_the_line(
    fake_plivo, monkeypatch, django_capture_on_commit_callbacks
):
    sent = []
    monkeypatch.setattr(
        "wordcab_admin.kernel.tasks.current_app.send_task", lambda name, **kw: sent.append((name, kw))
    )
    call = plivo_call(status=CallStatus.RINGING, provider_call_id=REQUEST_UUID)
    plivo_post(status_path(call), callback(CallStatus="in-progress", Event="Answer"))
    with django_capture_on_commit_callbacks(execute=True):  # the hang-up is sent after commit
        machine = callback(CallStatus="in-progress", Event="MachineDetection", Machine="true")
        plivo_post(status_path(call), machine)
    call.refresh_from_db()
    assert (call.status, call.end_reason) == (CallStatus.COMPLETED, EndReason.VOICEMAIL)
    hangups = [(name, kw["kwargs"]) for name, kw in sent if name == "calls.provider_hangup"]
    assert hangups == [("calls.provider_hangup", {"call_id": call.pk})]  # (webhooks send their own tasks)
    call_provider_hangup(call_id=call.pk)  # what that task runs: the line is dropped by its CallUUID
    assert [r["path"] for r in fake_plivo.deletes()] == [f"/v1/Account/{PLIVO_AUTH_ID}/Call/{CALL_UUID}/"]


def test_a_person_answering_is_no_change(plivo_settings):
    call = plivo_call(status=CallStatus.IN_PROGRESS, provider_call_id=REQUEST_UUID)
    plivo_post(
        status_path(call), callback(CallStatus="in-progress", Event="MachineDetection", Machine="false")
    )
    call.refresh_from_db()
    assert call.status == CallStatus.IN_PROGRESS
    assert CallEvent.objects.get(call=call).applied is False


def test_a_ringing_that_arrives_after_the_hangup_changes_nothing(plivo_settings):
    call = plivo_call(status=CallStatus.INITIATING, provider_call_id=REQUEST_UUID)
    plivo_post(status_path(call), callback(CallStatus="completed", Event="Hangup", Duration="12"))
    plivo_post(status_path(call), callback(CallStatus="in-progress", Event="Answer"))
    plivo_post(status_path(call), callback(CallStatus="ringing", Event="Ring"))
    call.refresh_from_db()
    assert (call.status, call.end_reason) == (CallStatus.COMPLETED, EndReason.HANGUP)
    late = CallEvent.objects.filter(call=call, applied=False).order_by("pk")
    assert [e.provider_status for e in late] == ["in-progress", "ringing"]
    assert all("already ended" in e.ignored_reason for e in late)


def test_a_repeated_callback_is_stored_once_as_applied_and_then_as_a_duplicate(plivo_settings):
    call = plivo_call(status=CallStatus.INITIATING, provider_call_id=REQUEST_UUID)
    for _ in range(2):
        assert plivo_post(status_path(call), callback(CallStatus="ringing", Event="Ring")).status_code == 204
    events = list(CallEvent.objects.filter(call=call).order_by("pk"))
    assert [e.applied for e in events] == [True, False]
    assert "duplicate" in events[1].ignored_reason
    assert Call.objects.get(pk=call.pk).status == CallStatus.RINGING


def test_a_callback_for_an_unknown_call_is_a_404(plivo_settings):
    response = plivo_post(status_path(), {"CallUUID": "no-such-call", "CallStatus": "ringing"})
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "call_not_found"


def test_a_callback_naming_no_call_is_a_400(plivo_settings):
    response = plivo_post(status_path(), {"CallStatus": "ringing"})
    assert (response.status_code, response.json()["error"]["field"]) == (400, "CallUUID")


# --- signatures -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/v1/plivo/answer", "/v1/plivo/status"])
def test_a_webhook_without_a_signature_is_refused_403_and_changes_nothing(plivo_settings, path):
    call = plivo_call(status=CallStatus.INITIATING)
    response = plivo_post(f"{path}?call_id={call.public_id}", callback(CallStatus="ringing"), signature=None)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "invalid_signature"
    assert not CallEvent.objects.exists()


@pytest.mark.parametrize("path", ["/v1/plivo/answer", "/v1/plivo/status"])
def test_a_webhook_with_a_wrong_signature_is_refused_403(plivo_settings, path):
    call = plivo_call(status=CallStatus.INITIATING)
    response = plivo_post(f"{path}?call_id={call.public_id}", callback(), signature="bm90IGEgc2lnbmF0dXJl")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "invalid_signature"


def test_a_signature_for_other_parameters_or_another_call_or_another_nonce_is_refused(plivo_settings):
    call = plivo_call(status=CallStatus.INITIATING)
    other = plivo_call(status=CallStatus.INITIATING, agent=call.agent)
    params = callback(CallStatus="ringing")
    path = status_path(call)
    forged = {
        "params": plivo_sign(public_url(path), callback(CallStatus="completed"), "n1"),
        "call": plivo_sign(public_url(status_path(other)), params, "n1"),
        "nonce": plivo_sign(public_url(path), params, "n2"),
        "token": "",
    }
    answers = {
        name: plivo_post(path, params, signature=sig, nonce="n1").status_code for name, sig in forged.items()
    }
    assert answers == {"params": 403, "call": 403, "nonce": 403, "token": 403}
    assert plivo_post(path, params, nonce="n1").status_code == 204  # the real one


def test_a_signature_made_with_another_auth_token_is_refused(plivo_settings):
    call = plivo_call(status=CallStatus.INITIATING)
    params, path = callback(CallStatus="ringing"), status_path(call)
    plivo_settings.PLIVO_AUTH_TOKEN = "some-other-token"
    signature = plivo_sign(public_url(path), params, "n1")
    plivo_settings.PLIVO_AUTH_TOKEN = PLIVO_AUTH_TOKEN
    assert plivo_post(path, params, signature=signature, nonce="n1").status_code == 403


def test_without_an_auth_token_every_webhook_is_refused(plivo_settings):
    call = plivo_call(status=CallStatus.INITIATING)
    params, path = callback(CallStatus="ringing"), status_path(call)
    signature = plivo_sign(public_url(path), params, "n1")
    plivo_settings.PLIVO_AUTH_TOKEN = ""
    assert plivo_post(path, params, signature=signature, nonce="n1").status_code == 403


@pytest.mark.parametrize("path", ["/v1/plivo/answer", "/v1/plivo/status"])
def test_a_webhook_that_is_not_a_form_is_refused_415(plivo_settings, path):
    response = Client().post(path, data='{"CallUUID": "x"}', content_type="application/json")
    assert response.status_code == 415
    assert response.json()["error"]["code"] == "unsupported_media_type"
    assert not Call.objects.exists()


# --- the answer URL -----------------------------------------------------------------------------------------


def answer_params(**overrides) -> dict:
    return {
        "CallUUID": CALL_UUID,
        "From": "12125550100",
        "To": "14155550111",
        "CallStatus": "ringing",
        "Direction": "inbound",
    } | overrides


def the_stream(response) -> "object":
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/xml")
    root = parse_xml(response.content)
    assert root.tag == "Response"
    (stream,) = root.findall("./Stream")
    return stream


def test_an_answered_outbound_call_streams_to_its_agent_with_a_single_use_token(plivo_settings):
    call = plivo_call(status=CallStatus.RINGING, provider_call_id=REQUEST_UUID)
    params = callback(CallStatus="in-progress", From="14155559999", To="14155550123")
    stream = the_stream(plivo_post(f"/v1/plivo/answer?call_id={call.public_id}", params))
    assert stream.text == "wss://calls.example.com/v1/media/plivo?agent_id=agent_pl"
    assert stream.get("bidirectional") == "true"
    assert stream.get("keepCallAlive") == "true"
    assert stream.get("contentType") == "audio/x-mulaw;rate=8000"
    assert stream.get("extraHeaders").replace(",", "").replace("=", "").isalnum()  # as Plivo requires
    headers = stream_headers(stream)
    assert headers["callId"] == call.public_id
    call.refresh_from_db()
    assert call.stream_token_hash == stream_token_digest(headers["streamToken"])
    assert call.status == CallStatus.IN_PROGRESS  # the answer is the callee picking up
    assert call.answered_at is not None


def test_an_answer_for_a_call_that_has_ended_meanwhile_hangs_up(plivo_settings):
    call = plivo_call(status=CallStatus.FAILED, provider_call_id=REQUEST_UUID)
    response = plivo_post(f"/v1/plivo/answer?call_id={call.public_id}", callback(CallStatus="in-progress"))
    root = parse_xml(response.content)
    assert [child.tag for child in root] == ["Speak", "Hangup"]
    assert Call.objects.get(pk=call.pk).stream_token_hash == ""


def test_an_inbound_call_to_an_assigned_number_is_recorded_and_streamed_to_its_agent(plivo_settings):
    agent = AgentFactory(public_id="agent_in", record=True, max_duration=900)
    PhoneNumberFactory(number="+14155550111", agent=agent, provider=Provider.PLIVO)
    stream = the_stream(plivo_post("/v1/plivo/answer", answer_params()))
    call = Call.objects.get()
    assert (call.direction, call.provider, call.provider_call_id) == (Direction.INBOUND, "plivo", CALL_UUID)
    assert (call.agent, call.from_number, call.to_number) == (agent, "+12125550100", "+14155550111")
    assert (call.record, call.max_duration) == (True, 900)
    assert stream.text == "wss://calls.example.com/v1/media/plivo?agent_id=agent_in"
    assert stream.get("bidirectional") == "true"
    assert stream.get("contentType") == "audio/x-mulaw;rate=8000"
    headers = stream_headers(stream)
    assert headers["callId"] == call.public_id
    assert call.stream_token_hash == stream_token_digest(headers["streamToken"])
    # Plivo's hang-up callback for it (the application's hangup URL: no call id) finds it by CallUUID.
    hangup = answer_params(CallStatus="completed", Event="Hangup", Duration="30")
    assert plivo_post("/v1/plivo/status", hangup).status_code == 204
    assert Call.objects.get().status == CallStatus.COMPLETED


def test_a_retried_inbound_answer_makes_one_call_and_only_its_latest_token_opens_the_stream(plivo_settings):
    PhoneNumberFactory(number="+14155550111", agent=AgentFactory(), provider=Provider.PLIVO)
    first = stream_headers(the_stream(plivo_post("/v1/plivo/answer", answer_params())))
    second = stream_headers(the_stream(plivo_post("/v1/plivo/answer", answer_params())))
    call = Call.objects.get()
    assert first["callId"] == second["callId"] == call.public_id
    assert call.stream_token_hash == stream_token_digest(second["streamToken"])


@pytest.mark.parametrize("to", ["14155550199", "not-a-number"])
def test_a_call_to_a_number_we_cannot_route_is_told_so_politely_and_hung_up(plivo_settings, to):
    response = plivo_post("/v1/plivo/answer", answer_params(To=to))
    assert response.status_code == 200
    root = parse_xml(response.content)
    assert [child.tag for child in root] == ["Speak", "Hangup"]
    assert "not in service" in root.find("Speak").text
    assert not Call.objects.exists()
