"""Sending the simulated carrier's status events on time, and re-driving what a lost task would have done.

Each event is a SimulatorEvent row, written when the call is placed: the rows are the truth, and tasks
only say when to look. Time is cut into buckets of BUCKET_SECONDS; one `telephony.simulator_deliver_due`
task, at the end of a bucket, applies every stored event due by then, in due order (so a call's events are
applied in their order whichever task takes them). A bucket's task is sent when the first event falls due
in it: at placing for the events due within NEAR_SECONDS, and by the sweep (every 2 s) for later ones as
they come near. So the broker carries a few messages a second however many calls are placed, not one per
event. A process sends each bucket's task once (another process may send it too: the second finds nothing).

Should a task be lost (the worker killed while holding it, the broker restarted without it), the sweep
sends the events that are overdue, and makes the synthetic recording of a recorded call that ended without
one. Either way an event is applied and its row deleted in one transaction, so it is applied once (a
duplicate would be a no-op in the lifecycle anyway)."""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

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
# Events are sent at most this late (the end of their bucket); the lifecycle reads the times they carry.
BUCKET_SECONDS = 0.25
# Events due within this of now get their bucket's task at once (at placing, and from each sweep); later
# ones wait for a sweep to find them this near. More than the sweep's period (2 s) with room for a late
# sweep, and more than a whole call at SIMULATOR_SPEED 1 (about 11 s), which then needs no sweep at all.
NEAR_SECONDS = 15
# A bucket ending sooner than this may see its task run before the commit that stored its events is
# visible: such a bucket's task is sent again rather than trusted to have been sent.
BUCKET_MARGIN_SECONDS = 0.05
DELIVER_BATCH = 500  # events applied in one transaction
DELIVER_ROUNDS = 10  # transactions one task may run: what is left waits for the next task or the sweep
# A recorded simulated call that ended this long ago without its recording (or with one still being
# written) lost its recording task: the sweep sends it again. Making one takes well under a second.
RECORDING_OVERDUE_SECONDS = 15
RECORDING_STUCK_SECONDS = 30
RECORDING_REDRIVE_WINDOW = timedelta(days=1)
LONGEST_CALL = timedelta(hours=5)


class _BucketsSent:
    """The buckets whose task this process has sent and which have not ended yet (threads share it)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._buckets: set[int] = set()

    def claim(self, bucket: int, *, wall_clock: float) -> bool:
        """True when this process has not sent `bucket`'s task yet (it now counts as sent)."""
        with self._lock:
            self._buckets = {sent for sent in self._buckets if sent * BUCKET_SECONDS > wall_clock}  # ended
            if bucket in self._buckets:
                return False
            self._buckets.add(bucket)
            return True

    def forget(self, bucket: int) -> None:
        with self._lock:
            self._buckets.discard(bucket)


_buckets_sent = _BucketsSent()


def simulator_events_schedule(due: Iterable[datetime]) -> int:
    """Make sure a task will deliver events due at these instants: one per bucket they fall in, at its end,
    for those due within NEAR_SECONDS (the sweep takes the later ones). A bucket's task this process has
    sent already is not sent again. Returns how many tasks it sent; the broker down, it stops (the sweep
    sends the events once they are overdue)."""
    wall_clock = time.time()
    buckets = sorted({math.ceil(moment.timestamp() / BUCKET_SECONDS) for moment in due})
    sent = 0
    for bucket in buckets:
        ends_in = bucket * BUCKET_SECONDS - wall_clock
        if ends_in > NEAR_SECONDS:
            break
        trusted = ends_in > BUCKET_MARGIN_SECONDS  # its task, if sent, runs after this commit
        if trusted and not _buckets_sent.claim(bucket, wall_clock=wall_clock):
            continue
        until = datetime.fromtimestamp(bucket * BUCKET_SECONDS, tz=UTC).isoformat()
        if not task_send_or_leave_to_sweep(
            "telephony.simulator_deliver_due", {"until": until}, countdown=max(0.0, ends_in)
        ):
            _buckets_sent.forget(bucket)
            break
        sent += 1
    return sent


def simulator_events_deliver_due(*, until: datetime) -> int:
    """Apply every stored event due by `until`, in due order, DELIVER_BATCH per transaction; returns how
    many were applied."""
    applied = 0
    for _round in range(DELIVER_ROUNDS):
        due = list(
            SimulatorEvent.objects.filter(due_at__lte=until)
            .order_by("due_at", "pk")
            .values_list("pk", flat=True)[:DELIVER_BATCH]
        )
        if not due:
            break
        applied += simulator_events_deliver(due)
        if len(due) < DELIVER_BATCH:
            break
    return applied


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
    simulator_events_coming_schedule()
    return len(overdue) + simulated_recordings_redrive(now=now)


def simulator_events_coming_schedule() -> int:
    """The tasks of the events that have come within NEAR_SECONDS since they were stored (placed further
    ahead, or their placing's sends lost); this process sends no bucket's task twice."""
    wall_now = timezone.now()
    coming = SimulatorEvent.objects.filter(
        due_at__gt=wall_now, due_at__lte=wall_now + timedelta(seconds=NEAR_SECONDS)
    )
    return simulator_events_schedule(coming.values_list("due_at", flat=True).distinct())


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
