"""The simulated carrier's events are sent per bucket of time (telephony/simulator/delivery.py): one task at
the end of a bucket applies every stored event due by then, in due order; a process sends each bucket's task
once; events due later than NEAR_SECONDS get theirs from the sweep as they come near; and a lost task's
events are sent by the sweep once overdue."""

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from calls.models import Call, CallStatus
from calls.services import calls_place_many
from telephony.models import SimulatorEvent
from telephony.simulator import delivery
from telephony.simulator.delivery import (
    BUCKET_SECONDS,
    NEAR_SECONDS,
    OVERDUE_SECONDS,
    simulator_events_coming_schedule,
    simulator_events_deliver_due,
    simulator_events_schedule,
    simulator_sweep,
)
from tests.factories import CallFactory
from tests.helpers import broker_down

pytestmark = pytest.mark.django_db
DELIVER_DUE = "telephony.simulator_deliver_due"


@pytest.fixture(autouse=True)
def no_bucket_sent_yet(monkeypatch) -> None:
    """Each test starts as a fresh process would: it has sent no bucket's task."""
    monkeypatch.setattr(delivery, "_buckets_sent", delivery._BucketsSent())


@pytest.fixture
def sent(monkeypatch) -> list[tuple[str, dict, float]]:
    """The tasks sent, (name, kwargs, countdown), none of them run."""
    tasks: list[tuple[str, dict, float]] = []
    monkeypatch.setattr(
        "wordcab_admin.kernel.tasks.current_app.send_task",
        lambda name, **kw: tasks.append((name, kw["kwargs"], kw["countdown"])),
    )
    return tasks


def placed(count: int, django_capture_on_commit_callbacks, **fields) -> list[Call]:
    """`count` calls placed in one batch, the delivery tasks of their events lost (never sent)."""
    calls = [
        CallFactory(to_number=f"+1415555{2000 + index:04d}", place_due_at=timezone.now(), **fields)
        for index in range(count)
    ]
    with django_capture_on_commit_callbacks(execute=False):
        calls_place_many(call_ids=[call.pk for call in calls])
    return calls


