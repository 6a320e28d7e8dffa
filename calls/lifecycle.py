"""The call lifecycle: the only code that writes `Call.status`.

    initiating → ringing → in_progress → completed
    initiating | ringing → failed | no_answer;  in_progress → failed (watchdog, provider error)

Every event, from a provider callback, the simulator, the media stream, an operator's hang-up, the
max_duration enforcer or the stale-call watchdog, goes through `call_events_apply`: under a row lock, in
one transaction, it stores a CallEvent (applied, or ignored with the reason) and, when applied, moves the
call and announces it after commit. Terminal states are final; an event older than the last applied one
(by the provider's sequence number, or by the order of states) is stored as ignored and changes nothing.
Forward jumps are allowed, so a call whose `ringing` callback was lost still lands where it should."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from calls.announce import calls_changed_on_commit, calls_ended_on_commit
from calls.lifecycle_sql import calls_lock, calls_write
from calls.models import Call, CallEvent, CallStatus, EndReason
from calls.providers import provider_for
from calls.serializers import call_object
from wordcab_admin.kernel.audit import audit_record
from wordcab_admin.kernel.errors import DomainError, InvalidState, NotFound
from wordcab_admin.kernel.tasks import task_send_or_leave_to_sweep

log = logging.getLogger(__name__)

_TERMINAL = CallStatus.terminal()
RANK = {
    CallStatus.INITIATING: 0,
    CallStatus.RINGING: 1,
    CallStatus.IN_PROGRESS: 2,
    CallStatus.COMPLETED: 3,
    CallStatus.FAILED: 3,
    CallStatus.NO_ANSWER: 3,
}
ALLOWED: dict[str, frozenset[str]] = {
    CallStatus.INITIATING: frozenset({CallStatus.RINGING, CallStatus.IN_PROGRESS, *_TERMINAL}),
    CallStatus.RINGING: frozenset({CallStatus.IN_PROGRESS, *_TERMINAL}),
    CallStatus.IN_PROGRESS: frozenset({CallStatus.COMPLETED, CallStatus.FAILED}),
}
TIME_LIMIT_SLACK = 2  # seconds
DEFAULT_END_REASON = {
    CallStatus.COMPLETED: EndReason.HANGUP,
    CallStatus.NO_ANSWER: EndReason.NO_ANSWER,
    CallStatus.FAILED: EndReason.ERROR,
}


class EventSource:
    """Who reported an event (CallEvent.source)."""

    TWILIO = "twilio"
    SIMULATOR = "simulator"
    MEDIA_STREAM = "media_stream"
    API = "api"
    OPERATOR = "operator"
    PROVIDER = "provider"
    MAX_DURATION = "max_duration"
    WATCHDOG = "watchdog"


@dataclass(frozen=True)
class CallError:
    code: str
    message: str


def _ignored_because(
    call: Call,
    status: str | None,
    sequence: int | None,
    event_id: str,
    source: str,
    applied_before: set[tuple[int, str]],
) -> str:
    if call.status in _TERMINAL:
        return f"the call had already ended ({call.status})"
    if status is None:
        return "no status in the event"
    if sequence is not None and sequence <= call.last_sequence:
        if sequence == call.last_sequence:
            return f"duplicate: sequence {sequence} was already applied"
        return f"out of order: sequence {sequence} arrived after {call.last_sequence}"
    if sequence is None and event_id and (call.pk, event_id) in applied_before:
        return f"duplicate: event {event_id} was already applied"
    if status == call.status:
        return f"duplicate: the call is already {status}"
    if status not in ALLOWED.get(call.status, ()):
        if RANK[status] < RANK[call.status]:
            return f"late: {status} arrived after {call.status}"
        return f"not allowed: {call.status} → {status}"
    return ""


@dataclass(frozen=True)
class EventIn:
    """One event of a call as it is reported, before it is recorded. The call is named by `call_id` (its
    primary key), `public_id` or `provider` + `provider_call_id`. `occurred_at` is when the provider says it
    happened (default: now); `talk_seconds` (a provider's reported duration) lets a `completed` that arrives
    before `in_progress` still set `answered_at`; `hangup_provider=True` asks the provider, after commit, to
    drop the line."""

    status: str | None
    source: str = EventSource.PROVIDER
    call_id: int | None = None
    public_id: str | None = None
    provider: str | None = None
    provider_call_id: str | None = None
    provider_status: str = ""
    sequence: int | None = None
    event_id: str = ""
    payload: dict[str, Any] | None = None
    occurred_at: datetime | None = None
    end_reason: str = ""
    error: CallError | None = None
    sip_response_code: int | None = None
    talk_seconds: float | None = None
    hangup_provider: bool = False

    @property
    def call_key(self) -> tuple:
        if self.call_id is not None:
            return ("pk", self.call_id)
        if self.public_id:
            return ("id", self.public_id)
        return ("provider", self.provider, self.provider_call_id)

    @property
    def call_ref(self) -> str | None:
        if self.call_id is not None or self.public_id:
            return self.public_id or str(self.call_id)
        return f"{self.provider}:{self.provider_call_id}" if self.provider and self.provider_call_id else None


def call_events_apply(events: list[EventIn]) -> list[CallEvent | DomainError]:
    """The one entry point that applies events of calls: provider webhooks, the simulator, the media
    stream and the transitions below all come through here, one event or a batch.

    A batch is applied in one transaction, in the order given: each call is locked once (all in
    primary-key order, so concurrent batches cannot deadlock), each event is judged and applied on its own
    merits, then the events are inserted together and each call is written once, and one commit covers
    them all. Under load this turns N commits into one (group commit).

    Returns, per event, its stored CallEvent or the DomainError it earned (an unknown call: 404). If the
    batch fails as a whole, each event is retried on its own, so one bad event fails alone."""
    try:
        with transaction.atomic():
            calls = calls_lock(events)
            recorder = _Recorder(applied_before=_applied_event_ids(events, calls))
            results: list[CallEvent | DomainError] = []
            for incoming in events:
                call = calls.get(incoming.call_key)
                if call is None:
                    results.append(NotFound(f"No call {incoming.call_ref}", code="call_not_found"))
                else:
                    results.append(recorder.record(call, incoming))
            recorder.write()
        return results
    except Exception:
        if len(events) == 1:
            raise
        log.exception("a batch of %d call events failed; applying them one at a time", len(events))
        return [_apply_alone(incoming) for incoming in events]


def _applied_event_ids(events: list[EventIn], calls: dict[tuple, Call]) -> set[tuple[int, str]]:
    """(call pk, event id) of the events already applied among those the batch may repeat: the ones
    known by their event id alone (no sequence number, e.g. a media stream's start). One query for the
    batch, none when no event needs it, rather than one per event."""
    wanted = {
        (call.pk, incoming.event_id)
        for incoming in events
        if incoming.sequence is None
        and incoming.event_id
        and (call := calls.get(incoming.call_key)) is not None
    }
    if not wanted:
        return set()
    stored = CallEvent.objects.filter(
        call_id__in={pk for pk, _ in wanted},
        provider_event_id__in={event_id for _, event_id in wanted},
        applied=True,
    ).values_list("call_id", "provider_event_id")
    return set(stored) & wanted


def _apply_one(incoming: EventIn) -> CallEvent:
    """One event now: its stored CallEvent, or its error (an unknown call: 404) raised."""
    result = call_events_apply([incoming])[0]
    if isinstance(result, Exception):
        raise result
    return result


def _apply_alone(incoming: EventIn) -> CallEvent | DomainError | Exception:
    try:
        return call_events_apply([incoming])[0]
    except Exception as exc:  # noqa: BLE001 -- handed back as this event's result
        return exc


class _Recorder:
    """Judges and applies events to locked calls in memory, then writes them: the events in one insert,
    each changed call in one update, the live snapshots (one per applied transition, in order) announced
    after commit. The only place that moves a call."""

    def __init__(self, *, applied_before: set[tuple[int, str]]) -> None:
        self.now = timezone.now()
        self.applied_before = applied_before  # (call pk, event id) applied by earlier batches
        self.events: list[CallEvent] = []
        self.changed: dict[int, Call] = {}
        self.snapshots: list[dict] = []
        self.campaign_ids: set[int] = set()
        self.ended_campaign_ids: set[int] = set()  # campaigns one of whose calls ended here
        self.applied_event_ids: set[tuple[int, str]] = set()

    def record(self, call: Call, incoming: EventIn) -> CallEvent:
        reason = _ignored_because(
            call,
            incoming.status,
            incoming.sequence,
            incoming.event_id,
            incoming.source,
            self.applied_before,
        )
        if not reason and incoming.event_id and (call.pk, incoming.event_id) in self.applied_event_ids:
            reason = f"duplicate: event {incoming.event_id} was already applied"
        event = CallEvent(
            call_id=call.pk,
            status=incoming.status or "",
            provider_status=incoming.provider_status[:32],
            provider_event_id=incoming.event_id[:128],
            sequence=incoming.sequence,
            source=incoming.source,
            payload=incoming.payload or {},
            applied=not reason,
            ignored_reason=reason[:200],
        )
        self.events.append(event)
        call.last_event_at = call.updated_at = self.now
        _adopt_provider_call_id(call, incoming)
        if not reason:
            _move(
                call,
                incoming.status,
                at=incoming.occurred_at or self.now,
                sequence=incoming.sequence,
                end_reason=incoming.end_reason,
                error=incoming.error,
                sip_response_code=incoming.sip_response_code,
                talk_seconds=incoming.talk_seconds,
            )
            if incoming.event_id:
                self.applied_event_ids.add((call.pk, incoming.event_id))
            self.snapshots.append(call_object(call))
            if call.campaign_id:
                self.campaign_ids.add(call.campaign_id)
                if call.status in _TERMINAL:
                    self.ended_campaign_ids.add(call.campaign_id)
            _after_transition(call, hangup_provider=incoming.hangup_provider)
        self.changed[call.pk] = call
        return event

    def write(self) -> None:
        if len(self.events) == 1:
            self.events[0].save()
        else:
            CallEvent.objects.bulk_create(self.events)
        if self.changed:
            calls_write(list(self.changed.values()))
        if self.ended_campaign_ids:  # announced first: the campaign's live counts then show it finished
            calls_ended_on_commit(self.ended_campaign_ids)
        if self.snapshots:
            calls_changed_on_commit(self.snapshots, self.campaign_ids)


def _adopt_provider_call_id(call: Call, incoming: EventIn) -> None:
    """A provider's event names its call by our id and its own: when the process that placed the call
    died before storing the provider's id, the first event stores it, and the call is no longer to place."""
    awaiting_placing = call.place_due_at is not None and call.provider_call_id is None
    if awaiting_placing and incoming.provider_call_id and incoming.provider == call.provider:
        call.provider_call_id = incoming.provider_call_id[:64]
        call.place_due_at = None


def _move(
    call: Call,
    status: str,
    *,
    at: datetime,
    sequence: int | None,
    end_reason: str,
    error: CallError | None,
    sip_response_code: int | None,
    talk_seconds: float | None,
) -> None:
    call.status = status
    if sequence is not None:
        call.last_sequence = max(call.last_sequence, sequence)
    if sip_response_code is not None:
        call.sip_response_code = sip_response_code
    if status == CallStatus.IN_PROGRESS and call.answered_at is None:
        call.answered_at = at
    if status in _TERMINAL:
        call.place_due_at = None
        call.ended_at = max(at, call.answered_at) if call.answered_at else at
        call.end_reason = end_reason or DEFAULT_END_REASON[status]
        if status == CallStatus.COMPLETED and call.answered_at is None and talk_seconds is not None:
            call.answered_at = call.ended_at - timedelta(seconds=max(0, talk_seconds))
        if status == CallStatus.COMPLETED and call.end_reason == EndReason.HANGUP:
            call.end_reason = _hangup_or_time_limit(call, talk_seconds)
        if status == CallStatus.FAILED:
            error = error or CallError("call_failed", "The call failed.")
        if error is not None:
            call.error_code, call.error_message = error.code[:64], error.message[:500]


def _hangup_or_time_limit(call: Call, talk_seconds: float | None) -> str:
    """A provider that enforces max_duration itself (Twilio's `time_limit`, the simulator) reports an
    ordinary `completed` when the limit ends the call: a talk that reached max_duration ended by it."""
    if talk_seconds is None and call.answered_at is not None:
        talk_seconds = (call.ended_at - call.answered_at).total_seconds()
    # At the limit, give or take Twilio's whole-second rounding; a call that ran on well past it was not
    # ended by it (the limit missed, then someone hung up).
    if talk_seconds is not None and call.max_duration <= talk_seconds < call.max_duration + TIME_LIMIT_SLACK:
        return EndReason.MAX_DURATION
    return EndReason.HANGUP


def _after_transition(call: Call, *, hangup_provider: bool) -> None:
    """Side effects of an applied transition, all sent after commit."""
    # max_duration needs no timer per call here: Twilio ends the call itself (`time_limit`), and
    # `calls.max_duration_sweep` runs every 5 s. (A countdown task per answered call cost a broker
    # round trip on every answer, and Celery holds such tasks in worker memory until they are due, or
    # redelivers them once they outlast the broker's visibility timeout.)
    pk = call.pk
    if call.status in _TERMINAL:
        if hangup_provider and call.provider_call_id:
            # With the broker down this hang-up is skipped (logged), not raised into a committed request:
            # providers end our calls by themselves at max_duration (Twilio's `time_limit`).
            transaction.on_commit(
                lambda: task_send_or_leave_to_sweep("calls.provider_hangup", {"call_id": pk})
            )
        provider_for(call.provider).call_ended(call)


# --- Entry points for the other parts of the system ------------------------------------------------


def call_hangup(*, call: Call, actor: Any = None) -> Call:
    """An operator or API client hangs up: an answered call completes (`end_reason=hangup`); one not yet
    answered is cancelled (`failed`, `end_reason=canceled`). The provider drops the line after commit.
    A call that has already ended is a 409 `invalid_state`."""
    who = getattr(actor, "username", "") or "the API"
    with transaction.atomic():
        locked = Call.objects.select_for_update().get(pk=call.pk)
        if locked.status in _TERMINAL:
            raise InvalidState(f"Call {locked.public_id} has already ended ({locked.status}).")
        if locked.status == CallStatus.IN_PROGRESS:
            status, end_reason, error = CallStatus.COMPLETED, EndReason.HANGUP, None
        else:
            status, end_reason = CallStatus.FAILED, EndReason.CANCELED
            error = CallError("canceled", f"Cancelled by {who} before it was answered.")
        event = _apply_one(
            EventIn(
                call_id=locked.pk,
                status=status,
                source=EventSource.OPERATOR,
                end_reason=end_reason,
                error=error,
                payload={"requested_by": who},
                hangup_provider=True,
            )
        )
        audit_record(
            actor=actor, action="call.hung_up", object_type="call", object_id=locked.public_id,
            before={"status": locked.status}, after={"status": status, "end_reason": end_reason},
        )  # fmt: skip
    return event.call


def call_place_failed(*, call_id: int, code: str, message: str) -> CallEvent:
    """The provider refused to place the call, or stayed unreachable through every retry."""
    return _apply_one(
        EventIn(
            call_id=call_id,
            status=CallStatus.FAILED,
            source=EventSource.PROVIDER,
            end_reason=EndReason.ERROR,
            error=CallError(code, message),
            payload={"code": code, "message": message},
        )
    )


def call_stream_started(
    *, public_id: str, stream_sid: str = "", occurred_at: datetime | None = None
) -> CallEvent:
    """The media stream of the call started: the callee is talking to the agent (→ in_progress)."""
    return _apply_one(
        stream_started_event(public_id=public_id, stream_sid=stream_sid, occurred_at=occurred_at)
    )


def stream_started_event(
    *, public_id: str, stream_sid: str = "", occurred_at: datetime | None = None
) -> EventIn:
    """call_stream_started's event, for streams that start together: their events are applied in one
    call_events_apply (one lock, one insert, one write for the batch)."""
    return _stream_event(public_id, stream_sid, "start", CallStatus.IN_PROGRESS, occurred_at=occurred_at)


def _stream_event(
    public_id: str,
    stream_sid: str,
    what: str,
    status: str,
    *,
    occurred_at: datetime | None,
    end_reason: str = "",
) -> EventIn:
    """A media stream's start or stop, known by the stream's id (so a repeated one is a duplicate)."""
    return EventIn(
        public_id=public_id,
        status=status,
        source=EventSource.MEDIA_STREAM,
        provider_status=f"stream-{what}",
        event_id=f"stream-{what}:{stream_sid}" if stream_sid else "",
        payload={"stream_sid": stream_sid},
        end_reason=end_reason,
        occurred_at=occurred_at,
    )


def call_stream_stopped(
    *, public_id: str, stream_sid: str = "", occurred_at: datetime | None = None
) -> CallEvent:
    """The media stream of the call stopped: the call is over (→ completed, end_reason=hangup)."""
    stopped = _stream_event(
        public_id,
        stream_sid,
        "stop",
        CallStatus.COMPLETED,
        occurred_at=occurred_at,
        end_reason=EndReason.HANGUP,
    )
    return _apply_one(stopped)


# How long past a call's max_duration we wait for the end reported by a provider that enforces the limit
# itself, before deciding its news is lost (Twilio's callbacks come within seconds; it retries failed ones).
PROVIDER_NEWS_GRACE_SECONDS = 20


def call_max_duration_enforce(*, call_id: int, now: datetime | None = None) -> bool:
    """A call still in progress past its max_duration. Where we enforce the limit, hang it up (→
    completed, end_reason=max_duration, ended at the limit). Where the provider enforces it and reports the
    end itself, the call has lost its provider's news once PROVIDER_NEWS_GRACE_SECONDS have passed too:
    it is closed as failed with end_reason=lost, its talk time left unknown rather than made up."""
    now = now or timezone.now()
    with transaction.atomic():
        try:
            call = Call.objects.select_for_update().get(pk=call_id)
        except Call.DoesNotExist:
            return False
        if call.status != CallStatus.IN_PROGRESS or call.answered_at is None:
            return False
        limit = call.answered_at + timedelta(seconds=call.max_duration)
        provider = provider_for(call.provider)
        provider_ends_it = provider.enforces_time_limit(call)
        if now < limit + timedelta(seconds=PROVIDER_NEWS_GRACE_SECONDS if provider_ends_it else 0):
            return False
        if provider_ends_it and provider.news_pending(call):
            return False  # late (its sweep delivers it), not lost
        event = _apply_one(
            _provider_news_lost(call, limit) if provider_ends_it else _time_limit_hangup(call, limit)
        )
    return event.applied


def _time_limit_hangup(call: Call, limit: datetime) -> EventIn:
    return EventIn(
        call_id=call.pk,
        status=CallStatus.COMPLETED,
        source=EventSource.MAX_DURATION,
        end_reason=EndReason.MAX_DURATION,
        occurred_at=limit,
        payload={"max_duration": call.max_duration},
        hangup_provider=True,
    )


def _provider_news_lost(call: Call, limit: datetime) -> EventIn:
    heard = call.last_event_at or call.answered_at
    return EventIn(
        call_id=call.pk,
        status=CallStatus.FAILED,
        source=EventSource.MAX_DURATION,
        end_reason=EndReason.LOST,
        error=CallError(
            "provider_lost",
            f"The provider ends this call at its max_duration ({call.max_duration} s, by "
            f"{limit:%H:%M:%S} UTC) but never reported its end (last heard {heard:%H:%M:%S} UTC); "
            "closed without it, talk time unknown.",
        ),
        payload={"max_duration": call.max_duration, "last_heard_at": heard.isoformat()},
        hangup_provider=True,
    )


def calls_max_duration_sweep(*, now: datetime | None = None) -> int:
    """Enforce max_duration on every call past it; returns how many were closed."""
    now = now or timezone.now()
    candidates = Call.objects.filter(status=CallStatus.IN_PROGRESS, answered_at__isnull=False).values_list(
        "pk", "answered_at", "max_duration"
    )
    due = [pk for pk, answered, limit in candidates if answered + timedelta(seconds=limit) <= now]
    return sum(call_max_duration_enforce(call_id=pk, now=now) for pk in due)


def calls_stale_sweep(*, now: datetime | None = None) -> int:
    """The watchdog: fail calls nothing has been heard of for settings.CALL_STALE_AFTER_SECONDS
    (`error.code=stale`). A call in progress is stale only once that time has passed beyond its
    max_duration, since an answered call is silent until it ends."""
    now = now or timezone.now()
    stale_after = timedelta(seconds=settings.CALL_STALE_AFTER_SECONDS)
    candidates = Call.objects.filter(status__in=CallStatus.active()).values_list(
        "pk", "status", "created_at", "last_event_at", "answered_at", "max_duration"
    )
    due = [row[0] for row in candidates if _is_stale(*row[1:], now=now, stale_after=stale_after)]
    failed = 0
    for pk in due:
        with transaction.atomic():
            call = Call.objects.select_for_update().get(pk=pk)
            if not _is_stale(
                call.status,
                call.created_at,
                call.last_event_at,
                call.answered_at,
                call.max_duration,
                now=now,
                stale_after=stale_after,
            ):
                continue  # an event arrived meanwhile
            heard = call.last_event_at or call.created_at
            event = _apply_one(
                EventIn(
                    call_id=call.pk,
                    status=CallStatus.FAILED,
                    source=EventSource.WATCHDOG,
                    end_reason=EndReason.ERROR,
                    error=CallError(
                        "stale", f"No event from the provider since {heard:%Y-%m-%d %H:%M:%S} UTC; given up."
                    ),
                    payload={"stale_after_seconds": settings.CALL_STALE_AFTER_SECONDS},
                    hangup_provider=True,
                )
            )
            failed += event.applied
    return failed


def _is_stale(
    status: str,
    created_at: datetime,
    last_event_at: datetime | None,
    answered_at: datetime | None,
    max_duration: int,
    *,
    now: datetime,
    stale_after: timedelta,
) -> bool:
    if status not in CallStatus.active():
        return False
    heard = last_event_at or created_at
    if status == CallStatus.IN_PROGRESS and answered_at is not None:
        heard = max(heard, answered_at + timedelta(seconds=max_duration))
    return heard + stale_after <= now
