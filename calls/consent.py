"""What a call's caller heard first: the consent opener snapshotted on the call, and the proof that it was
heard in full (`consent_delivered_at`). The only code that writes either; compliance chooses the opener
(the call's decision names it, compliance.clearance).
Neither is ever written to a call that has ended: each write is an UPDATE conditional on the call being
active, so a call that ends meanwhile keeps what it had."""

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from agents.phone import jurisdiction_for
from calls.announce import call_changed_on_commit
from calls.models import Call, CallStatus, Direction
from compliance.jurisdictions import consent_stricter, jurisdiction_rules
from compliance.models import ConsentOpener
from compliance.openers import opener_audio_ensure, opener_for, opener_snapshot


def call_opener(call: Call) -> ConsentOpener | None:
    """The opener the call's decision chose, while it exists; else the one chosen now the same way: the
    stricter of the two parties' jurisdictions, then the most specific opener (compliance.openers)."""
    chosen = (call.decision or {}).get("opener") or {}
    if chosen.get("id") is not None:
        opener = ConsentOpener.objects.select_related("agent").filter(pk=chosen["id"]).first()
        if opener is not None:
            return opener
    return opener_for(agent=call.agent, jurisdiction=_consent_jurisdiction(call))


def _consent_jurisdiction(call: Call) -> str:
    consent = (call.decision or {}).get("consent")
    if consent is not None:
        return consent["jurisdiction"] or ""
    # A call without a decision (made before decisions were stored): its parties, read from its numbers.
    outbound = call.direction == Direction.OUTBOUND
    person_number, other_number = (
        (call.to_number, call.from_number) if outbound else (call.from_number, call.to_number)
    )
    person = jurisdiction_rules(call.jurisdiction or _jurisdiction_of(person_number))
    other = jurisdiction_rules(_jurisdiction_of(other_number))
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
