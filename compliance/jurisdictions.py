"""Jurisdictions: the rules a number's jurisdiction sets (recording consent, calling window, day rules),
which of two is stricter on consent, and the audited edits compliance officers make."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import time
from typing import Any

from django.db import transaction

from compliance.day_rules import DayRulesInvalid, Window, day_rules_clean, day_rules_summary
from compliance.models import Jurisdiction, RecordingConsent
from wordcab_admin.kernel.audit import audit_record
from wordcab_admin.kernel.errors import NotFound, Unprocessable

# For a number whose jurisdiction has no row (nor its country: a US state without one falls back to `US`),
# the US federal telemarketing hours (47 CFR 64.1200(c)(1)) in the callee's local time: never no window.
DEFAULT_WINDOW: Window = (time(8, 0), time(21, 0))

# Which consent rule is stricter: all-party beats notice-required beats one-party; an unknown rule (no
# row) is weakest, so that a known rule of the other party chooses the opener.
CONSENT_STRICTNESS = {
    RecordingConsent.ALL_PARTY: 3,
    RecordingConsent.NOTICE_REQUIRED: 2,
    RecordingConsent.ONE_PARTY: 1,
    None: 0,
}

EDITABLE_FIELDS = (
    "recording_consent", "calling_start", "calling_end", "day_rules", "calling_days_note", "source",
    "needs_review",
)  # fmt: skip


@dataclass(frozen=True)
class JurisdictionRules:
    """The rules that apply to a number of jurisdiction `code`, and which row they come from."""

    code: str  # what the number belongs to: 'US-CA', 'JP', '' (unknown)
    rules_from: str | None  # the row applied: `code`, its country's ('US' for a state without a row), or None
    name: str = ""
    recording_consent: str | None = None  # None: no row says
    window: Window = DEFAULT_WINDOW
    day_rules: dict = field(default_factory=dict)
    needs_review: bool = False

    def as_decision(self, number: str) -> dict:
        return {
            "number": number,
            "jurisdiction": self.code,
            "name": self.name,
            "recording_consent": self.recording_consent,
            "rules_from": self.rules_from,
            "needs_review": self.needs_review,
        }


def jurisdiction_rules(code: str) -> JurisdictionRules:
    """The row for `code`, else its country's row, else the defaults (no consent rule, DEFAULT_WINDOW)."""
    candidates = [code] + ([code.split("-")[0]] if "-" in code else [])
    rows = {row.code: row for row in Jurisdiction.objects.filter(code__in=candidates)} if code else {}
    row = next((rows[c] for c in candidates if c in rows), None)
    if row is None:
        return JurisdictionRules(code=code, rules_from=None)
    return JurisdictionRules(
        code=code,
        rules_from=row.code,
        name=row.name,
        recording_consent=row.recording_consent,
        window=(row.calling_start, row.calling_end),
        day_rules=row.day_rules or {},
        needs_review=row.needs_review,
    )


def consent_stricter(first: JurisdictionRules, second: JurisdictionRules) -> JurisdictionRules:
    """The party whose consent rule is stricter; `first` on a tie (callers pass the person called first)."""
    if CONSENT_STRICTNESS[second.recording_consent] > CONSENT_STRICTNESS[first.recording_consent]:
        return second
    return first


def jurisdiction_get(code: str) -> Jurisdiction:
    try:
        return Jurisdiction.objects.get(code=code.strip().upper())
    except Jurisdiction.DoesNotExist:
        raise NotFound(f"No jurisdiction {code}.", code="jurisdiction_not_found") from None


def jurisdiction_view(jurisdiction: Jurisdiction) -> dict:
    """What the audit trail keeps of a jurisdiction (before → after)."""
    return {
        "recording_consent": jurisdiction.recording_consent,
        "calling_hours": f"{jurisdiction.calling_start:%H:%M}-{jurisdiction.calling_end:%H:%M}",
        "day_rules": jurisdiction.day_rules,
        "calling_days_note": jurisdiction.calling_days_note,
        "source": jurisdiction.source,
        "needs_review": jurisdiction.needs_review,
    }


def jurisdiction_update(*, actor: Any, jurisdiction: Jurisdiction, changes: dict) -> Jurisdiction:
    """Change a jurisdiction's consent rule, calling window, day rules, note, source or review flag, and
    audit it (before → after) in the same transaction. Unknown names in `changes` are a programming error."""
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValueError(f"Not editable: {', '.join(sorted(unknown))}")
    before = jurisdiction_view(jurisdiction)
    for name, value in changes.items():
        setattr(jurisdiction, name, value)
    if jurisdiction.recording_consent not in RecordingConsent.values:
        raise Unprocessable(
            f"recording_consent is one of {', '.join(RecordingConsent.values)}", field="recording_consent"
        )
    if not jurisdiction.calling_start < jurisdiction.calling_end:
        raise Unprocessable("The calling window must start before it ends", field="calling_end")
    try:
        jurisdiction.day_rules = day_rules_clean(jurisdiction.day_rules)
    except DayRulesInvalid as exc:
        raise Unprocessable(str(exc), field="day_rules") from exc
    after = jurisdiction_view(jurisdiction)
    if after == before:
        return jurisdiction
    with transaction.atomic():
        jurisdiction.save()
        audit_record(
            actor=actor,
            action="jurisdiction.updated",
            object_type="jurisdiction",
            object_id=jurisdiction.code,
            before=before,
            after=after,
        )
    return jurisdiction


def jurisdiction_day_rules_summary(jurisdiction: Jurisdiction) -> list[str]:
    return day_rules_summary(jurisdiction.day_rules or {})
