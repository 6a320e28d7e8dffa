"""How a call ended, in words: the one outcome label that every page, export and live update shows.

A call still running is named by its state ("Ringing", "In Progress"). An ended call is named by its status
and end reason together, so that a busy line reads "Busy" (status `no_answer`, end reason `busy`) and a
voicemail "Voicemail" (`completed`, `voicemail`), never "No Answer" or "Completed" as the status alone would
say; a failure says why, from its error code ("Failed: carrier rejected"). The pages use the `outcome`
template filter (calls/templatetags/call_outcome.py), the calls CSV its `outcome` column, and live updates
carry the label beside the call object (live/publisher.py), so static/js/live.js shows it without a copy of
these rules."""

from collections.abc import Mapping
from typing import Any

from django.db.models import Q

from calls.models import Call, CallStatus, EndReason

# Error codes that say no more than "it failed": such a failure reads "Failed" alone.
GENERIC_ERROR_CODES = frozenset({"", "call_failed", "error"})


def _special_labels() -> dict[tuple[str, str], str]:
    """Ended calls whose end reason names them better than their status does. A function, not a constant:
    the labels are read when asked, so a label changed in the models reaches every page."""
    return {
        (CallStatus.NO_ANSWER, EndReason.BUSY): str(EndReason.BUSY.label),
        (CallStatus.COMPLETED, EndReason.VOICEMAIL): str(EndReason.VOICEMAIL.label),
        (CallStatus.COMPLETED, EndReason.MAX_DURATION): f"{CallStatus.COMPLETED.label} (time limit)",
        (CallStatus.FAILED, EndReason.CANCELED): str(EndReason.CANCELED.label),
    }


def outcome_label(status: str, end_reason: str = "", error_code: str = "") -> str:
    """The label of a call in `status` that ended for `end_reason` with `error_code` (both "" when none)."""
    special = _special_labels().get((status, end_reason))
    if special:
        return special
    try:
        label = str(CallStatus(status).label)
    except ValueError:  # a state this version does not know: its name, as the badge shows it
        return status
    if status == CallStatus.FAILED and error_code not in GENERIC_ERROR_CODES:
        return f"{label}: {error_code.replace('_', ' ')}"
    return label


def call_outcome(call: Call) -> str:
    """The outcome label of a call row."""
    return outcome_label(call.status, call.end_reason, call.error_code)


def call_object_outcome(data: Mapping[str, Any]) -> str:
    """The outcome label of a public call object (calls/serializers.py `call_object`)."""
    error = data.get("error") or {}
    return outcome_label(data["status"], data.get("end_reason") or "", error.get("code") or "")


def reached_a_person(*, status: str, end_reason: str, answered: bool) -> bool:
    """Whether an ended call reached a person (the wallboard's and the analytics' "connected"): it completed
    other than by a voicemail (a provider may report the end before the answer, so `answered` may be
    false), or it was answered and then failed (its end lost). False for a call still running.
    REACHED_A_PERSON is the same rule for the database; tests/calls/test_outcomes.py keeps the two equal."""
    if status not in CallStatus.terminal():
        return False
    if status == CallStatus.COMPLETED and end_reason == EndReason.VOICEMAIL:
        return False
    return status == CallStatus.COMPLETED or answered


REACHED_A_PERSON = (
    Q(status__in=[s.value for s in CallStatus.terminal()])
    & ~Q(status=CallStatus.COMPLETED, end_reason=EndReason.VOICEMAIL)
    & (Q(status=CallStatus.COMPLETED) | Q(answered_at__isnull=False))
)
