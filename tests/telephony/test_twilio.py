"""The Twilio provider against a local fake of Twilio's API, and POST /v1/twilio/status."""

from datetime import timedelta
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from django.utils import timezone

from agents.models import Provider
from calls.models import Call, CallEvent, CallStatus, Direction
from calls.services import (
    PLACE_MAX_ATTEMPTS,
    call_place,
    call_provider_hangup,
    calls_place_sweep,
    stream_token_digest,
)
from calls.tasks import place
from telephony.twilio.signature import twilio_sign
from tests.factories import AgentFactory, CallFactory
from tests.shared_fixtures import TWILIO_ACCOUNT as ACCOUNT
from tests.telephony.fake_twilio import FakeTwilio
from tests.telephony.streams import twiml_parameters
from wordcab_admin.kernel.public_url import public_url

FORM = "application/x-www-form-urlencoded"

pytestmark = pytest.mark.django_db


@pytest.fixture
def fake_twilio(twilio_settings):
    fake = FakeTwilio().start()
    twilio_settings.TWILIO_API_BASE_URL = fake.base_url
    yield fake
    fake.stop()


def twilio_call(**kwargs):
    agent = kwargs.pop("agent", None) or AgentFactory(public_id="agent_tw")
    return CallFactory(agent=agent, provider=Provider.TWILIO, from_number="+14155559999", **kwargs)


def post_status(client, params, *, call=None, signature=None):
    path = "/v1/twilio/status" + (f"?call_id={call.public_id}" if call else "")
    headers = {}
    if signature is None:
        headers["HTTP_X_TWILIO_SIGNATURE"] = twilio_sign(public_url(path), params)
    elif signature:
        headers["HTTP_X_TWILIO_SIGNATURE"] = signature
    return client.post(path, urlencode(params), content_type=FORM, **headers)  # as Twilio posts it


def test_placing_a_call_creates_it_through_the_twilio_api_with_stream_twiml_callbacks_and_amd(fake_twilio):
    call = twilio_call(to_number="+14155550123", max_duration=300)
    sid = call_place(call_id=call.pk)
    assert sid.startswith("CA")
    assert Call.objects.get(pk=call.pk).provider_call_id == sid
    (request,) = fake_twilio.creates()
    form = request["form"]
    assert request["path"] == f"/2010-04-01/Accounts/{ACCOUNT}/Calls.json"
    assert (form["To"], form["From"]) == (["+14155550123"], ["+14155559999"])
    assert (
        '<Connect><Stream url="wss://calls.example.com/v1/media/twilio?agent_id=agent_tw">'
        in form["Twiml"][0]
    )
    assert f'<Parameter name="call_id" value="{call.public_id}"' in form["Twiml"][0]
    token = twiml_parameters(form["Twiml"][0])["stream_token"]  # the stream's single-use token
    assert Call.objects.get(pk=call.pk).stream_token_hash == stream_token_digest(token)
    callback = urlsplit(form["StatusCallback"][0])
    assert (callback.netloc, callback.path) == ("calls.example.com", "/v1/twilio/status")
    assert parse_qs(callback.query) == {"call_id": [call.public_id]}
    assert form["StatusCallbackEvent"] == ["initiated", "ringing", "answered", "completed"]
    assert form["Timeout"] == ["30"]
    assert form["MachineDetection"] == ["Enable"]
    assert form["AsyncAmdStatusCallback"] == form["StatusCallback"]


def test_placing_twice_places_one_call(fake_twilio):
    call = twilio_call()
    first = call_place(call_id=call.pk)
    second = call_place(call_id=call.pk)
    assert first == second
    assert len(fake_twilio.creates()) == 1


def test_the_place_task_run_twice_places_one_call(fake_twilio):
    call = twilio_call()
    place.apply(kwargs={"call_id": call.pk})
    place.apply(kwargs={"call_id": call.pk})
    assert len(fake_twilio.creates()) == 1


def test_a_twilio_outage_leaves_the_call_initiating_and_due_again_after_a_backoff(fake_twilio):
    call = twilio_call()
    fake_twilio.next_status.append((503, {"code": 20500, "message": "Service unavailable"}))
    before = timezone.now()
    assert call_place(call_id=call.pk) is None
    call.refresh_from_db()
    assert (call.status, call.provider_call_id, call.place_attempts) == (CallStatus.INITIATING, None, 1)
    assert before < call.place_due_at <= timezone.now() + timedelta(seconds=1)
    assert call_place(call_id=call.pk).startswith("CA")  # the retry goes through
    assert Call.objects.get(pk=call.pk).place_due_at is None  # nothing left to place
    # Only the TwiML of the placing that went through can open the stream.
    tokens = [twiml_parameters(r["form"]["Twiml"][0])["stream_token"] for r in fake_twilio.creates()]
    assert Call.objects.get(pk=call.pk).stream_token_hash == stream_token_digest(tokens[-1])


