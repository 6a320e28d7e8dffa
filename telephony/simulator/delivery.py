"""Sending the simulated carrier's status events, and re-driving what a lost task would have done.

Each event is a SimulatorEvent row (written when the call is placed) with a countdown task to send it on
time. Should the task be lost (the worker killed while holding it, the broker restarted without it), the
sweep sends the events that are overdue, and makes the synthetic recording of a recorded call that ended
without one. Either way an event is applied and its row deleted in one transaction, so it is applied once
(a duplicate would be a no-op in the lifecycle anyway)."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from calls.lifecycle import EventSource, call_events_apply
from calls.models import Call, CallStatus
from recordings.models import Recording, RecordingStatus
from telephony.models import SimulatorEvent
from telephony.twilio.status import provider_status_event
from wordcab_admin.kernel.errors import NotFound
from wordcab_admin.kernel.tasks import task_send_or_leave_to_sweep

log = logging.getLogger(__name__)

# An event this late has lost its task: the sweep sends it. (Its task, on time, sends it within ms.)
OVERDUE_SECONDS = 2
SWEEP_BATCH = 500
# A recorded simulated call that ended this long ago without its recording (or with one still being
# written) lost its recording task: the sweep sends it again. Making one takes well under a second.
RECORDING_OVERDUE_SECONDS = 15
RECORDING_STUCK_SECONDS = 30
RECORDING_REDRIVE_WINDOW = timedelta(days=1)
LONGEST_CALL = timedelta(hours=5)


def simulator_events_schedule(schedule: list[tuple[int, float]]) -> None:
    """Send each event's countdown task; one the broker cannot take is left to the sweep."""
    for event_id, delay in schedule:
        if not task_send_or_leave_to_sweep(
            "calls.simulator_deliver", {"event_id": event_id}, countdown=delay
        ):
            return  # the broker is down: the sweep sends them all once it is back


def simulator_events_deliver(event_ids: list[int]) -> int:
    """Apply these events (those still stored) in due order, in one transaction that deletes the rows of
    the applied ones; an event that failed stays for the sweep. Returns how many were applied."""
    with transaction.atomic():
        rows = list(
            SimulatorEvent.objects.select_for_update().filter(pk__in=event_ids).order_by("due_at", "pk")
        )
        if not rows:
            return 0  # sent already (by its task or the sweep)
        events = [
            provider_status_event(
                provider="simulator",
                params=row.params,
                source=EventSource.SIMULATOR,
                call_public_id=row.call_public_id,
            )
            for row in rows
        ]
        results = call_events_apply(events)
        done = []
        for row, result in zip(rows, results, strict=True):
            if isinstance(result, NotFound):
                log.info("simulator event for a call that no longer exists: %s", row.call_public_id)
            elif isinstance(result, Exception):
                log.warning(
                    "simulator event %s of %s failed (%s); the sweep retries it",
                    row.pk,
                    row.call_public_id,
                    result,
                )
                continue
            done.append(row.pk)
        SimulatorEvent.objects.filter(pk__in=done).delete()
    return sum(1 for result in results if not isinstance(result, Exception) and result.applied)


def simulator_sweep(*, now: datetime | None = None) -> int:
    """Send the overdue events and re-drive the lost synthetic recordings; returns how much it did."""
    now = now or timezone.now()
    overdue = list(
        SimulatorEvent.objects.filter(due_at__lte=now - timedelta(seconds=OVERDUE_SECONDS))
        .order_by("due_at")
        .values_list("pk", flat=True)[:SWEEP_BATCH]
    )
    if overdue:
        log.info("the simulator sweep sends %d overdue events", len(overdue))
        simulator_events_deliver(overdue)
    return len(overdue) + simulated_recordings_redrive(now=now)


def simulated_recordings_redrive(*, now: datetime) -> int:
    """Send `recordings.simulate` again for recorded simulated calls that ended without their recording,
    or whose recording is still being written long after (the task died midway; a re-run makes it anew)."""
    ended = Call.objects.filter(
        provider="simulator",
        record=True,
        status=CallStatus.COMPLETED,
        answered_at__isnull=False,
        ended_at__lte=now - timedelta(seconds=RECORDING_OVERDUE_SECONDS),
        ended_at__gte=now - RECORDING_REDRIVE_WINDOW,
        # Bounds the scan by the indexed creation time (this runs every 2 s): a call ends at most its longest
        # max_duration (4 h) plus its ringing after it was created.
        created_at__gte=now - RECORDING_REDRIVE_WINDOW - LONGEST_CALL,
    )
    stuck = Recording.objects.filter(
        status=RecordingStatus.RECORDING, created_at__lte=now - timedelta(seconds=RECORDING_STUCK_SECONDS)
    ).values("call_id")
    missing = ended.filter(recording__isnull=True) | ended.filter(pk__in=stuck)
    count = 0
    for call_id, answered_at, ended_at in missing.values_list("pk", "answered_at", "ended_at")[:SWEEP_BATCH]:
        talk_seconds = (ended_at - answered_at).total_seconds()
        if talk_seconds > 0:
            log.info("re-making the lost recording of simulated call %s", call_id)
            count += task_send_or_leave_to_sweep(
                "recordings.simulate", {"call_id": call_id, "talk_seconds": talk_seconds}
            )
    return count
