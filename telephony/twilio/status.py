"""Provider status events → the lifecycle. Twilio's status callbacks and the simulator's events are both
Twilio-shaped parameter sets (CallSid, CallStatus, SequenceNumber, Timestamp, SipResponseCode,
CallDuration, AnsweredBy) and both go through `provider_status_event`: one mapping, one lifecycle entry (`call_events_apply`)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from calls.lifecycle import CallError, EventIn
from calls.models import CallStatus, EndReason
from telephony.status_map import SIP_ERRORS, MappedEvent, int_or_none

TWILIO_STATUS: dict[str, str] = {
    "queued": CallStatus.INITIATING,
    "initiated": CallStatus.INITIATING,
    "ringing": CallStatus.RINGING,
    "in-progress": CallStatus.IN_PROGRESS,
    "answered": CallStatus.IN_PROGRESS,
    "completed": CallStatus.COMPLETED,
    "busy": CallStatus.NO_ANSWER,
    "no-answer": CallStatus.NO_ANSWER,
    "failed": CallStatus.FAILED,
    "canceled": CallStatus.FAILED,
}
MAX_SEQUENCE = 2**31 - 1  # CallEvent.sequence and Call.last_sequence are 32-bit integers
MACHINE_ANSWERS = frozenset(
    {"machine_start", "machine_end_beep", "machine_end_silence", "machine_end_other", "fax"}
)


def _sequence(value: str | None) -> int | None:
    """Twilio numbers the callbacks of a call 0, 1, 2, …; a value that is not such a number is left out
    (it stays in the stored payload) and the event is ordered by its status alone."""
    sequence = int_or_none(value)
    return sequence if sequence is not None and 0 <= sequence <= MAX_SEQUENCE else None


def _seconds(value: str | None) -> float | None:
    """CallDuration: whole seconds from Twilio, milliseconds from the (sped-up) simulator."""
    try:
        seconds = float(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None
    return seconds if seconds is not None and 0 <= seconds < 1e7 else None


def _timestamp(value: str | None) -> datetime | None:
    """Twilio's `Timestamp` is RFC 2822 ("Wed, 25 Nov 2026 15:30:43 +0000"); the simulator sends ISO 8601
    with milliseconds, as its sped-up calls last less than a second."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value) if "T" in value else parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def failure_error(params: Mapping[str, str]) -> CallError:
    provider_status = params.get("CallStatus", "")
    if provider_status == "canceled":
        return CallError("canceled", "The call was cancelled before it was answered.")
    if params.get("ErrorCode"):
        return CallError(
            f"twilio_{params['ErrorCode']}", params.get("ErrorMessage") or "Twilio reported an error."
        )
    sip = int_or_none(params.get("SipResponseCode"))
    if sip in SIP_ERRORS:
        code, message = SIP_ERRORS[sip]
        return CallError(code, f"{message} (SIP {sip}).")
    return CallError("call_failed", f"The call failed{f' (SIP {sip})' if sip else ''}.")


def map_twilio_status(params: Mapping[str, str]) -> MappedEvent:
    """Twilio CallStatus (plus AnsweredBy from answering-machine detection) → our status and reasons."""
    provider_status = params.get("CallStatus", "")
    answered_by = params.get("AnsweredBy", "")
    if answered_by in MACHINE_ANSWERS and provider_status in ("", "in-progress", "answered", "completed"):
        # A machine answered: the call ends here, as voicemail; if the line is still up we drop it.
        return MappedEvent(
            CallStatus.COMPLETED,
            end_reason=EndReason.VOICEMAIL,
            hangup_provider=provider_status != "completed",
            talk_seconds=_seconds(params.get("CallDuration")) or 0,
        )
    status = TWILIO_STATUS.get(provider_status)
    if status is None:
        return MappedEvent(None)
    if provider_status == "busy":
        return MappedEvent(status, end_reason=EndReason.BUSY)
    if status == CallStatus.FAILED:
        end_reason = EndReason.CANCELED if provider_status == "canceled" else EndReason.ERROR
        return MappedEvent(status, end_reason=end_reason, error=failure_error(params))
    if status == CallStatus.COMPLETED:
        return MappedEvent(
            status, end_reason=EndReason.HANGUP, talk_seconds=_seconds(params.get("CallDuration"))
        )
    return MappedEvent(status)


def provider_status_event(
    *, provider: str, params: Mapping[str, str], source: str, call_public_id: str | None = None
) -> EventIn:
    """One Twilio-shaped status event as the lifecycle takes it. The call is named by our id when the
    callback URL carries it (outbound calls), else by provider + CallSid (inbound calls created by the
    voice webhook)."""
    mapped = map_twilio_status(params)
    sequence = _sequence(params.get("SequenceNumber"))
    call_sid = params.get("CallSid", "")
    provider_status = params.get("CallStatus", "") or (
        f"amd:{params['AnsweredBy']}" if params.get("AnsweredBy") else ""
    )
    return EventIn(
        status=mapped.status,
        public_id=call_public_id or None,
        provider=provider,
        provider_call_id=call_sid or None,
        provider_status=provider_status,
        sequence=sequence,
        event_id=f"{call_sid}:{sequence}:{provider_status}" if sequence is not None else "",
        payload=dict(params.items()),
        source=source,
        occurred_at=_timestamp(params.get("Timestamp")),
        end_reason=mapped.end_reason,
        error=mapped.error,
        sip_response_code=int_or_none(params.get("SipResponseCode")),
        talk_seconds=mapped.talk_seconds,
        hangup_provider=mapped.hangup_provider,
    )
