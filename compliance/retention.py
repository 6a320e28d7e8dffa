"""Retention: how long a recording is kept, by the most specific policy (agent + jurisdiction, agent,
jurisdiction), else the deployment default (settings.RETENTION_DEFAULT_DAYS); and the policies' changes,
each audited.

Recordings stand above compliance, so a policy change cannot recompute their expiry itself: it tells the
listener that recordings plugs in when Django starts (`retention_change_listener_set`, as the audit writer
is plugged into wordcab_admin/kernel/audit.py), inside the change's own transaction, with the scopes whose
recordings may now expire at another time. The listener writes that down in the same transaction, so a
crash between the change and the recompute cannot lose it (recordings/retention.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q

from agents.models import Agent
from compliance.models import RetentionPolicy
from wordcab_admin.kernel.audit import audit_record
from wordcab_admin.kernel.errors import Conflict, Unprocessable

# Long enough for any rule we know of (some archives keep 10 years), short enough that a date this far out
# is still a date: datetime tops out in the year 9999.
MAX_RETENTION_DAYS = 36_500

Scope = tuple[int | None, str]  # (agent pk or None, jurisdiction or ""): whose recordings a policy governs


class RetentionScope:
    """How specific the deciding rule is, most specific first (also shown on receipts and in the API)."""

    AGENT_JURISDICTION = "agent+jurisdiction"
    AGENT = "agent"
    JURISDICTION = "jurisdiction"
    DEFAULT = "default"


@dataclass(frozen=True)
class RetentionChoice:
    days: int
    policy: RetentionPolicy | None  # None: the deployment default
    scope: str  # a RetentionScope value


class RetentionTable:
    """The policies read once, answering any number of recordings without a query each (the sweep and the
    recompute decide thousands at a time)."""

    def __init__(self, policies: Iterable[RetentionPolicy], *, default_days: int | None = None):
        self._by_scope = {(p.agent_id, p.jurisdiction): p for p in policies}
        self.default_days = settings.RETENTION_DEFAULT_DAYS if default_days is None else default_days

    def choice_for(self, *, agent_id: int | None, jurisdiction: str) -> RetentionChoice:
        candidates = []
        if agent_id is not None and jurisdiction:
            candidates.append(((agent_id, jurisdiction), RetentionScope.AGENT_JURISDICTION))
        if agent_id is not None:
            candidates.append(((agent_id, ""), RetentionScope.AGENT))
        if jurisdiction:
            candidates.append(((None, jurisdiction), RetentionScope.JURISDICTION))
        for key, scope in candidates:
            if (policy := self._by_scope.get(key)) is not None:
                return RetentionChoice(policy.days, policy, scope)
        return RetentionChoice(self.default_days, None, RetentionScope.DEFAULT)


def retention_table() -> RetentionTable:
    return RetentionTable(RetentionPolicy.objects.select_related("agent"))


def retention_policy_for(*, agent_id: int | None, jurisdiction: str) -> RetentionChoice:
    """The rule for one recording (or one call about to be placed), in one query."""
    candidates = Q(agent_id=agent_id, jurisdiction__in=[jurisdiction, ""]) if agent_id is not None else Q()
    if jurisdiction:
        candidates |= Q(agent__isnull=True, jurisdiction=jurisdiction)
    policies = RetentionPolicy.objects.filter(candidates).select_related("agent") if candidates else []
    return RetentionTable(policies).choice_for(agent_id=agent_id, jurisdiction=jurisdiction)


def retention_scope_of(policy: RetentionPolicy) -> str:
    if policy.agent_id and policy.jurisdiction:
        return RetentionScope.AGENT_JURISDICTION
    return RetentionScope.AGENT if policy.agent_id else RetentionScope.JURISDICTION


# --- who hears about a change (recordings, which recompute their expiry) ---------------------------------

RetentionChangeListener = Callable[..., None]
_listener: RetentionChangeListener | None = None


def retention_change_listener_set(listener: RetentionChangeListener | None) -> None:
    global _listener
    _listener = listener


def _retention_changed(scopes: Iterable[Scope]) -> None:
    """Called inside the change's transaction. Without a listener a change would leave every recording's
    expiry stale, so that is an error rather than a silent skip."""
    if _listener is None:
        raise RuntimeError("No retention change listener: the recordings app is not installed or not ready")
    _listener(scopes=sorted(set(scopes), key=lambda s: (s[0] or 0, s[1])))


# --- the policies' changes, each audited -------------------------------------------------------------------


def _audit_view(policy: RetentionPolicy) -> dict:
    return {
        "agent_id": policy.agent.public_id if policy.agent_id else None,
        "jurisdiction": policy.jurisdiction or None,
        "days": policy.days,
    }


def _check(policy: RetentionPolicy) -> None:
    if policy.agent_id is None and not policy.jurisdiction:
        raise Unprocessable(
            "Name an agent, a jurisdiction or both: the deployment default "
            f"(RETENTION_DEFAULT_DAYS, {settings.RETENTION_DEFAULT_DAYS} days) covers everything else",
            field="jurisdiction",
            code="policy_not_scoped",
        )
    if not 0 <= policy.days <= MAX_RETENTION_DAYS:
        raise Unprocessable(f"Keep recordings 0 to {MAX_RETENTION_DAYS} days", field="days")
    same_scope = RetentionPolicy.objects.filter(agent_id=policy.agent_id, jurisdiction=policy.jurisdiction)
    if (existing := same_scope.exclude(pk=policy.pk).first()) is not None:
        raise _duplicate(existing)


def _duplicate(existing: RetentionPolicy) -> Conflict:
    return Conflict(
        f"{existing.public_id} already sets retention for {_scope_words(existing)}; change that policy",
        field="jurisdiction" if existing.jurisdiction else "agent_id",
        code="retention_policy_exists",
        existing_id=existing.public_id,
    )


def _scope_words(policy: RetentionPolicy) -> str:
    agent = f"agent {policy.agent.public_id}" if policy.agent_id else ""
    place = f"jurisdiction {policy.jurisdiction}" if policy.jurisdiction else ""
    return " in ".join(part for part in (agent, place) if part)


def _save_audited(
    *, actor, policy: RetentionPolicy, action: str, before: dict | None, scopes: set[Scope]
) -> RetentionPolicy:
    """Save, audit and tell recordings, in one transaction; a scope taken meanwhile is a 409 still (the
    unique constraints decide when two changes race)."""
    _check(policy)
    try:
        with transaction.atomic():
            policy.save()
            audit_record(
                actor=actor,
                action=action,
                object_type="retention_policy",
                object_id=policy.public_id,
                before=before,
                after=_audit_view(policy),
            )
            _retention_changed(scopes | {(policy.agent_id, policy.jurisdiction)})
    except IntegrityError:
        same_scope = RetentionPolicy.objects.filter(
            agent_id=policy.agent_id, jurisdiction=policy.jurisdiction
        )
        if (existing := same_scope.exclude(pk=policy.pk).first()) is not None:
            raise _duplicate(existing) from None
        raise
    return policy


def retention_policy_create(
    *, actor, days: int, agent: Agent | None = None, jurisdiction: str = ""
) -> RetentionPolicy:
    policy = RetentionPolicy(agent=agent, jurisdiction=jurisdiction.strip().upper(), days=days)
    return _save_audited(
        actor=actor, policy=policy, action="retention_policy.created", before=None, scopes=set()
    )


def retention_policy_update(*, actor, policy: RetentionPolicy, changes: dict) -> RetentionPolicy:
    """Change `days`, `agent` or `jurisdiction`; recordings of the old and the new scope are recomputed."""
    before = _audit_view(policy)
    old_scope = (policy.agent_id, policy.jurisdiction)
    if "agent" in changes:
        policy.agent = changes["agent"]
    if "jurisdiction" in changes:
        policy.jurisdiction = (changes["jurisdiction"] or "").strip().upper()
    if "days" in changes:
        policy.days = changes["days"]
    return _save_audited(
        actor=actor, policy=policy, action="retention_policy.updated", before=before, scopes={old_scope}
    )


def retention_policy_delete(*, actor, policy: RetentionPolicy) -> None:
    """Its recordings fall back to the next most specific rule."""
    with transaction.atomic():
        before = _audit_view(policy)
        scope = (policy.agent_id, policy.jurisdiction)
        public_id = policy.public_id
        policy.delete()
        audit_record(
            actor=actor,
            action="retention_policy.deleted",
            object_type="retention_policy",
            object_id=public_id,
            before=before,
            after=None,
        )
        _retention_changed({scope})
