"""What a call's caller heard first: the consent opener snapshotted on the call, and the proof that it was
heard in full (`consent_delivered_at`). The only code that writes either; compliance chooses the opener."""

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from calls.announce import call_changed_on_commit
from calls.models import Call
from compliance.openers import opener_for, opener_snapshot


def call_opener_snapshot(*, call: Call) -> dict | None:
    """The call's opener as it will be played, stored on the call once (a later edit of the opener does
    not change what this call's evidence says it heard)."""
    if call.consent_opener:
        return call.consent_opener
    opener = opener_for(agent=call.agent, jurisdiction=call.jurisdiction)
    if opener is None:
        return None
    snapshot = opener_snapshot(opener)
    updated = Call.objects.filter(pk=call.pk, consent_opener__isnull=True).update(
        consent_opener=snapshot, updated_at=timezone.now()
    )
    if not updated:  # another writer was first: theirs stands
        call.refresh_from_db(fields=["consent_opener"])
        return call.consent_opener
    call.consent_opener = snapshot
    call_changed_on_commit(call)
    return snapshot


def call_consent_delivered(*, call_id: int, at: datetime | None = None) -> bool:
    """Twilio echoed the `consent_opener` mark: the opener played in full. The first echo counts."""
    at = at or timezone.now()
    with transaction.atomic():
        updated = Call.objects.filter(pk=call_id, consent_delivered_at__isnull=True).update(
            consent_delivered_at=at, updated_at=at
        )
        if updated:
            call_changed_on_commit(Call.objects.select_related("agent").get(pk=call_id))
    return bool(updated)
