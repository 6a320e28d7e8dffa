"""The simulator provider: a realistic call lifecycle without a carrier.

The callee's last four digits choose the outcome (docs/contract.md, "The simulator provider"). Its status
events are Twilio-shaped parameter sets, stored as rows (SimulatorEvent) when the call is placed, due after
ring and talk times with jitter scaled by SIMULATOR_SPEED, and sent when due by a task per bucket of time,
or by the sweep when a task was lost (delivery.py); they are applied through
`telephony.twilio.status.provider_status_event`, the very code that handles Twilio's callbacks.
Out-of-order and duplicate delivery, when asked for (settings.SIMULATOR_DISORDER or the call's context
`{"simulator": {"out_of_order": true, "duplicates": true}}`), exercise the lifecycle's ordering rules end
to end."""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from calls.models import Call, CallStatus, Direction
from calls.providers import TelephonyProvider
from telephony.models import SimulatorDial, SimulatorEvent
from telephony.simulator.delivery import simulator_events_schedule
from wordcab_admin.kernel.tasks import task_send_or_leave_to_sweep


class Outcome:
    COMPLETED = "completed"
    NO_ANSWER = "no_answer"
    BUSY = "busy"
    FAILED = "failed"
    VOICEMAIL = "voicemail"


def simulator_outcome(number: str) -> str:
    last_four = "".join(ch for ch in number if ch.isdigit())[-4:]
    if "0150" <= last_four <= "0159":
        return Outcome.NO_ANSWER
    if "0160" <= last_four <= "0169":
        return Outcome.BUSY
    if "0170" <= last_four <= "0179":
        return Outcome.FAILED
    if "0180" <= last_four <= "0189":
        return Outcome.VOICEMAIL
    return Outcome.COMPLETED


@dataclass(frozen=True)
class PlannedEvent:
    delay: float  # seconds after the call is placed
    params: dict[str, str]


def _milliseconds(moment: datetime) -> datetime:
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def simulator_timeline(
    *,
    call_sid: str,
    to_number: str,
    from_number: str,
    start: datetime,
    speed: float,
    rng: random.Random,
    max_duration: float | None = None,
) -> list[PlannedEvent]:
    """The status events of one simulated call, in order, with Twilio's parameter names. Like Twilio's
    `time_limit`, the simulated carrier ends the talk at `max_duration` seconds.

    Timestamps are ISO 8601 to the millisecond (a sped-up call lasts less than a second) and CallDuration
    is exactly their difference, so a `completed` delivered before `in-progress` yields the same answered_at."""
    outcome = simulator_outcome(to_number)
    setup = rng.uniform(0.2, 0.6) / speed
    ring = rng.uniform(2.0, 4.0) / speed
    talk = rng.uniform(3.0, 6.0) / speed
    if max_duration is not None:
        talk = min(talk, max_duration)
    steps: list[tuple[float, dict[str, str]]] = [(setup / 2, {"CallStatus": "initiated"})]
    if outcome == Outcome.FAILED:
        steps.append((setup, {"CallStatus": "failed", "SipResponseCode": "603"}))
    elif outcome == Outcome.BUSY:
        steps.append((setup, {"CallStatus": "busy", "SipResponseCode": "486"}))
    else:
        steps.append((setup, {"CallStatus": "ringing"}))
        if outcome == Outcome.NO_ANSWER:
            steps.append((setup + ring * 2, {"CallStatus": "no-answer", "SipResponseCode": "487"}))
        elif outcome == Outcome.VOICEMAIL:
            machine = {"AnsweredBy": "machine_end_beep"}
            steps.append((setup + ring, {"CallStatus": "in-progress", **machine}))
            steps.append((setup + ring, {"CallStatus": "completed", **machine}))
        else:
            steps.append((setup + ring, {"CallStatus": "in-progress", "AnsweredBy": "human"}))
            steps.append((setup + ring + talk, {"CallStatus": "completed", "SipResponseCode": "200"}))
    events = []
    answered: datetime | None = None
    for sequence, (delay, params) in enumerate(steps):
        at = _milliseconds(start + timedelta(seconds=delay))
        if params["CallStatus"] == "in-progress":
            answered = at
        if params["CallStatus"] == "completed":
            answered = answered or at
            params["CallDuration"] = f"{(at - answered).total_seconds():.3f}"
        events.append(
            PlannedEvent(
                delay,
                {
                    "CallSid": call_sid,
                    "AccountSid": "ACsimulator",
                    "From": from_number,
                    "To": to_number,
                    "Direction": "outbound-api",
                    "ApiVersion": "2010-04-01",
                    "CallbackSource": "call-progress-events",
                    "SequenceNumber": str(sequence),
                    "Timestamp": at.isoformat(timespec="milliseconds"),
                    **params,
                },
            )
        )
    return events


