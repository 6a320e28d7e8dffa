"""Legal holds: placed on one call, agent, campaign or phone number, with a reason; released, never deleted.

A hold keeps every recording of its target from the retention sweep, whatever the retention policy says.
Calls and campaigns stand above compliance, so a hold names them by public id; whether such a call or
campaign exists is asked of a checker that the app holding them plugs in when Django starts
(`hold_target_checker_set`, recordings/apps.py). `HoldIndex` answers, from plain values, which active
holds keep a recording: the sweep, its dry run and the call page all ask it."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC

from django.db import models, transaction
from django.utils import timezone

from agents.models import Agent
from agents.phone import InvalidPhoneNumber, normalize_e164
from compliance.models import LegalHold
from wordcab_admin.kernel.audit import audit_record
from wordcab_admin.kernel.errors import Unprocessable


class HoldTarget(models.TextChoices):
    CALL = "call"
    AGENT = "agent"
    CAMPAIGN = "campaign"
    PHONE_NUMBER = "phone_number", "Phone number"


# The API's field for each kind of target (`call_id`, `agent_id`, …).
TARGET_FIELDS = {
    HoldTarget.CALL: "call_id",
    HoldTarget.AGENT: "agent_id",
    HoldTarget.CAMPAIGN: "campaign_id",
    HoldTarget.PHONE_NUMBER: "phone_number",
}
ID_PREFIXES = {HoldTarget.CALL: "call_", HoldTarget.CAMPAIGN: "camp_"}
MAX_REASON_LENGTH = 2000

TargetChecker = Callable[[str], bool]
_checkers: dict[str, TargetChecker] = {}


def hold_target_checker_set(kind: HoldTarget, checker: TargetChecker) -> None:
    """`checker(public_id)` says whether that call or campaign exists (filled by the app that holds them)."""
    _checkers[kind] = checker


def hold_target(hold: LegalHold) -> tuple[HoldTarget, str]:
    """What the hold names: its kind and the public id or number."""
    if hold.call_public_id:
        return HoldTarget.CALL, hold.call_public_id
    if hold.agent_id:
        return HoldTarget.AGENT, hold.agent.public_id
    if hold.campaign_public_id:
        return HoldTarget.CAMPAIGN, hold.campaign_public_id
    return HoldTarget.PHONE_NUMBER, hold.phone_number


def hold_why(hold: LegalHold) -> str:
    """One sentence a compliance officer reads: which hold, on what, placed by whom, and why."""
    kind, value = hold_target(hold)
    placed_by = hold.placed_by.get_username() if hold.placed_by_id else "someone since removed"
    when = f"{hold.created_at.astimezone(UTC):%Y-%m-%d %H:%M} UTC"
    target = f"{kind.label.lower()} {value}"
    return f"legal hold {hold.public_id} on {target}, placed by {placed_by} on {when}: {hold.reason}"


def _audit_view(hold: LegalHold) -> dict:
    kind, value = hold_target(hold)
    return {
        "target": kind.value,
        TARGET_FIELDS[kind]: value,
        "reason": hold.reason,
        "placed_by": hold.placed_by.get_username() if hold.placed_by_id else None,
        "released_at": hold.released_at.isoformat() if hold.released_at else None,
        "released_by": hold.released_by.get_username() if hold.released_by_id else None,
    }


def _target_fields(kind: HoldTarget, value: str | Agent) -> dict:
    """The hold's one target column, checked: an id of the right kind that exists, or an E.164 number."""
    field_name = TARGET_FIELDS[kind]
    if kind == HoldTarget.AGENT:
        if not isinstance(value, Agent):
            raise Unprocessable("Name the agent to hold", field=field_name)
        return {"agent": value}
    text = str(value).strip()
    if kind == HoldTarget.PHONE_NUMBER:
        try:
            return {"phone_number": normalize_e164(text)}
        except InvalidPhoneNumber as exc:
            raise Unprocessable(str(exc), field=field_name) from None
    if not text.startswith(ID_PREFIXES[kind]) or len(text) > 64:
        raise Unprocessable(
            f"{text!r} is not a {kind.label.lower()} id ({ID_PREFIXES[kind]}…)", field=field_name
        )
    checker = _checkers.get(kind)
    if checker is not None and not checker(text):
        raise Unprocessable(
            f"No {kind.label.lower()} {text}", field=field_name, code=f"{kind.value}_not_found"
        )
    return {f"{kind.value}_public_id": text}