def test_a_provider_that_stays_down_fails_the_call_after_the_last_attempt_each_after_its_backoff(fake_twilio):
    call = twilio_call()
    fake_twilio.next_status.extend([(503, {"code": 20500, "message": "down"})] * 20)
    now, waits = timezone.now(), []
    place.apply(kwargs={"call_id": call.pk})  # the task sent after commit: the first attempt
    while Call.objects.get(pk=call.pk).status == CallStatus.INITIATING:
        due = Call.objects.get(pk=call.pk).place_due_at
        waits.append(round((due - now).total_seconds()))
        now = due
        assert calls_place_sweep(now=now) == 1
    call.refresh_from_db()
    assert (call.status, call.error_code) == (CallStatus.FAILED, "provider_unavailable")
    assert len(fake_twilio.creates()) == PLACE_MAX_ATTEMPTS
    assert waits[1:] == [2, 4, 8, 16, 32]  # each retry after a doubled backoff
    assert call.place_due_at is None


def test_a_number_twilio_refuses_fails_the_call_with_twilios_error(fake_twilio):
    call = twilio_call(to_number="+14155550123")
    fake_twilio.next_status.append(
        (400, {"code": 21211, "message": "Invalid 'To' Phone Number", "status": 400})
    )
    assert call_place(call_id=call.pk) is None
    call.refresh_from_db()
    assert (call.status, call.error_code) == (CallStatus.FAILED, "twilio_21211")
    assert "Invalid" in call.error_message


def test_hanging_up_an_answered_call_completes_it_at_twilio(fake_twilio):
    call = twilio_call(provider_call_id="CA" + "2" * 32, status=CallStatus.COMPLETED)
    Call.objects.filter(pk=call.pk).update(answered_at=call.created_at)
    call_provider_hangup(call_id=call.pk)
    (request,) = fake_twilio.requests
    assert request["path"].endswith(f"/Calls/{call.provider_call_id}.json")
    assert request["form"]["Status"] == ["completed"]


def test_hanging_up_a_call_twilio_already_ended_is_fine(fake_twilio):
    call = twilio_call(provider_call_id="CA" + "3" * 32)
    fake_twilio.next_status.append(
        (400, {"code": 21220, "message": "Call is not in-progress", "status": 400})
    )
    call_provider_hangup(call_id=call.pk)  # no exception


@pytest.mark.parametrize("signature", ["", "bm90IGEgc2lnbmF0dXJl"])
def test_a_status_callback_without_a_valid_signature_is_a_403(client, twilio_settings, signature):
    call = twilio_call(provider_call_id="CA" + "4" * 32)
    response = post_status(
        client, {"CallSid": call.provider_call_id, "CallStatus": "ringing"}, signature=signature
    )
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "invalid_signature"
    assert Call.objects.get(pk=call.pk).status == CallStatus.INITIATING


def test_a_status_callback_signed_for_another_host_is_a_403(client, twilio_settings):
    call = twilio_call(provider_call_id="CA" + "5" * 32)
    params = {"CallSid": call.provider_call_id, "CallStatus": "ringing"}
    signature = twilio_sign("https://evil.example.com/v1/twilio/status", params)
    assert post_status(client, params, signature=signature).status_code == 403


MAPPING = [
    ("queued", {}, CallStatus.INITIATING, "", ""),
    ("initiated", {}, CallStatus.INITIATING, "", ""),
    ("ringing", {}, CallStatus.RINGING, "", ""),
    ("in-progress", {}, CallStatus.IN_PROGRESS, "", ""),
    ("completed", {"CallDuration": "12"}, CallStatus.COMPLETED, "hangup", ""),
    ("busy", {"SipResponseCode": "486"}, CallStatus.NO_ANSWER, "busy", ""),
    ("no-answer", {"SipResponseCode": "487"}, CallStatus.NO_ANSWER, "no_answer", ""),
    ("failed", {"SipResponseCode": "603"}, CallStatus.FAILED, "error", "carrier_rejected"),
    ("failed", {"SipResponseCode": "404"}, CallStatus.FAILED, "error", "invalid_number"),
    ("failed", {}, CallStatus.FAILED, "error", "call_failed"),
    ("canceled", {}, CallStatus.FAILED, "canceled", "canceled"),
]


