"""max_duration: a call still in progress past it is hung up through its provider and completed."""

from datetime import timedelta

import pytest
from django.utils import timezone

from agents.models import Provider
from calls.lifecycle import call_max_duration_enforce, calls_max_duration_sweep
from calls.models import CallStatus, EndReason
from calls.tasks import provider_hangup
from tests.factories import CallFactory
from tests.helpers import apply_event, apply_status
from tests.telephony.fake_twilio import FakeTwilio
from wordcab_admin.schedules import PERIODIC

pytestmark = pytest.mark.django_db


@pytest.fixture
def sent(monkeypatch):
    tasks = []
    monkeypatch.setattr(
        "calls.lifecycle.current_app.send_task",
        lambda name, **kw: tasks.append((name, kw.get("kwargs"), kw.get("countdown"))),
    )
    return tasks


def answered_call(seconds_ago, max_duration, **kwargs):
    call = CallFactory(max_duration=max_duration, **kwargs)
    apply_event(
        call=call,
        status=CallStatus.IN_PROGRESS,
        source="test",
        occurred_at=timezone.now() - timedelta(seconds=seconds_ago),
    )
    call.refresh_from_db()
    return call


def test_max_duration_is_swept_every_few_seconds_and_no_timer_is_sent_per_answer(
    sent, django_capture_on_commit_callbacks
):
    call = CallFactory(max_duration=300)
    with django_capture_on_commit_callbacks(execute=True):
        apply_event(call=call, status=CallStatus.IN_PROGRESS, source="test")
    assert sent == []
    (interval,) = [every for _, task, every in PERIODIC if task == "calls.max_duration_sweep"]
    assert interval <= timedelta(seconds=5)


def test_a_call_past_its_max_duration_is_completed_with_that_reason_and_hung_up(
    sent, django_capture_on_commit_callbacks
):
    call = answered_call(seconds_ago=301, max_duration=300, provider_call_id="SIMx")
    with django_capture_on_commit_callbacks(execute=True):
        assert call_max_duration_enforce(call_id=call.pk)
    call.refresh_from_db()
    assert (call.status, call.end_reason) == (CallStatus.COMPLETED, EndReason.MAX_DURATION)
    assert call.duration == 300
    assert ("calls.provider_hangup", {"call_id": call.pk}, None) in sent


def test_a_call_within_its_max_duration_is_left_alone(sent):
    call = answered_call(seconds_ago=100, max_duration=300)
    assert not call_max_duration_enforce(call_id=call.pk)
    call.refresh_from_db()
    assert call.status == CallStatus.IN_PROGRESS


def test_a_call_that_already_ended_is_left_alone(sent):
    call = answered_call(seconds_ago=400, max_duration=300)
    apply_event(call=call, status=CallStatus.COMPLETED, source="test")
    assert not call_max_duration_enforce(call_id=call.pk)
    call.refresh_from_db()
    assert call.end_reason == EndReason.HANGUP


def test_the_sweep_catches_every_call_past_its_limit(sent):
    over = [answered_call(seconds_ago=61, max_duration=60) for _ in range(3)]
    under = answered_call(seconds_ago=10, max_duration=60)
    assert calls_max_duration_sweep() == 3
    for call in over:
        call.refresh_from_db()
        assert call.end_reason == EndReason.MAX_DURATION
    under.refresh_from_db()
    assert under.status == CallStatus.IN_PROGRESS


def test_a_twilio_call_past_its_limit_is_hung_up_at_twilio(
    settings, sent, django_capture_on_commit_callbacks
):
    fake = FakeTwilio().start()
    try:
        settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN = "AC" + "1" * 32, "token"
        settings.TWILIO_API_BASE_URL = fake.base_url
        call = answered_call(
            seconds_ago=61, max_duration=60, provider=Provider.TWILIO, provider_call_id="CA" + "d" * 32
        )
        with django_capture_on_commit_callbacks(execute=True):
            call_max_duration_enforce(call_id=call.pk)
        ((name, kwargs, _),) = [task for task in sent if task[0] == "calls.provider_hangup"]
        provider_hangup.apply(kwargs=kwargs)
        (request,) = fake.requests
        assert request["path"].endswith(f"/Calls/{call.provider_call_id}.json")
        assert request["form"]["Status"] == ["completed"]
    finally:
        fake.stop()


@pytest.mark.parametrize(
    ("talked", "end_reason"), [("300", EndReason.MAX_DURATION), ("299", EndReason.HANGUP)]
)
def test_a_call_twilio_ended_at_its_time_limit_completes_with_end_reason_max_duration(talked, end_reason):
    call = answered_call(
        seconds_ago=int(talked), max_duration=300, provider="twilio", provider_call_id="CAlimit"
    )
    params = {"CallSid": "CAlimit", "CallStatus": "completed", "CallDuration": talked, "SequenceNumber": "3"}
    apply_status(provider="twilio", params=params, source="twilio", call_public_id=call.public_id)
    call.refresh_from_db()
    assert (call.status, call.end_reason) == (CallStatus.COMPLETED, end_reason)