def legal_hold_place(*, actor, kind: HoldTarget, target: str | Agent, reason: str) -> LegalHold:
    """Hold every recording of `target` (a call or campaign public id, an Agent, a phone number)."""
    reason = (reason or "").strip()
    if not reason:
        raise Unprocessable("Say why the recordings are held (the matter, the request)", field="reason")
    if len(reason) > MAX_REASON_LENGTH:
        raise Unprocessable(f"Keep the reason under {MAX_REASON_LENGTH} characters", field="reason")
    user = actor if actor is not None and actor.is_authenticated else None
    hold = LegalHold(reason=reason, placed_by=user, **_target_fields(HoldTarget(kind), target))
    with transaction.atomic():
        hold.save()
        audit_record(
            actor=actor,
            action="legal_hold.placed",
            object_type="legal_hold",
            object_id=hold.public_id,
            after=_audit_view(hold),
        )
    return hold


def legal_hold_release(*, actor, hold: LegalHold) -> LegalHold:
    """The hold stops protecting its recordings; the row stays, with who released it and when. Releasing
    a released hold changes nothing."""
    with transaction.atomic():
        hold = (
            LegalHold.objects.select_for_update(of=("self",))
            .select_related("agent", "placed_by")
            .get(pk=hold.pk)
        )
        if hold.released_at is not None:
            return hold
        before = _audit_view(hold)
        hold.released_at = timezone.now()
        hold.released_by = actor if actor is not None and actor.is_authenticated else None
        hold.save(update_fields=["released_at", "released_by"])
        audit_record(
            actor=actor,
            action="legal_hold.released",
            object_type="legal_hold",
            object_id=hold.public_id,
            before=before,
            after=_audit_view(hold),
        )
    return hold


def legal_holds() -> models.QuerySet[LegalHold]:
    return LegalHold.objects.select_related("agent", "placed_by", "released_by")


@dataclass
class HoldIndex:
    """The active holds by what they name, to answer "which holds keep this recording?" from plain values."""

    calls: dict[str, list[LegalHold]] = field(default_factory=lambda: defaultdict(list))
    agents: dict[int, list[LegalHold]] = field(default_factory=lambda: defaultdict(list))
    campaigns: dict[str, list[LegalHold]] = field(default_factory=lambda: defaultdict(list))
    numbers: dict[str, list[LegalHold]] = field(default_factory=lambda: defaultdict(list))

    @classmethod
    def of(cls, holds: Iterable[LegalHold]) -> HoldIndex:
        index = cls()
        for hold in holds:
            if hold.call_public_id:
                index.calls[hold.call_public_id].append(hold)
            elif hold.agent_id:
                index.agents[hold.agent_id].append(hold)
            elif hold.campaign_public_id:
                index.campaigns[hold.campaign_public_id].append(hold)
            elif hold.phone_number:
                index.numbers[hold.phone_number].append(hold)
        return index

    def __bool__(self) -> bool:
        return bool(self.calls or self.agents or self.campaigns or self.numbers)

    def holds_for(
        self, *, call_id: str, agent_id: int | None, campaign_id: str | None, numbers: Iterable[str]
    ) -> list[LegalHold]:
        """Every active hold that keeps the recording of this call: on the call, its agent, its campaign, or
        either of its numbers (the callee's and the caller's)."""
        found = [*self.calls.get(call_id, ()), *self.agents.get(agent_id, ())]
        if campaign_id:
            found += self.campaigns.get(campaign_id, ())
        for number in set(numbers):
            if number:
                found += self.numbers.get(number, ())
        return sorted(set(found), key=lambda hold: hold.pk)


def active_holds() -> HoldIndex:
    return HoldIndex.of(legal_holds().filter(released_at__isnull=True))
