"""The "cleared to call" decision: one function that calls use at creation (and campaigns per contact).

For a call between `callee_number` and `caller_number` it reads both parties' jurisdictions, chooses the
consent opener from the stricter one, checks the calling window in the local time of the person on the
line (the callee of an outbound call), checks the do-not-call list, and names the retention policy that
will apply. It answers the decision (JSON, stored on the call as `decision`) and, for an outbound call that
fails a check, the refusal: `do_not_call` or `outside_calling_window`. Inbound calls are never refused
(the person called us); their decision records the same facts. docs/compliance.md shows the shape."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from django.utils import timezone

from agents.models import Agent
from agents.phone import jurisdiction_for, time_zones_for
from compliance.calling_windows import calling_window_check, outside_window_message
from compliance.do_not_call import do_not_call_entry
from compliance.jurisdictions import consent_stricter, jurisdiction_rules
from compliance.models import DoNotCall
from compliance.openers import opener_decision, opener_for
from compliance.retention import retention_policy_for

OUTBOUND, INBOUND = "outbound", "inbound"  # calls.Direction's values (calls stands above compliance)
DECISION_VERSION = 1

T = TypeVar("T")
_rules_read: ContextVar[dict[tuple, Any] | None] = ContextVar("clearance_rules_read", default=None)


@contextmanager
def clearance_rules_read_once() -> Iterator[None]:
    """Inside the block, each rule a decision reads (a jurisdiction's row, the opener, the retention
    policy) is read once per key and reused, and so are the caller's jurisdiction (the agent's line) and
    the calling window's reading at one instant for one jurisdiction and set of time zones: for a
    campaign's dispatch run, which clears many calls of one agent in one transaction at one `now`. The
    do-not-call list is read for every call (or once for a batch: `do_not_call_read`)."""
    token = _rules_read.set({})
    try:
        yield
    finally:
        _rules_read.reset(token)


def _read_once(key: tuple, read: Callable[[], T]) -> T:
    memo = _rules_read.get()
    if memo is None:
        return read()
    if key not in memo:
        memo[key] = read()
    return memo[key]


@dataclass(frozen=True)
class Clearance:
    decision: dict
    refusal: tuple[str, str] | None  # (error code, message) when the call may not be placed

    @property
    def cleared(self) -> bool:
        return self.refusal is None


def clearance_clock() -> datetime:
    """The instant a call is cleared at: the wall clock. One name for it, so that tests which are not
    about calling windows can fix it inside them (tests/compliance/calling_clock.py)."""
    return timezone.now()


def call_clearance(
    *,
    agent: Agent,
    callee_number: str,
    caller_number: str,
    direction: str,
    now: datetime | None = None,
    do_not_call_read: Mapping[str, DoNotCall] | None = None,
) -> Clearance:
    """The decision for a call of `agent` from `caller_number` to `callee_number` (E.164; a caller may be
    unknown, ""), at `now` (default: clearance_clock()).

    `do_not_call_read`: the list's entries already read for a batch of numbers that holds the person's
    (`compliance.do_not_call.do_not_call_entries_for`, in the same transaction): a number absent from it is
    not listed. Without it the list is read for this call."""
    now = now or clearance_clock()
    outbound = direction == OUTBOUND
    callee_code = _jurisdiction(callee_number)
    caller_code = _read_once(("jurisdiction", caller_number), lambda: _jurisdiction(caller_number))
    callee = _read_once(("rules", callee_code), lambda: jurisdiction_rules(callee_code))
    caller = _read_once(("rules", caller_code), lambda: jurisdiction_rules(caller_code))
    # The person on the line: their local time, their do-not-call entry, their jurisdiction's retention.
    person, person_number, person_role = (
        (callee, callee_number, "callee") if outbound else (caller, caller_number, "caller")
    )
    consent = consent_stricter(person, callee if person is caller else caller)
    opener = _read_once(
        ("opener", agent.pk, consent.code), lambda: opener_for(agent=agent, jurisdiction=consent.code)
    )
    window = _read_once(  # the reading depends on the number only through its time zones
        ("window", person.code, tuple(time_zones_for(person_number)), now),
        lambda: calling_window_check(rules=person, number=person_number, now=now),
    )
    listed = _do_not_call_listed(person_number, do_not_call_read)
    retention = _read_once(
        ("retention", agent.pk, person.code),
        lambda: retention_policy_for(agent_id=agent.pk, jurisdiction=person.code),
    )
    refusal = None
    if outbound and listed is not None:
        refusal = ("do_not_call", _do_not_call_message(listed))
    elif outbound and not window.inside:
        message = outside_window_message(check=window, rules=person, number=person_number)
        refusal = ("outside_calling_window", message)
    decision = {
        "version": DECISION_VERSION,
        "decided_at": _utc_text(now),
        "direction": direction,
        "cleared": refusal is None,
        "refusal": {"code": refusal[0], "message": refusal[1]} if refusal else None,
        "person": person_role,
        "jurisdictions": {
            "callee": callee.as_decision(callee_number),
            "caller": caller.as_decision(caller_number),
        },
        "consent": {
            "rule": consent.recording_consent,
            "jurisdiction": consent.code,
            "party": "callee" if consent is callee else "caller",
        },
        "calling_window": window.as_decision(rules=person, enforced=outbound),
        "do_not_call": {
            "enforced": outbound,
            "number": person_number,
            "listed": listed is not None,
            "entry": _do_not_call_view(listed),
        },
        "opener": opener_decision(opener),
        "retention": {
            "days": retention.days,
            "scope": retention.scope,
            "policy_id": retention.policy.public_id if retention.policy else None,
            "jurisdiction": person.code,
        },
    }
    return Clearance(decision=decision, refusal=refusal)


def _jurisdiction(number: str) -> str:
    return jurisdiction_for(number) if number else ""


def _do_not_call_listed(number: str, read: Mapping[str, DoNotCall] | None) -> DoNotCall | None:
    if not number:
        return None
    return read.get(number) if read is not None else do_not_call_entry(number)


def _do_not_call_message(entry: DoNotCall) -> str:
    why = f": {entry.reason}" if entry.reason else ""
    return f"{entry.number} is on the do-not-call list (added {entry.created_at:%Y-%m-%d}{why})."


def _do_not_call_view(entry: DoNotCall | None) -> dict | None:
    if entry is None:
        return None
    return {
        "reason": entry.reason,
        "source": entry.source,
        "added_at": _utc_text(entry.created_at),
    }


def _utc_text(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