def disorder(
    events: list[PlannedEvent], *, out_of_order: bool, duplicates: bool, rng: random.Random
) -> list[PlannedEvent]:
    """Deliver events out of order (their delivery times shuffled) and/or each one twice."""
    delivered = list(events)
    if out_of_order:
        delays = [event.delay for event in events]
        rng.shuffle(delays)
        delivered = [PlannedEvent(delay, event.params) for delay, event in zip(delays, events, strict=True)]
    if duplicates:
        delivered += [PlannedEvent(event.delay + rng.uniform(0, 0.5), event.params) for event in delivered]
    return delivered


def _disorder_wanted(call: Call) -> tuple[bool, bool]:
    asked = call.context.get("simulator") if isinstance(call.context, dict) else None
    asked = asked if isinstance(asked, dict) else {}
    default = settings.SIMULATOR_DISORDER
    return bool(asked.get("out_of_order", default)), bool(asked.get("duplicates", default))


def _call_events(call: Call, *, call_sid: str, start: datetime, rng: random.Random) -> list[PlannedEvent]:
    """The status events the simulated carrier will send for `call`, dialled at `start`, in delivery order."""
    events = simulator_timeline(
        call_sid=call_sid,
        to_number=call.to_number,
        from_number=call.from_number,
        start=start,
        speed=settings.SIMULATOR_SPEED,
        rng=rng,
        max_duration=call.max_duration,
    )
    out_of_order, duplicates = _disorder_wanted(call)
    return disorder(events, out_of_order=out_of_order, duplicates=duplicates, rng=rng)


class SimulatorProvider(TelephonyProvider):
    name = "simulator"
    label = "Simulator"
    order = 0
    dedupes_requests = True  # SimulatorDial: one row per request key, in the placing's transaction

    def place(self, call: Call) -> str:
        """Dial `call` once: a repeated request for it answers with the first dial's id (see place_many)."""
        return self.place_many([call])[call.pk]

    def place_many(self, calls: list[Call]) -> dict[int, str]:
        """Dial each call once, in bulk: a repeated request for a call (its public id is the request key)
        answers with the first dial's id and is counted. The new dials and their status events are stored
        as rows in the placing's transaction (nothing of them lives only in the broker), a few statements
        whatever the number of calls; their delivery is scheduled after commit (delivery.py)."""
        keys = [call.public_id for call in calls]
        dialled = dict(
            SimulatorDial.objects.filter(request_key__in=keys).values_list("request_key", "call_sid")
        )
        if dialled:
            SimulatorDial.objects.filter(request_key__in=dialled).update(requests=F("requests") + 1)
        new = [call for call in calls if call.public_id not in dialled]
        dials = [
            SimulatorDial(
                request_key=call.public_id, call_sid="SIM" + uuid.uuid4().hex, to_number=call.to_number
            )
            for call in new
        ]
        SimulatorDial.objects.bulk_create(dials)
        start = timezone.now()
        rng = random.Random()  # noqa: S311 -- jitter, not security
        events = [
            SimulatorEvent(
                call_public_id=call.public_id,
                due_at=start + timedelta(seconds=event.delay),
                params=event.params,
            )
            for call, dial in zip(new, dials, strict=True)
            for event in _call_events(call, call_sid=dial.call_sid, start=start, rng=rng)
        ]
        SimulatorEvent.objects.bulk_create(events)
        due = [event.due_at for event in events]
        if due:
            transaction.on_commit(lambda: simulator_events_schedule(due))
        sids = dialled | {dial.request_key: dial.call_sid for dial in dials}
        return {call.pk: sids[call.public_id] for call in calls}

    def news_pending(self, call: Call) -> bool:
        return SimulatorEvent.objects.filter(call_public_id=call.public_id).exists()

    def enforces_time_limit(self, call: Call) -> bool:
        # The calls it places: their timeline ends the talk at max_duration, as Twilio's `time_limit` does.
        return call.direction == Direction.OUTBOUND

    def hangup(self, call: Call) -> None:
        """The simulated far end has no line to drop: its remaining scheduled events still arrive and
        the lifecycle stores them as ignored, since the call has ended."""
        return None

    def call_ended(self, call: Call) -> None:
        """A recorded simulated call that was talked on gets a synthetic WAV of its talk time."""
        if not (call.record and call.status == CallStatus.COMPLETED and call.answered_at and call.ended_at):
            return
        talk_seconds = (call.ended_at - call.answered_at).total_seconds()
        if talk_seconds <= 0:
            return
        kwargs = {"call_id": call.pk, "talk_seconds": talk_seconds}
        # Lost with the broker or the worker, it is sent again by the sweep (delivery.py).
        transaction.on_commit(lambda: task_send_or_leave_to_sweep("recordings.simulate", kwargs))


PROVIDER = SimulatorProvider()
