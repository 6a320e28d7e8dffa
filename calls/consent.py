"""What a call's caller heard first: the consent opener snapshotted on the call, and the proof that it was
heard in full (`consent_delivered_at`). The only code that writes either; compliance chooses the opener
(the call's decision names it, compliance.clearance).
Neither is ever written to a call that has ended: each write is an UPDATE conditional on the call being
active, so a call that ends meanwhile keeps what it had."""

import functools
from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from agents.phone import jurisdiction_for
from calls.announce import call_changed_on_commit, calls_changed_on_commit
from calls.models import Call, CallStatus, Direction
from calls.serializers import call_object
from compliance.jurisdictions import JurisdictionRules, consent_stricter, jurisdiction_rules
from compliance.models import ConsentOpener
from compliance.openers import opener_audio_ensure, opener_for, opener_snapshot


def call_opener(call: Call) -> ConsentOpener | None:
    """The opener the call's decision chose, while it exists; else the one chosen now the same way: the
    stricter of the two parties' jurisdictions, then the most specific opener (compliance.openers)."""
    chosen_id = _chosen_opener_id(call)
    if chosen_id is not None:
        opener = ConsentOpener.objects.select_related("agent").filter(pk=chosen_id).first()
        if opener is not None:
            return opener
    return opener_for(agent=call.agent, jurisdiction=_consent_jurisdiction(call))


def _chosen_opener_id(call: Call) -> int | None:
    return ((call.decision or {}).get("opener") or {}).get("id")


def _consent_jurisdiction(
    call: Call, rules_of: Callable[[str], JurisdictionRules] = jurisdiction_rules
) -> str:
    consent = (call.decision or {}).get("consent")
    if consent is not None:
        return consent["jurisdiction"] or ""
    # A call without a decision (made before decisions were stored): its parties, read from its numbers.
    outbound = call.direction == Direction.OUTBOUND
    person_number, other_number = (
        (call.to_number, call.from_number) if outbound else (call.from_number, call.to_number)
    )
    person = rules_of(call.jurisdiction or _jurisdiction_of(person_number))
    other = rules_of(_jurisdiction_of(other_number))
    return consent_stricter(person, other).code


def _jurisdiction_of(number: str) -> str:
    return jurisdiction_for(number) if number else ""


def call_opener_snapshot(*, call: Call) -> dict | None:
    """The call's opener as it will be played, stored on the call once (a later edit of the opener does
    not change what this call's evidence says it heard). Nothing is stored on a call that has ended: then
    the call's own snapshot (if any) is answered, or None."""
    if call.consent_opener:
        return call.consent_opener
    opener = call_opener(call)
    if opener is None:
        return None
    snapshot = opener_snapshot(opener_audio_ensure(opener))
    updated = Call.objects.filter(
        pk=call.pk, consent_opener__isnull=True, status__in=CallStatus.active()
    ).update(consent_opener=snapshot, updated_at=timezone.now())
    if not updated:  # another writer was first (theirs stands), or the call has ended (nothing is stored)
        call.refresh_from_db(fields=["consent_opener"])
        return call.consent_opener
    call.consent_opener = snapshot
    call_changed_on_commit(call)
    return snapshot


def calls_opener_snapshot(*, calls: Sequence[Call]) -> dict[int, dict | None]:
    """call_opener_snapshot for calls that start together (a burst of media streams), by call pk, in a
    number of queries that grows with the distinct openers, not the calls: each opener (the one a decision
    names, or the one chosen for an agent and jurisdiction) is looked up once, each jurisdiction's rules
    read once, and the calls that play the same opener get it in one conditional UPDATE. What is stored,
    and when nothing is, is the same as call by call; the calls snapshotted now are announced after
    commit, together."""
    snapshots: dict[int, dict | None] = {
        call.pk: call.consent_opener for call in calls if call.consent_opener
    }
    wanting = [call for call in calls if not call.consent_opener]
    openers = _openers_of(wanting)
    by_opener: dict[int, list[Call]] = defaultdict(list)
    opener_of: dict[int, ConsentOpener] = {}
    for call in wanting:
        opener = openers[call.pk]
        if opener is None:
            snapshots[call.pk] = None
        else:
            by_opener[opener.pk].append(call)
            opener_of[opener.pk] = opener
    stored: list[Call] = []
    for opener_pk, sharing in by_opener.items():
        snapshot = opener_snapshot(opener_audio_ensure(opener_of[opener_pk]))
        stored += _snapshot_store(sharing, snapshot, snapshots)
    if stored:
        campaign_ids = {call.campaign_id for call in stored if call.campaign_id}
        calls_changed_on_commit([call_object(call) for call in stored], campaign_ids)
    return snapshots


def _openers_of(calls: Sequence[Call]) -> dict[int, ConsentOpener | None]:
    """call_opener of each call (by pk): the openers decisions name in one query, the others chosen once
    per agent and jurisdiction."""
    named_ids = {opener_id for call in calls if (opener_id := _chosen_opener_id(call)) is not None}
    named = {}
    if named_ids:
        named = {o.pk: o for o in ConsentOpener.objects.select_related("agent").filter(pk__in=named_ids)}
    rules_of = functools.cache(jurisdiction_rules)
    chosen: dict[tuple[int, str], ConsentOpener | None] = {}
    openers: dict[int, ConsentOpener | None] = {}
    for call in calls:
        opener = named.get(_chosen_opener_id(call))
        if opener is None:
            key = (call.agent_id, _consent_jurisdiction(call, rules_of).upper())
            if key not in chosen:
                chosen[key] = opener_for(agent=call.agent, jurisdiction=key[1])
            opener = chosen[key]
        openers[call.pk] = opener
    return openers


def _snapshot_store(calls: list[Call], snapshot: dict, snapshots: dict[int, dict | None]) -> list[Call]:
    """Store `snapshot` on the calls that still have none and are active (one UPDATE); the others keep
    what another writer stored first (read back in one query), or None once ended. Returns the calls
    snapshotted now, their copies updated."""
    pks = [call.pk for call in calls]
    now = timezone.now()
    updated = Call.objects.filter(
        pk__in=pks, consent_opener__isnull=True, status__in=CallStatus.active()
    ).update(consent_opener=snapshot, updated_at=now)
    if updated == len(pks):
        for call in calls:
            call.consent_opener = snapshot
            snapshots[call.pk] = snapshot
        return list(calls)
    # Not all were stored: tell which from the rows (one query), as call_opener_snapshot's refresh does.
    stored_now = dict(Call.objects.filter(pk__in=pks).values_list("pk", "consent_opener"))
    fresh = []
    for call in calls:
        call.consent_opener = stored_now.get(call.pk)
        snapshots[call.pk] = call.consent_opener
        if updated and call.consent_opener == snapshot:
            fresh.append(call)
    return fresh


def call_consent_delivered(*, call_id: int, at: datetime | None = None) -> bool:
    """Twilio echoed the `consent_opener` mark: the opener played in full. The first echo counts, and only
    while the call is active: an echo that arrives after the call ended proves nothing and is not stored."""
    at = at or timezone.now()
    with transaction.atomic():
        updated = Call.objects.filter(
            pk=call_id, consent_delivered_at__isnull=True, status__in=CallStatus.active()
        ).update(consent_delivered_at=at, updated_at=at)
        if updated:
            call_changed_on_commit(Call.objects.select_related("agent").get(pk=call_id))
    return bool(updated)
