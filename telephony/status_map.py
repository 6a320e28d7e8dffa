"""What every carrier's status map shares: the mapped event it answers, the SIP final responses grouped
into the error codes clients see, and reading a number out of a carrier's parameters. Each provider's own
`status.py` maps its events to a `MappedEvent`, then to a `calls.lifecycle.EventIn`."""

from __future__ import annotations

from dataclasses import dataclass

from calls.lifecycle import CallError

# SIP final responses a carrier gives for a failed call, grouped into the error codes clients see.
SIP_ERRORS: dict[int, tuple[str, str]] = {
    403: ("carrier_rejected", "The carrier refused the call"),
    603: ("carrier_rejected", "The carrier declined the call"),
    607: ("carrier_rejected", "The carrier rejected the call as unwanted"),
    404: ("invalid_number", "The number does not exist"),
    410: ("invalid_number", "The number is no longer in service"),
    484: ("invalid_number", "The number is incomplete"),
    408: ("unreachable", "The callee could not be reached in time"),
    480: ("unreachable", "The callee is temporarily unavailable"),
    500: ("carrier_error", "The carrier had an internal error"),
    502: ("carrier_error", "The carrier had a gateway error"),
    503: ("carrier_error", "The carrier is unavailable"),
}


@dataclass(frozen=True)
class MappedEvent:
    status: str | None
    end_reason: str = ""
    error: CallError | None = None
    hangup_provider: bool = False
    talk_seconds: float | None = None


def int_or_none(value: object) -> int | None:
    """A carrier's number as it posts it ("42", 42, ""); None for anything that is not one."""
    try:
        return int(value) if value not in (None, "") else None  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
