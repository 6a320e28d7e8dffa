"""calls/consent.py: the opener snapshot and its proof are written only while the call is active, so no
evidence ever lands on a call that has ended, even through a stale read of it."""

import pytest
from django.utils import timezone

from calls.consent import call_consent_delivered, call_opener_snapshot, calls_opener_snapshot
from calls.models import Call, CallStatus
from compliance.openers import opener_create
from tests.factories import CallFactory, ConsentOpenerFactory

pytestmark = pytest.mark.django_db

ENDED = sorted(CallStatus.terminal())
ACTIVE = sorted(CallStatus.active())


@pytest.fixture
def opener(db):
    return opener_create(actor=None, jurisdiction="", language="en-US", text="This call is recorded.")


@pytest.mark.parametrize("status", ACTIVE)
def test_an_active_call_gets_its_opener_snapshot_and_its_proof(opener, status):
    call = CallFactory(status=status)
    assert call_opener_snapshot(call=call)["id"] == opener.pk
    assert call_consent_delivered(call_id=call.pk) is True
    call.refresh_from_db()
    assert call.consent_opener["id"] == opener.pk
    assert call.consent_delivered_at is not None


@pytest.mark.parametrize("status", ENDED)
def test_no_opener_snapshot_is_stored_on_an_ended_call(opener, status):
    call = CallFactory(status=status, ended_at=timezone.now())
    assert call_opener_snapshot(call=call) is None
    assert Call.objects.get(pk=call.pk).consent_opener is None


@pytest.mark.parametrize("status", ENDED)
def test_no_proof_of_consent_is_stored_on_an_ended_call(status):
    call = CallFactory(status=status, ended_at=timezone.now())
    assert call_consent_delivered(call_id=call.pk) is False
    assert Call.objects.get(pk=call.pk).consent_delivered_at is None


def test_a_call_that_ended_after_it_was_read_gets_no_evidence(opener):
    """The writes are UPDATEs conditional on the stored status, not on the caller's copy of the call."""
    call = CallFactory(status=CallStatus.RINGING)  # the caller's read: ringing
    Call.objects.filter(pk=call.pk).update(status=CallStatus.COMPLETED, ended_at=timezone.now())
    assert call_opener_snapshot(call=call) is None
    assert call_consent_delivered(call_id=call.pk) is False
    stored = Call.objects.get(pk=call.pk)
    assert (stored.consent_opener, stored.consent_delivered_at) == (None, None)


def test_an_ended_call_keeps_the_evidence_it_had_and_the_first_echo_still_counts(opener):
    call = CallFactory(status=CallStatus.IN_PROGRESS)
    snapshot = call_opener_snapshot(call=call)
    first = timezone.now()
    assert call_consent_delivered(call_id=call.pk, at=first) is True
    assert call_consent_delivered(call_id=call.pk) is False  # a second echo changes nothing
    Call.objects.filter(pk=call.pk).update(status=CallStatus.COMPLETED, ended_at=timezone.now())
    assert call_opener_snapshot(call=Call.objects.get(pk=call.pk)) == snapshot
    stored = Call.objects.get(pk=call.pk)
    assert (stored.consent_opener, stored.consent_delivered_at) == (snapshot, first)


def test_calls_snapshotted_together_get_what_each_gets_alone(opener):
    """calls_opener_snapshot (a burst of media streams) stores what call_opener_snapshot would, call by
    call: the opener a decision names, the one chosen for the call's jurisdiction, a snapshot already
    taken kept, and nothing on a call that ended after it was read."""
    named = ConsentOpenerFactory(jurisdiction="US-CA", text="Named by the decision.")
    californian = ConsentOpenerFactory(jurisdiction="US-CA", text="For California.")
    by_decision = CallFactory(status=CallStatus.RINGING, decision={"opener": {"id": named.pk}})
    by_jurisdiction = CallFactory(status=CallStatus.RINGING, jurisdiction="US-CA")
    by_default = CallFactory(status=CallStatus.RINGING, to_number="+442071838750")
    kept = CallFactory(status=CallStatus.IN_PROGRESS, consent_opener={"id": 0, "text": "Already played."})
    ended = CallFactory(status=CallStatus.RINGING)  # read ringing, ended since
    Call.objects.filter(pk=ended.pk).update(status=CallStatus.COMPLETED, ended_at=timezone.now())
    calls = [by_decision, by_jurisdiction, by_default, kept, ended]

    snapshots = calls_opener_snapshot(calls=calls)

    assert {pk: (snapshot or {}).get("id") for pk, snapshot in snapshots.items()} == {
        by_decision.pk: named.pk,
        by_jurisdiction.pk: californian.pk,
        by_default.pk: opener.pk,
        kept.pk: 0,
        ended.pk: None,
    }
    stored = dict(Call.objects.filter(pk__in=[c.pk for c in calls]).values_list("pk", "consent_opener"))
    assert stored == snapshots
    for call in calls:  # and each is what the call alone answers now
        assert call_opener_snapshot(call=Call.objects.get(pk=call.pk)) == snapshots[call.pk]
