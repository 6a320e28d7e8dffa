"""The lifecycle: one state machine, every event kept, terminal states final, any delivery order converges."""

import json
import random
from datetime import timedelta

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from calls.lifecycle import (
    CallError,
    call_hangup,
    call_stream_started,
    call_stream_stopped,
    calls_stale_sweep,
)
from calls.models import Call, CallEvent, CallStatus, EndReason
from campaigns.models import Campaign, CampaignStatus
from telephony.simulator.provider import simulator_timeline
from tests.factories import CallFactory
from tests.helpers import apply_event, apply_status
from wordcab_admin.kernel.errors import InvalidState

pytestmark = pytest.mark.django_db

OUTCOME_NUMBERS = ["+14155550123", "+14155550150", "+14155550165", "+14155550171", "+14155550188"]


def _apply(call, status, **kwargs):
    return apply_event(call=call, status=status, source="test", **kwargs)


def test_an_accepted_transition_moves_the_call_and_is_stored_as_applied():
    call = CallFactory()
    event = _apply(call, CallStatus.RINGING)
    call.refresh_from_db()
    assert call.status == CallStatus.RINGING
    assert (event.applied, event.ignored_reason) == (True, "")


def test_a_terminal_call_never_moves_and_the_late_event_is_kept_as_ignored():
    call = CallFactory()
    _apply(call, CallStatus.COMPLETED)
    late = _apply(call, CallStatus.RINGING)
    call.refresh_from_db()
    assert call.status == CallStatus.COMPLETED
    assert not late.applied
    assert "already ended" in late.ignored_reason
    assert CallEvent.objects.filter(call=call).count() == 2


def test_an_older_sequence_number_is_ignored_as_out_of_order():
    call = CallFactory()
    _apply(call, CallStatus.RINGING, sequence=1)
    stale = _apply(call, CallStatus.INITIATING, sequence=0)
    assert not stale.applied
    assert "out of order" in stale.ignored_reason
    assert Call.objects.get(pk=call.pk).last_sequence == 1


def test_a_duplicate_event_is_a_no_op():
    call = CallFactory()
    _apply(call, CallStatus.RINGING, sequence=1)
    again = _apply(call, CallStatus.RINGING, sequence=1)
    assert not again.applied
    assert "duplicate" in again.ignored_reason


def test_an_answered_call_cannot_become_no_answer():
    call = CallFactory()
    _apply(call, CallStatus.IN_PROGRESS)
    event = _apply(call, CallStatus.NO_ANSWER)
    assert not event.applied
    assert Call.objects.get(pk=call.pk).status == CallStatus.IN_PROGRESS


def test_forward_jumps_land_when_intermediate_events_are_lost():
    call = CallFactory()
    _apply(call, CallStatus.COMPLETED, talk_seconds=42)
    call.refresh_from_db()
    assert call.status == CallStatus.COMPLETED
    assert call.duration == 42


def test_answer_and_end_times_and_reasons_are_recorded():
    call = CallFactory()
    answered = timezone.now().replace(microsecond=0)
    _apply(call, CallStatus.IN_PROGRESS, occurred_at=answered)
    _apply(call, CallStatus.COMPLETED, occurred_at=answered + timedelta(seconds=30))
    call.refresh_from_db()
    assert call.answered_at == answered
    assert call.duration == 30
    assert call.end_reason == EndReason.HANGUP


def test_a_failure_keeps_its_error_and_sip_code():
    call = CallFactory()
    _apply(call, CallStatus.FAILED, error=CallError("carrier_rejected", "no"), sip_response_code=603)
    call.refresh_from_db()
    assert (call.error_code, call.sip_response_code, call.end_reason) == ("carrier_rejected", 603, "error")


def test_every_accepted_transition_is_announced_after_commit(monkeypatch, django_capture_on_commit_callbacks):
    announced = []
    monkeypatch.setattr(
        "calls.lifecycle.calls_changed_on_commit",
        lambda calls, campaign_ids: announced.extend(call["status"] for call in calls),
    )
    call = CallFactory()
    with django_capture_on_commit_callbacks():
        _apply(call, CallStatus.RINGING)
        _apply(call, CallStatus.RINGING)  # duplicate: not announced
    assert announced == [CallStatus.RINGING]


def test_hanging_up_an_answered_call_completes_it_and_asks_the_provider_to_drop_the_line(
    alice, django_capture_on_commit_callbacks, monkeypatch
):
    sent = []
    monkeypatch.setattr(
        "wordcab_admin.kernel.tasks.current_app.send_task", lambda name, **kw: sent.append(name)
    )
    call = CallFactory(provider_call_id="SIMabc")
    _apply(call, CallStatus.IN_PROGRESS)
    with django_capture_on_commit_callbacks(execute=True):
        call = call_hangup(call=call, actor=alice)
    assert (call.status, call.end_reason) == (CallStatus.COMPLETED, EndReason.HANGUP)
    assert "calls.provider_hangup" in sent


def test_hanging_up_a_ringing_call_cancels_it():
    call = CallFactory()
    _apply(call, CallStatus.RINGING)
    call = call_hangup(call=call)
    assert (call.status, call.end_reason, call.error_code) == (CallStatus.FAILED, "canceled", "canceled")


