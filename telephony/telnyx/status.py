"""Telnyx Call Control events → the lifecycle: one mapping (`map_telnyx_event`, tabled in
docs/providers.md) and one `EventIn` per webhook, applied by `calls.lifecycle.call_events_apply`.

Telnyx numbers no events; each has its own id (`data.id`), which dedupes a redelivered webhook, and the
lifecycle's order of states keeps a late one from moving a call back. There is no ringing event in Call
Control: a call goes from `initiating` to `in_progress` (`call.answered`) or to its end (`call.hangup`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from calls.lifecycle import CallError, EventIn, EventSource
from calls.models import CallStatus, EndReason
from telephony.status_map import SIP_ERRORS, MappedEvent
from telephony.telnyx.commands import client_state_decode

PROVIDER = "telnyx"
MACHINE_RESULTS = frozenset({"machine", "fax_detected"})
MACHINE_DETECTION_EVENTS = frozenset({"call.machine.detection.ended", "call.machine.premium.detection.ended"})
# Events that only mark the call's timeline: stored on it, never moving it.
TIMELINE_EVENTS = frozenset(
    {
        "call.bridged",
        "call.machine.greeting.ended",
        "call.machine.premium.greeting.ended",
        "streaming.started",
        "streaming.stopped",
        "streaming.failed",
    }
)
STATUS_EVENTS = frozenset({"call.initiated", "call.answered", "call.hangup"}) | MACHINE_DETECTION_EVENTS
KNOWN_EVENTS = STATUS_EVENTS | TIMELINE_EVENTS

# hangup_cause → (status, end_reason, error code or "", error message)
HANGUP_CAUSES: dict[str, tuple[str, str, str, str]] = {
    "normal_clearing": (CallStatus.COMPLETED, EndReason.HANGUP, "", ""),
    "time_limit": (CallStatus.COMPLETED, EndReason.MAX_DURATION, "", ""),
    "user_busy": (CallStatus.NO_ANSWER, EndReason.BUSY, "", ""),
    "no_answer": (CallStatus.NO_ANSWER, EndReason.NO_ANSWER, "", ""),
    "timeout": (CallStatus.NO_ANSWER, EndReason.NO_ANSWER, "", ""),
    "originator_cancel": (
        CallStatus.FAILED,
        EndReason.CANCELED,
        "canceled",
        "The call was cancelled before it was answered.",
    ),
    "call_rejected": (CallStatus.FAILED, EndReason.ERROR, "carrier_rejected", "The call was rejected"),
    "not_found": (CallStatus.FAILED, EndReason.ERROR, "invalid_number", "The number does not exist"),
    "unallocated_number": (
        CallStatus.FAILED,
        EndReason.ERROR,
        "invalid_number",
        "The number is not assigned",
    ),
}


class Malformed(ValueError):
    """A webhook body that is not a Telnyx event."""


@dataclass(frozen=True)
class TelnyxEvent:
    """`{"data": {"event_type", "id", "occurred_at", "payload": {...}}}` as we read it."""

    event_type: str
    event_id: str
    occurred_at: datetime | None
    payload: dict
    state: dict[str, str] = field(default_factory=dict)  # our client_state, decoded

    @property
    def call_control_id(self) -> str:
        value = self.payload.get("call_control_id")
        return value if isinstance(value, str) else ""


def _timestamp(value: object) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def telnyx_event_read(envelope: object) -> TelnyxEvent:
    data = envelope.get("data") if isinstance(envelope, dict) else None
    if not isinstance(data, dict) or not isinstance(data.get("event_type"), str):
        raise Malformed('Expected a Telnyx event: {"data": {"event_type": …, "payload": {…}}}.')
    payload = data.get("payload") if isinstance(data.get("payload"), dict) else {}
    return TelnyxEvent(
        event_type=data["event_type"],
        event_id=str(data.get("id") or ""),
        occurred_at=_timestamp(data.get("occurred_at")),
        payload=payload,
        state=client_state_decode(payload.get("client_state")),
    )


def sip_code(payload: dict) -> int | None:
    """`sip_hangup_cause` ("486"), or None when Telnyx has none ("unspecified")."""
    value = str(payload.get("sip_hangup_cause") or "")
    return int(value) if value.isdigit() and len(value) == 3 else None


def _hangup(payload: dict) -> MappedEvent:
    cause = str(payload.get("hangup_cause") or "")
    sip = sip_code(payload)
    if cause in HANGUP_CAUSES:
        status, end_reason, code, message = HANGUP_CAUSES[cause]
        error = CallError(code, f"{message.rstrip('.')}{f' (SIP {sip})' if sip else ''}.") if code else None
        return MappedEvent(status, end_reason=end_reason, error=error)
    if sip in SIP_ERRORS:
        code, message = SIP_ERRORS[sip]
        return MappedEvent(CallStatus.FAILED, EndReason.ERROR, CallError(code, f"{message} (SIP {sip})."))
    detail = ", ".join(part for part in (cause, f"SIP {sip}" if sip else "") if part)
    return MappedEvent(
        CallStatus.FAILED,
        EndReason.ERROR,
        CallError("call_failed", f"The call failed{f' ({detail})' if detail else ''}."),
    )


def map_telnyx_event(event_type: str, payload: dict) -> MappedEvent:
    """A Telnyx event (with its hangup_cause or machine-detection result) → our status and reasons."""
    if event_type == "call.initiated":
        return MappedEvent(CallStatus.INITIATING)
    if event_type == "call.answered":
        return MappedEvent(CallStatus.IN_PROGRESS)
    if event_type == "call.hangup":
        return _hangup(payload)
    if event_type in MACHINE_DETECTION_EVENTS and payload.get("result") in MACHINE_RESULTS:
        # A machine answered: the call ends here, as voicemail, and we drop the line (still up).
        return MappedEvent(
            CallStatus.COMPLETED, end_reason=EndReason.VOICEMAIL, hangup_provider=True, talk_seconds=0
        )
    return MappedEvent(None)  # a human, a timeline event: stored on the call, which does not move


def _provider_status(event: TelnyxEvent) -> str:
    """Telnyx's word as the timeline shows it (32 characters at most): `hangup:user_busy`, `amd:machine`,
    `answered`, `streaming.started`."""
    if event.event_type in MACHINE_DETECTION_EVENTS:
        return f"amd:{event.payload.get('result') or '?'}"
    short = event.event_type.removeprefix("call.")
    cause = event.payload.get("hangup_cause") if event.event_type == "call.hangup" else ""
    return f"{short}:{cause}" if cause else short


def telnyx_event_in(event: TelnyxEvent) -> EventIn:
    """One Telnyx event as the lifecycle takes it: the call named by our id when our client_state carries
    it (every call we dialed or answered), else by telnyx + call_control_id."""
    mapped = map_telnyx_event(event.event_type, event.payload)
    return EventIn(
        status=mapped.status,
        public_id=event.state.get("call_id") or None,
        provider=PROVIDER,
        provider_call_id=event.call_control_id or None,
        provider_status=_provider_status(event),
        event_id=event.event_id,
        payload={"event_type": event.event_type, "id": event.event_id, "payload": event.payload},
        source=EventSource.PROVIDER,
        occurred_at=event.occurred_at,
        end_reason=mapped.end_reason,
        error=mapped.error,
        sip_response_code=sip_code(event.payload) if event.event_type == "call.hangup" else None,
        talk_seconds=mapped.talk_seconds,
        hangup_provider=mapped.hangup_provider,
    )