@pytest.mark.parametrize(("twilio_status", "extra", "status", "end_reason", "error_code"), MAPPING)
def test_twilio_statuses_map_onto_the_lifecycle(
    client, twilio_settings, twilio_status, extra, status, end_reason, error_code
):
    call = twilio_call(provider_call_id="CA" + "6" * 32)
    params = {"CallSid": call.provider_call_id, "CallStatus": twilio_status, "SequenceNumber": "1", **extra}
    response = post_status(client, params, call=call)
    assert response.status_code == 204, response.content
    call.refresh_from_db()
    assert (call.status, call.end_reason, call.error_code) == (status, end_reason, error_code)
    if "SipResponseCode" in extra:
        assert call.sip_response_code == int(extra["SipResponseCode"])
    if error_code:
        assert call.error_message


def test_sequence_numbers_order_the_events_of_a_call(client, twilio_settings):
    call = twilio_call(provider_call_id="CA" + "7" * 32)
    for sequence, status in [(2, "in-progress"), (0, "initiated"), (1, "ringing"), (2, "in-progress")]:
        params = {"CallSid": call.provider_call_id, "CallStatus": status, "SequenceNumber": str(sequence)}
        assert post_status(client, params, call=call).status_code == 204
    call.refresh_from_db()
    assert call.status == CallStatus.IN_PROGRESS
    events = list(CallEvent.objects.filter(call=call).values_list("applied", flat=True))
    assert events == [True, False, False, False]


def test_status_callbacks_of_inbound_calls_are_found_by_call_sid(client, twilio_settings):
    call = twilio_call(provider_call_id="CA" + "8" * 32, direction=Direction.INBOUND)
    params = {"CallSid": call.provider_call_id, "CallStatus": "in-progress", "SequenceNumber": "0"}
    assert post_status(client, params).status_code == 204
    assert Call.objects.get(pk=call.pk).status == CallStatus.IN_PROGRESS


def test_a_status_callback_for_an_unknown_call_is_a_404(client, twilio_settings):
    params = {"CallSid": "CA" + "9" * 32, "CallStatus": "ringing"}
    response = post_status(client, params)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "call_not_found"


def test_a_machine_answer_ends_the_call_as_voicemail_and_hangs_up(
    client, twilio_settings, monkeypatch, django_capture_on_commit_callbacks
):
    sent = []
    monkeypatch.setattr(
        "wordcab_admin.kernel.tasks.current_app.send_task", lambda name, **kw: sent.append(name)
    )
    call = twilio_call(provider_call_id="CA" + "a" * 32)
    post_status(
        client,
        {"CallSid": call.provider_call_id, "CallStatus": "in-progress", "SequenceNumber": "1"},
        call=call,
    )
    with django_capture_on_commit_callbacks(execute=True):
        amd = {
            "CallSid": call.provider_call_id,
            "AnsweredBy": "machine_end_beep",
            "MachineDetectionDuration": "3000",
        }
        assert post_status(client, amd, call=call).status_code == 204
    call.refresh_from_db()
    assert (call.status, call.end_reason) == (CallStatus.COMPLETED, "voicemail")
    assert "calls.provider_hangup" in sent


def test_a_human_answer_leaves_the_call_in_progress(client, twilio_settings):
    call = twilio_call(provider_call_id="CA" + "b" * 32)
    post_status(
        client,
        {"CallSid": call.provider_call_id, "CallStatus": "in-progress", "SequenceNumber": "1"},
        call=call,
    )
    post_status(client, {"CallSid": call.provider_call_id, "AnsweredBy": "human"}, call=call)
    assert Call.objects.get(pk=call.pk).status == CallStatus.IN_PROGRESS


def test_garbage_in_a_status_callback_is_never_a_500(client, twilio_settings):
    call = twilio_call(provider_call_id="CA" + "c" * 32)
    params = {
        "CallSid": call.provider_call_id,
        "CallStatus": "teleported",
        "SequenceNumber": "NaN",
        "Timestamp": "yesterday",
        "SipResponseCode": "abc",
        "CallDuration": "-x",
    }
    assert post_status(client, params, call=call).status_code == 204
    assert post_status(client, {"CallStatus": "ringing"}).status_code == 400
    assert Call.objects.get(pk=call.pk).status == CallStatus.INITIATING


def test_a_webhook_body_with_too_many_fields_is_a_json_400_not_a_500(client, twilio_settings):
    body = "&".join(f"f{i}=x" for i in range(1100))  # over DATA_UPLOAD_MAX_NUMBER_FIELDS (1000)
    response = client.post("/v1/twilio/status", data=body, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "bad_request"
