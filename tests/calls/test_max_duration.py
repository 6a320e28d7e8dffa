"""max_duration: a call still in progress past it is hung up through its provider and completed."""

from datetime import timedelta

import pytest
from django.utils import timezone

from agents.models import Provider
from calls.lifecycle import PROVIDER_NEWS_GRACE_SECONDS, call_max_duration_enforce, calls_max_duration_sweep
from calls.models import Call, CallStatus, Direction, EndReason
from calls.services import call_place
from calls.tasks import provider_hangup
from telephony.models import SimulatorEvent
from telephony.simulator.delivery import OVERDUE_SECONDS, simulator_sweep
from tests.factories import CallFactory
from tests.helpers import apply_event, apply_status
from tests.telephony.fake_twilio import FakeTwilio
from wordcab_admin.schedules import PERIODIC

pytestmark = pytest.mark.django_db


@pytest.fixture
def sent(monkeypatch):
    tasks = []
    monkeypatch.setattr(
        "wordcab_admin.kernel.tasks.current_app.send_task",
        lambda name, **kw: tasks.append((name, kw.get("kwargs"), kw.get("countdown"))),
    )
    return tasks


def answered_call(seconds_ago, max_duration, **kwargs):
    """An answered call; inbound by default, a call whose max_duration no provider enforces but us."""
    kwargs.setdefault("direction", Direction.INBOUND)
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


@pytest.mark.parametrize("provider", [Provider.SIMULATOR, Provider.TWILIO])
def test_a_placed_call_whose_provider_never_reported_its_end_fails_as_lost_without_a_made_up_talk_time(
    provider, sent, django_capture_on_commit_callbacks
):
    """The provider ends our outbound calls at max_duration itself and says so; silence past that means its
    news was lost (a worker or broker died with it), and inventing a 300 s talk would be a lie."""
    seconds_ago = 300 + PROVIDER_NEWS_GRACE_SECONDS + 1
    call = answered_call(
        seconds_ago=seconds_ago, max_duration=300, provider=provider, provider_call_id="CAlost",
        direction=Direction.OUTBOUND,
    )  # fmt: skip
    answered_at = call.answered_at
    with django_capture_on_commit_callbacks(execute=True):
        assert calls_max_duration_sweep() == 1
    call.refresh_from_db()
    assert (call.status, call.end_reason, call.error_code) == (
        CallStatus.FAILED,
        EndReason.LOST,
        "provider_lost",
    )
    assert "max_duration (300 s" in call.error_message
    assert call.answered_at == answered_at  # what is known of its timing is kept
    assert call.duration is None  # and what is not known is not made up
    assert ("calls.provider_hangup", {"call_id": call.pk}, None) in sent


def test_a_simulated_call_whose_end_is_still_to_be_sent_is_late_not_lost(
    sent, django_capture_on_commit_callbacks
):
    """After a long outage the max-duration sweep may run before the simulator's sweep: the carrier's
    stored `completed` is late news, and the call must end with it, not as lost."""
    call = CallFactory(direction=Direction.OUTBOUND, max_duration=5, place_due_at=timezone.now())
    with django_capture_on_commit_callbacks(execute=False):  # its event tasks are lost
        call_place(call_id=call.pk)
        answered = SimulatorEvent.objects.get(call_public_id=call.public_id, params__CallStatus="in-progress")
        simulator_sweep(
            now=answered.due_at + timedelta(seconds=OVERDUE_SECONDS)
        )  # answered; its end not sent
    assert Call.objects.get(pk=call.pk).status == CallStatus.IN_PROGRESS
    far_later = timezone.now() + timedelta(minutes=5)
    with django_capture_on_commit_callbacks(execute=False):
        calls_max_duration_sweep(now=far_later)
        simulator_sweep(now=far_later)
    call.refresh_from_db()
    assert call.status == CallStatus.COMPLETED
    assert call.end_reason in {EndReason.HANGUP, EndReason.MAX_DURATION}  # the carrier's word: talk ≤ 5 s
    assert call.duration is not None


def test_a_placed_call_just_past_its_limit_waits_for_its_providers_own_end(sent):
    call = answered_call(
        seconds_ago=301, max_duration=300, provider=Provider.SIMULATOR, direction=Direction.OUTBOUND
    )
    assert calls_max_duration_sweep() == 0
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


def test_an_inbound_twilio_call_past_its_limit_is_hung_up_at_twilio(
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
