"""A call's timeline as the call page shows it: which ignored events were expected, and which were surprises.

Carriers repeat themselves: Twilio sends `initiated` for a call we already hold as initiating, retries a
callback it thinks was lost, and delivers callbacks out of order; our own hang-up ends a call before the
carrier's `completed` arrives. The lifecycle (calls/lifecycle.py) keeps every such event and says why it
ignored it. Those the product expects are shown quietly, greyed, as "already known"; only the others (a
status the lifecycle does not allow, an event without a status, an ending that contradicts the call's)
are shown as problems. The reasons are the lifecycle's own words (docs/calls.md lists them)."""

from dataclasses import dataclass
from enum import StrEnum

from calls.models import CallEvent, CallStatus


class EventResult(StrEnum):
    APPLIED = "applied"  # the event moved the call
    KNOWN = "known"  # ignored, as expected: a repeat, or news the call had already gone past
    SURPRISE = "surprise"  # ignored, and worth a look
    SUPERVISOR = "supervisor"  # a supervisor listened, whispered, barged in or took over (live/listen.py)


@dataclass(frozen=True)
class TimelineEntry:
    event: CallEvent
    result: EventResult
    note: str  # what the page says in the result column
    detail: str = ""  # the lifecycle's reason, for those who want it

    @property
    def quiet(self) -> bool:
        return self.result == EventResult.KNOWN


ALREADY_ENDED = "the call had already ended ("


def event_entry(event: CallEvent) -> TimelineEntry:
    """How the timeline shows `event`."""
    if event.source == "supervisor":  # not a status: who joined the call, and how
        return TimelineEntry(event, EventResult.SUPERVISOR, str((event.payload or {}).get("note", "")))
    if event.applied:
        return TimelineEntry(event, EventResult.APPLIED, "applied")
    reason = event.ignored_reason
    if reason.startswith("duplicate:"):
        return TimelineEntry(event, EventResult.KNOWN, "already known", reason)
    if reason.startswith(("late:", "out of order:")):
        return TimelineEntry(event, EventResult.KNOWN, "already known: the call had moved on", reason)
    if reason.startswith(ALREADY_ENDED):
        ended_as = reason[len(ALREADY_ENDED) :].rstrip(")")
        if not event.status or event.status == ended_as or event.status not in CallStatus.terminal():
            return TimelineEntry(event, EventResult.KNOWN, "already known: the call had ended", reason)
        return TimelineEntry(
            event, EventResult.SURPRISE, f"ignored: {event.status} arrived after the call ended {ended_as}"
        )
    return TimelineEntry(event, EventResult.SURPRISE, f"ignored: {reason or 'no reason recorded'}")


def call_timeline(events: list[CallEvent]) -> list[TimelineEntry]:
    return [event_entry(event) for event in events]
