"""What a call's caller heard first: the consent opener snapshotted on the call, and the proof that it was
heard in full (`consent_delivered_at`). The only code that writes either; compliance chooses the opener.
Neither is ever written to a call that has ended: each write is an UPDATE conditional on the call being
active, so a call that ends meanwhile keeps what it had."""

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from calls.announce import call_changed_on_commit
from calls.models import Call, CallStatus
from compliance.openers import opener_for, opener_snapshot


def call_opener_snapshot(*, call: Call) -> dict | None:
    """The call's opener as it will be played, stored on the call once (a later edit of the opener does
    not change what this call's evidence says it heard). Nothing is stored on a call that has ended: then
    the call's own snapshot (if any) is answered, or None."""
    if call.consent_opener:
        return call.consent_opener
    opener = opener_for(agent=call.agent, jurisdiction=call.jurisdiction)
    if opener is None:
        return None
    snapshot = opener_snapshot(opener)
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
