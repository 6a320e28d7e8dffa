"""The simulated carrier loses nothing with the broker or the worker: its status events are rows that the
sweep sends when their tasks are lost, and a recording lost with its task is made again."""

from datetime import timedelta

import pytest
from django.utils import timezone

from calls.models import Call, CallStatus
from calls.services import call_place
from recordings.models import Recording, RecordingStatus
from telephony.models import SimulatorEvent
from telephony.simulator.delivery import (
    OVERDUE_SECONDS,
    RECORDING_OVERDUE_SECONDS,
    simulated_recordings_redrive,
    simulator_sweep,
)
from telephony.simulator.tasks import simulate_recording
from tests.factories import CallFactory
from tests.telephony.test_simulator import OUTCOMES


def placed_with_its_tasks_lost(django_capture_on_commit_callbacks, **fields) -> Call:
    call = CallFactory(place_due_at=timezone.now(), **fields)
    with django_capture_on_commit_callbacks(execute=False):  # the countdown tasks are never sent
        call_place(call_id=call.pk)
    return call


@pytest.mark.django_db
@pytest.mark.parametrize(("number", "status", "end_reason", "error_code"), OUTCOMES)
def test_a_simulated_call_whose_event_tasks_were_lost_reaches_its_true_end_through_the_sweep(
    number, status, end_reason, error_code, django_capture_on_commit_callbacks
):
    call = placed_with_its_tasks_lost(django_capture_on_commit_callbacks, to_number=number)
    stored = SimulatorEvent.objects.filter(call_public_id=call.public_id)
    last_due, count = max(stored.values_list("due_at", flat=True)), stored.count()
    with django_capture_on_commit_callbacks(execute=False):
        assert simulator_sweep(now=last_due + timedelta(seconds=OVERDUE_SECONDS)) == count
    call.refresh_from_db()
    assert (call.status, call.end_reason, call.error_code) == (status, end_reason, error_code)
    assert not SimulatorEvent.objects.filter(call_public_id=call.public_id).exists()  # each sent once


@pytest.mark.django_db
def test_the_sweep_leaves_events_that_are_not_yet_overdue_to_their_tasks(django_capture_on_commit_callbacks):
    call = placed_with_its_tasks_lost(django_capture_on_commit_callbacks)
    first_due = min(
        SimulatorEvent.objects.filter(call_public_id=call.public_id).values_list("due_at", flat=True)
    )
    assert simulator_sweep(now=first_due) == 0
    call.refresh_from_db()
    assert call.status == CallStatus.INITIATING
    assert SimulatorEvent.objects.filter(call_public_id=call.public_id).count() == 4


@pytest.mark.django_db
def test_an_event_sent_by_its_task_and_by_the_sweep_is_applied_once(django_capture_on_commit_callbacks):
    from telephony.simulator.tasks import simulator_deliver

    call = placed_with_its_tasks_lost(django_capture_on_commit_callbacks)
    first = SimulatorEvent.objects.filter(call_public_id=call.public_id).order_by("due_at").first()
    simulator_deliver(event_id=first.pk)
    assert not SimulatorEvent.objects.filter(pk=first.pk).exists()  # its row went with its delivery
    assert simulator_deliver(event_id=first.pk) == 0
    assert call.events.count() == 1


@pytest.mark.django_db
def test_a_recorded_simulated_call_that_ended_without_its_recording_gets_it_made_again(
    recording_store, django_capture_on_commit_callbacks, monkeypatch
):
    call = placed_with_its_tasks_lost(django_capture_on_commit_callbacks, record=True)
    with django_capture_on_commit_callbacks(execute=False):  # recordings.simulate is lost too
        simulator_sweep(now=timezone.now() + timedelta(minutes=1))
    call.refresh_from_db()
    assert call.status == CallStatus.COMPLETED
    assert not Recording.objects.filter(call=call).exists()
    sent = []
    monkeypatch.setattr(
        "wordcab_admin.kernel.tasks.current_app.send_task",
        lambda name, **kw: sent.append((name, kw["kwargs"])),
    )
    assert simulated_recordings_redrive(now=call.ended_at + timedelta(seconds=1)) == 0  # not overdue yet
    assert simulated_recordings_redrive(now=call.ended_at + timedelta(seconds=RECORDING_OVERDUE_SECONDS)) == 1
    ((name, kwargs),) = sent
    assert (name, kwargs["call_id"]) == ("recordings.simulate", call.pk)
    with django_capture_on_commit_callbacks(execute=False):
        simulate_recording(**kwargs)  # what the worker then runs
    assert Recording.objects.get(call=call).status == RecordingStatus.PENDING_UPLOAD
    assert (
        simulated_recordings_redrive(now=call.ended_at + timedelta(seconds=RECORDING_OVERDUE_SECONDS)) == 0
    )  # made: nothing to redo