def bucket_end(moment: datetime) -> datetime:
    return datetime.fromtimestamp(
        -(-moment.timestamp() // BUCKET_SECONDS) * BUCKET_SECONDS, tz=UTC
    )  # the bucket's end, as `until` names it


def test_a_batch_of_calls_sends_one_task_per_bucket_its_events_fall_in(
    settings, sent, django_capture_on_commit_callbacks
):
    settings.SIMULATOR_SPEED = 20  # every event within about half a second
    calls = [
        CallFactory(to_number=f"+1415555{2000 + index:04d}", place_due_at=timezone.now())
        for index in range(20)
    ]
    with django_capture_on_commit_callbacks(execute=True):
        calls_place_many(call_ids=[call.pk for call in calls])
    due = list(SimulatorEvent.objects.values_list("due_at", flat=True))
    assert len(due) == 80
    buckets = {bucket_end(moment) for moment in due}
    assert {name for name, _kwargs, _countdown in sent} == {DELIVER_DUE}
    assert (
        len(sent) <= len(buckets) < len(due)
    )  # a task per bucket (one sent at once is trusted), not per event
    untils = [datetime.fromisoformat(kwargs["until"]) for _name, kwargs, _countdown in sent]
    assert untils == sorted(untils)
    for moment in due:  # every event is due by the end of a bucket whose task was sent
        assert any(until >= moment for until in untils)


def test_a_process_sends_a_buckets_task_once_unless_the_bucket_is_about_to_end(sent):
    later = timezone.now() + timedelta(seconds=5)
    assert simulator_events_schedule([later, later + timedelta(milliseconds=1)]) == 1
    assert simulator_events_schedule([later]) == 0  # another batch's event in the same bucket
    ((_name, kwargs, countdown),) = sent
    assert datetime.fromisoformat(kwargs["until"]) >= later
    assert 4 < countdown <= 5 + BUCKET_SECONDS
    now = timezone.now() - timedelta(seconds=1)  # due already: its bucket's task may have run before commit
    assert simulator_events_schedule([now]) == 1
    assert simulator_events_schedule([now]) == 1
    assert sent[-1][2] == 0  # sent to run at once


def test_events_of_a_bucket_are_applied_in_their_due_order_whichever_bucket_task_runs_first(
    django_capture_on_commit_callbacks,
):
    calls = placed(3, django_capture_on_commit_callbacks)
    events = SimulatorEvent.objects.order_by("due_at")
    first_due, last_due = events.first().due_at, events.last().due_at
    # The last bucket's task runs first (tasks run in parallel): it applies the earlier events too, in order.
    assert simulator_events_deliver_due(until=last_due) == 9  # `initiated` changes nothing: initiating
    assert simulator_events_deliver_due(until=bucket_end(first_due)) == 0  # the first bucket's: nothing left
    for call in calls:
        call.refresh_from_db()
        assert (call.status, call.end_reason) == (CallStatus.COMPLETED, "hangup")
        events = call.events.order_by("id")
        assert [event.sequence for event in events] == [0, 1, 2, 3]  # stored in the timeline's order
        assert [event.applied for event in events] == [False, True, True, True]
        assert "already initiating" in events[0].ignored_reason  # not "out of order", not "late"
    assert not SimulatorEvent.objects.exists()


def test_a_bucket_task_applies_only_what_is_due_by_its_end(django_capture_on_commit_callbacks):
    (call,) = placed(1, django_capture_on_commit_callbacks)
    ringing = SimulatorEvent.objects.get(call_public_id=call.public_id, params__CallStatus="ringing")
    assert simulator_events_deliver_due(until=ringing.due_at) == 1  # initiated (no change), ringing
    assert call.events.count() == 2
    call.refresh_from_db()
    assert call.status == CallStatus.RINGING
    assert SimulatorEvent.objects.filter(call_public_id=call.public_id).count() == 2


def test_a_lost_bucket_task_is_delivered_by_the_sweep_once_overdue(django_capture_on_commit_callbacks):
    calls = placed(3, django_capture_on_commit_callbacks)
    last_due = max(SimulatorEvent.objects.values_list("due_at", flat=True))
    with django_capture_on_commit_callbacks(execute=False):
        assert simulator_sweep(now=last_due + timedelta(seconds=OVERDUE_SECONDS)) == 12
    for call in calls:
        call.refresh_from_db()
        assert call.status == CallStatus.COMPLETED
    assert not SimulatorEvent.objects.exists()


def test_with_the_broker_down_a_bucket_is_not_counted_as_sent(caplog):
    later = timezone.now() + timedelta(seconds=5)
    with broker_down():
        assert simulator_events_schedule([later]) == 0
    assert "left to its sweep" in caplog.text
    assert simulator_events_schedule([later]) == 1  # the broker back: the bucket's task is sent


def test_events_due_beyond_the_near_horizon_get_their_task_from_the_sweep_as_they_come_near(
    settings, sent, django_capture_on_commit_callbacks
):
    settings.SIMULATOR_SPEED = 0.001  # the first event 100 to 300 s after the dial
    (call,) = [CallFactory(place_due_at=timezone.now())]
    with django_capture_on_commit_callbacks(execute=True):
        calls_place_many(call_ids=[call.pk])
    assert sent == []  # nothing near: no task yet
    assert simulator_events_coming_schedule() == 0
    soon = timezone.now() + timedelta(seconds=NEAR_SECONDS / 2)
    first = SimulatorEvent.objects.filter(call_public_id=call.public_id).order_by("due_at").first()
    SimulatorEvent.objects.filter(pk=first.pk).update(due_at=soon)  # time has passed: it is near now
    assert simulator_events_coming_schedule() == 1
    ((name, kwargs, _countdown),) = sent
    assert name == DELIVER_DUE
    assert datetime.fromisoformat(kwargs["until"]) >= soon
    assert simulator_events_coming_schedule() == 0  # the next sweep: sent already by this process
