"""Plivo's call callbacks → the one lifecycle (calls.lifecycle.call_events_apply).

Plivo calls us back at the ring URL (`CallStatus=ringing`), the answer URL (`in-progress`, outbound calls),
the machine-detection URL (`Event=MachineDetection`, `Machine=true|false`) and the hangup URL (`completed`,
`busy`, `no-answer`, `failed`, `cancel` or `timeout`, with `HangupCause`, `HangupCauseCode`,
`HangupSource`, `Duration` and `BillDuration`). Its callbacks carry no sequence number, so a repeated one
is recognised by its event id (call, event, status); one that arrives late (a `ringing` after the
hang-up) is stored as ignored by the lifecycle. The table is in docs/providers.md."""

from __future__ import annotations

from collections.abc import Mapping

from calls.lifecycle import CallError, EventIn, EventSource
from calls.models import CallStatus, EndReason
from telephony.status_map import MappedEvent, int_or_none

PROVIDER = "plivo"

PLIVO_STATUS: dict[str, str] = {
    "ringing": CallStatus.RINGING,
    "in-progress": CallStatus.IN_PROGRESS,
    "completed": CallStatus.COMPLETED,
    "busy": CallStatus.NO_ANSWER,
    "no-answer": CallStatus.NO_ANSWER,
    "cancel": CallStatus.FAILED,
    "timeout": CallStatus.FAILED,
    "failed": CallStatus.FAILED,
}
# Plivo's hangup causes (HangupCauseCode) of a call that never connected, grouped into the error codes
# clients see; any other code is reported as plivo_<code> with Plivo's own HangupCause.
HANGUP_CAUSE_ERRORS: dict[int, tuple[str, str]] = {
    2000: ("invalid_number", "The number is not a valid destination"),
    2010: ("invalid_number", "The number is out of service"),
    2020: ("unreachable", "The SIP endpoint is not registered"),
}
CANCELED_BY_REQUEST = range(1000, 1100)  # 1000 Canceled (hang-up API), 1010 out of credits, 1020 dial limit
CALL_RECIPIENT = "Call recipient"  # HangupSource: the callee declined


def _seconds(params: Mapping[str, str]) -> float | None:
    """Duration (whole seconds on the line), else BillDuration; None when neither is a sane number."""
    for name in ("Duration", "BillDuration"):
        seconds = int_or_none(params.get(name))
        if seconds is not None and 0 <= seconds < 10**7:
            return float(seconds)
    return None


def failure_error(params: Mapping[str, str]) -> CallError:
    if params.get("CallStatus") == "timeout":
        return CallError("unreachable", "The call timed out while connecting.")
    code = int_or_none(params.get("HangupCauseCode"))
    cause = params.get("HangupCause", "")
    if code in HANGUP_CAUSE_ERRORS:
        error_code, message = HANGUP_CAUSE_ERRORS[code]
        return CallError(error_code, f"{message} ({cause or code}).")
    if code:
        return CallError(f"plivo_{code}", cause or "Plivo reported an error.")
    return CallError("call_failed", f"The call failed{f' ({cause})' if cause else ''}.")


def _machine_answered(params: Mapping[str, str]) -> bool:
    return params.get("Machine", "").lower() == "true"


def map_plivo_status(params: Mapping[str, str]) -> MappedEvent:
    """Plivo CallStatus (with HangupCause*, HangupSource and Machine) → our status and reasons."""
    provider_status = params.get("CallStatus", "")
    if _machine_answered(params) and provider_status in ("", "in-progress", "completed"):
        # A machine answered: the call ends here, as voicemail; if the line is still up we drop it.
        return MappedEvent(
            CallStatus.COMPLETED,
            end_reason=EndReason.VOICEMAIL,
            hangup_provider=provider_status != "completed",
            talk_seconds=_seconds(params) or 0,
        )
    if params.get("Event") == "MachineDetection":
        return MappedEvent(None)  # a person answered: nothing changes (the answer moved the call already)
    status = PLIVO_STATUS.get(provider_status)
    if status is None:
        return MappedEvent(None)
    if provider_status == "busy":
        return MappedEvent(status, end_reason=EndReason.BUSY)
    if provider_status == "cancel":
        if params.get("HangupSource") == CALL_RECIPIENT:  # declined: as good as not answered
            return MappedEvent(CallStatus.NO_ANSWER, end_reason=EndReason.NO_ANSWER)
        return MappedEvent(
            status,
            end_reason=EndReason.CANCELED,
            error=CallError("canceled", "The call was cancelled before it was answered."),
        )
    if status == CallStatus.FAILED:
        return MappedEvent(status, end_reason=EndReason.ERROR, error=failure_error(params))
    if status == CallStatus.COMPLETED:
        return MappedEvent(status, end_reason=EndReason.HANGUP, talk_seconds=_seconds(params))
    return MappedEvent(status)


def plivo_event_id(params: Mapping[str, str]) -> str:
    """What tells a repeated callback from a new one: the call, the event and its status."""
    call_uuid = params.get("CallUUID", "")
    if not call_uuid:
        return ""
    parts = [call_uuid, params.get("Event", ""), params.get("CallStatus", "")]
    if params.get("Machine"):
        parts.append(f"machine={params['Machine'].lower()}")
    return ":".join(parts)


def plivo_status_event(*, params: Mapping[str, str], call_public_id: str | None = None) -> EventIn:
    """One Plivo callback as the lifecycle takes it. The call is named by our id when the callback URL
    carries it (calls we placed), else by Plivo's CallUUID (inbound calls, created by the answer URL)."""
    mapped = map_plivo_status(params)
    provider_status = params.get("CallStatus", "")
    if params.get("Machine"):
        provider_status = f"machine:{params['Machine'].lower()}"
    return EventIn(
        status=mapped.status,
        public_id=call_public_id or None,
        provider=PROVIDER,
        # Ours is Plivo's request_uuid for a call we placed (its callbacks carry it as RequestUUID), the
        # CallUUID for an inbound one.
        provider_call_id=params.get("RequestUUID") or params.get("CallUUID") or None,
        provider_status=provider_status,
        event_id=plivo_event_id(params),
        payload=dict(params.items()),
        source=EventSource.PROVIDER,
        end_reason=mapped.end_reason,
        error=mapped.error,
        talk_seconds=mapped.talk_seconds,
        hangup_provider=mapped.hangup_provider,
    )
