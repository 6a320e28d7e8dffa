"""The call lifecycle: the only code that writes `Call.status`.

    initiating → ringing → in_progress → completed
    initiating | ringing → failed | no_answer;  in_progress → failed (watchdog, provider error)

Every event, from a provider callback, the simulator, the media stream, an operator's hang-up, the
max_duration enforcer or the stale-call watchdog, goes through `call_event_apply`: under a row lock, in
one transaction, it stores a CallEvent (applied, or ignored with the reason) and, when applied, moves the
call and announces it after commit. Terminal states are final; an event older than the last applied one
(by the provider's sequence number, or by the order of states) is stored as ignored and changes nothing.
Forward jumps are allowed, so a call whose `ringing` callback was lost still lands where it should."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from celery import current_app
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from calls.events import publish_call_update_on_commit
from calls.models import Call, CallEvent, CallStatus, EndReason
from wordcab_admin.api.errors import InvalidState, NotFound

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


def _locked_call(
    *,
    call: Call | None,
    call_id: int | None,
    public_id: str | None,
    provider: str | None,
    provider_call_id: str | None,
) -> Call:
    # The call object is rendered after commit (live updates): load what it shows in the same query.
    calls = Call.objects.select_for_update(of=("self",)).select_related("agent", "campaign", "recording")
    try:
        if call is not None:
            return calls.get(pk=call.pk)
        if call_id is not None:
            return calls.get(pk=call_id)
        if public_id:
            return calls.get(public_id=public_id)
        if provider and provider_call_id:
            return calls.get(provider=provider, provider_call_id=provider_call_id)
    except Call.DoesNotExist:
        pass
    ref = public_id or call_id or (f"{provider}:{provider_call_id}" if provider_call_id else None)
    raise NotFound(f"No call {ref}", code="call_not_found")


def _ignored_because(call: Call, status: str | None, sequence: int | None, event_id: str, source: str) -> str:
    if call.status in _TERMINAL:
        return f"the call had already ended ({call.status})"
    if status is None:
        return "no status in the event"
    if sequence is not None and sequence <= call.last_sequence:
        if sequence == call.last_sequence:
            return f"duplicate: sequence {sequence} was already applied"
        return f"out of order: sequence {sequence} arrived after {call.last_sequence}"
    if (
        sequence is None
        and event_id
        and CallEvent.objects.filter(call=call, provider_event_id=event_id, applied=True).exists()
    ):
        return f"duplicate: event {event_id} was already applied"
    if status == call.status:
        return f"duplicate: the call is already {status}"
    if status not in ALLOWED.get(call.status, ()):
        if RANK[status] < RANK[call.status]:
            return f"late: {status} arrived after {call.status}"
        return f"not allowed: {call.status} → {status}"
    return ""


def call_event_apply(
    *,
    status: str | None,
    call: Call | None = None,
    call_id: int | None = None,
    public_id: str | None = None,
    provider: str | None = None,
    provider_call_id: str | None = None,
    provider_status: str = "",
    sequence: int | None = None,
    event_id: str = "",
    payload: dict[str, Any] | None = None,
    source: str = EventSource.PROVIDER,
    occurred_at: datetime | None = None,
    end_reason: str = "",
    error: CallError | None = None,
    sip_response_code: int | None = None,
    talk_seconds: float | None = None,
    hangup_provider: bool = False,
) -> CallEvent:
    """Record one event of a call and apply it if it moves the call forward. Returns the stored CallEvent.

    Identify the call by `call`, `call_id` (pk), `public_id` or `provider` + `provider_call_id`.
    `occurred_at` is when the provider says it happened (default: now); `talk_seconds` (a provider's
    reported duration) lets a `completed` that arrives before `in_progress` still set `answered_at`.
    `hangup_provider=True` asks the provider, after commit, to drop the line (we ended the call)."""
    with transaction.atomic():
        locked = _locked_call(
            call=call,
            call_id=call_id,
            public_id=public_id,
            provider=provider,
            provider_call_id=provider_call_id,
        )
        now = timezone.now()
        reason = _ignored_because(locked, status, sequence, event_id, source)
        event = CallEvent.objects.create(
            call=locked,
            status=status or "",
            provider_status=provider_status[:32],
            provider_event_id=event_id[:128],
            sequence=sequence,
            source=source,
            payload=payload or {},
            applied=not reason,
            ignored_reason=reason[:200],
        )
        fields = ["last_event_at", "updated_at"]
        locked.last_event_at = now
        if not reason:
            fields += _move(
                locked,
                status,
                at=occurred_at or now,
                sequence=sequence,
                end_reason=end_reason,
                error=error,
                sip_response_code=sip_response_code,
                talk_seconds=talk_seconds,
            )
        locked.save(update_fields=fields)
        if not reason:
            publish_call_update_on_commit(locked)
            _after_transition(locked, hangup_provider=hangup_provider)
        event.call = locked
    return event


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
) -> list[str]:
    fields = ["status"]
    call.status = status
    if sequence is not None:
        call.last_sequence = max(call.last_sequence, sequence)
        fields.append("last_sequence")
    if sip_response_code is not None:
        call.sip_response_code = sip_response_code
        fields.append("sip_response_code")
    if status == CallStatus.IN_PROGRESS and call.answered_at is None:
        call.answered_at = at
        fields.append("answered_at")
    if status in _TERMINAL:
        call.ended_at = max(at, call.answered_at) if call.answered_at else at
        call.end_reason = end_reason or DEFAULT_END_REASON[status]
        fields += ["ended_at", "end_reason"]
        if status == CallStatus.COMPLETED and call.answered_at is None and talk_seconds is not None:
            call.answered_at = call.ended_at - timedelta(seconds=max(0, talk_seconds))
            fields.append("answered_at")
        if status == CallStatus.FAILED:
            error = error or CallError("call_failed", "The call failed.")
        if error is not None:
            call.error_code, call.error_message = error.code[:64], error.message[:500]
            fields += ["error_code", "error_message"]
    return fields


def _after_transition(call: Call, *, hangup_provider: bool) -> None:
    """Side effects of an applied transition, all sent after commit."""
    pk = call.pk
    if call.status == CallStatus.IN_PROGRESS:
        # Enforce max_duration at the moment it is reached; the periodic sweep catches any missed one.
        countdown = call.max_duration
        transaction.on_commit(
            lambda: current_app.send_task(
                "calls.max_duration_enforce", kwargs={"call_id": pk}, countdown=countdown, ignore_result=True
            )
        )
    if call.status in _TERMINAL:
        from calls.providers import provider_for

        if hangup_provider and call.provider_call_id:
            transaction.on_commit(
                lambda: current_app.send_task(
                    "calls.provider_hangup", kwargs={"call_id": pk}, ignore_result=True
                )
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
        event = call_event_apply(
            call=locked,
            status=status,
            source=EventSource.OPERATOR,
            end_reason=end_reason,
            error=error,
            payload={"requested_by": who},
            hangup_provider=True,
        )
    return event.call


def call_place_failed(*, call_id: int, code: str, message: str) -> CallEvent:
    """The provider refused to place the call, or stayed unreachable through every retry."""
    return call_event_apply(
        call_id=call_id,
        status=CallStatus.FAILED,
        source=EventSource.PROVIDER,
        end_reason=EndReason.ERROR,
        error=CallError(code, message),
        payload={"code": code, "message": message},
    )


def call_stream_started(
    *, public_id: str, stream_sid: str = "", occurred_at: datetime | None = None
) -> CallEvent:
    """The media stream of the call started: the callee is talking to the agent (→ in_progress)."""
    return call_event_apply(
        public_id=public_id,
        status=CallStatus.IN_PROGRESS,
        source=EventSource.MEDIA_STREAM,
        provider_status="stream-start",
        event_id=f"stream-start:{stream_sid}" if stream_sid else "",
        payload={"stream_sid": stream_sid},
        occurred_at=occurred_at,
    )


def call_stream_stopped(
    *, public_id: str, stream_sid: str = "", occurred_at: datetime | None = None
) -> CallEvent:
    """The media stream of the call stopped: the call is over (→ completed, end_reason=hangup)."""
    return call_event_apply(
        public_id=public_id,
        status=CallStatus.COMPLETED,
        source=EventSource.MEDIA_STREAM,
        provider_status="stream-stop",
        event_id=f"stream-stop:{stream_sid}" if stream_sid else "",
        payload={"stream_sid": stream_sid},
        end_reason=EndReason.HANGUP,
        occurred_at=occurred_at,
    )


def call_max_duration_enforce(*, call_id: int, now: datetime | None = None) -> bool:
    """Hang up a call that is still in progress past its max_duration (→ completed, end_reason=max_duration)."""
    now = now or timezone.now()
    with transaction.atomic():
        try:
            call = Call.objects.select_for_update().get(pk=call_id)
        except Call.DoesNotExist:
            return False
        if call.status != CallStatus.IN_PROGRESS or call.answered_at is None:
            return False
        limit = call.answered_at + timedelta(seconds=call.max_duration)
        if now < limit:
            return False
        event = call_event_apply(
            call=call,
            status=CallStatus.COMPLETED,
            source=EventSource.MAX_DURATION,
            end_reason=EndReason.MAX_DURATION,
            occurred_at=limit,
            payload={"max_duration": call.max_duration},
            hangup_provider=True,
        )
    return event.applied


def calls_max_duration_sweep(*, now: datetime | None = None) -> int:
    """Enforce max_duration on every call past it; returns how many were hung up."""
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
            event = call_event_apply(
                call=call,
                status=CallStatus.FAILED,
                source=EventSource.WATCHDOG,
                end_reason=EndReason.ERROR,
                error=CallError(
                    "stale", f"No event from the provider since {heard:%Y-%m-%d %H:%M:%S} UTC; given up."
                ),
                payload={"stale_after_seconds": settings.CALL_STALE_AFTER_SECONDS},
                hangup_provider=True,
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