def test_hanging_up_an_ended_call_is_an_invalid_state():
    call = CallFactory()
    _apply(call, CallStatus.NO_ANSWER)
    with pytest.raises(InvalidState):
        call_hangup(call=call)


def test_the_media_stream_moves_a_call_to_in_progress_and_then_to_completed():
    call = CallFactory()
    started = call_stream_started(public_id=call.public_id, stream_sid="MZ1")
    stopped = call_stream_stopped(public_id=call.public_id, stream_sid="MZ1")
    call.refresh_from_db()
    assert started.applied
    assert stopped.applied
    assert (call.status, call.end_reason) == (CallStatus.COMPLETED, EndReason.HANGUP)
    assert call.answered_at is not None


def test_the_watchdog_fails_calls_not_heard_of_for_the_configured_time(settings):
    settings.CALL_STALE_AFTER_SECONDS = 60
    now = timezone.now()
    quiet = CallFactory(status=CallStatus.RINGING, last_event_at=now - timedelta(seconds=61))
    lively = CallFactory(status=CallStatus.RINGING, last_event_at=now - timedelta(seconds=5))
    talking = CallFactory(
        status=CallStatus.IN_PROGRESS,
        last_event_at=now - timedelta(seconds=300),
        answered_at=now - timedelta(seconds=300),
        max_duration=600,
    )
    assert calls_stale_sweep(now=now) == 1
    quiet.refresh_from_db(), lively.refresh_from_db(), talking.refresh_from_db()
    assert (quiet.status, quiet.error_code) == (CallStatus.FAILED, "stale")
    assert lively.status == CallStatus.RINGING
    assert talking.status == CallStatus.IN_PROGRESS  # answered calls are silent until their end


def test_an_answered_call_long_past_its_max_duration_is_stale(settings):
    settings.CALL_STALE_AFTER_SECONDS = 60
    now = timezone.now()
    call = CallFactory(
        status=CallStatus.IN_PROGRESS,
        answered_at=now - timedelta(seconds=200),
        last_event_at=now - timedelta(seconds=200),
        max_duration=100,
    )
    assert calls_stale_sweep(now=now) == 1
    call.refresh_from_db()
    assert call.error_code == "stale"


def _final(call):
    call.refresh_from_db()
    return (
        call.status,
        call.end_reason,
        call.error_code,
        call.sip_response_code,
        call.answered_at,
        call.ended_at,
    )


@settings(
    max_examples=60, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    number=st.sampled_from(OUTCOME_NUMBERS),
    seed=st.integers(min_value=0, max_value=2**32),
    data=st.data(),
)
def test_any_permutation_and_duplication_of_events_ends_as_in_order_delivery(number, seed, data):
    events = simulator_timeline(
        call_sid=f"SIM{seed}",
        to_number=number,
        from_number="",
        start=timezone.now(),
        speed=random.Random(seed).choice([0.5, 1, 20]),
        rng=random.Random(seed),
    )
    params = [event.params for event in events]
    delivered = data.draw(st.lists(st.sampled_from(params), min_size=0, max_size=3 * len(params)))
    # Every event is delivered at least once, in any order, some of them several times.
    delivered = data.draw(st.permutations(params + delivered))

    in_order = CallFactory(to_number=number, provider="simulator")
    shuffled = CallFactory(to_number=number, provider="simulator")
    for p in params:
        apply_status(provider="simulator", params=p, source="test", call_public_id=in_order.public_id)
    for p in delivered:
        apply_status(provider="simulator", params=p, source="test", call_public_id=shuffled.public_id)

    assert _final(shuffled) == _final(in_order)
    assert CallEvent.objects.filter(call=shuffled).count() == len(delivered)


def test_a_running_campaign_is_completed_once_its_last_call_ends_and_announced_so(
    monkeypatch, django_capture_on_commit_callbacks
):
    sent = []
    monkeypatch.setattr("live.publisher.live_events_send", sent.extend)
    first = CallFactory(status=CallStatus.IN_PROGRESS)
    campaign = Campaign.objects.create(name="Reminders", agent=first.agent, status=CampaignStatus.RUNNING)
    second = CallFactory(agent=first.agent, status=CallStatus.RINGING)
    Call.objects.filter(pk__in=[first.pk, second.pk]).update(campaign=campaign)
    first.refresh_from_db()
    second.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        _apply(first, CallStatus.COMPLETED)
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.RUNNING  # its other call still rings
    with django_capture_on_commit_callbacks(execute=True):
        _apply(second, CallStatus.NO_ANSWER)
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.COMPLETED
    announced = [json.loads(e["text"]) for e in sent if e["call_id"] is None]
    assert announced[-1]["campaign"]["status"] == CampaignStatus.COMPLETED


def test_a_paused_campaign_is_not_completed_by_its_calls_ending(django_capture_on_commit_callbacks):
    call = CallFactory(status=CallStatus.RINGING)
    campaign = Campaign.objects.create(name="Held", agent=call.agent, status=CampaignStatus.PAUSED)
    Call.objects.filter(pk=call.pk).update(campaign=campaign)
    call.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        _apply(call, CallStatus.FAILED)
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.PAUSED
