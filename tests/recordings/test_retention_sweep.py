"""The retention sweep on local files: expiry from the most specific policy when a recording is stored and
again when a policy changes; expired recordings deleted with a receipt and an audit event each; never one
under a legal hold; idempotent; a dry run deletes nothing and says which hold keeps what."""

from datetime import timedelta

import pytest
from django.utils import timezone

from calls.models import CallStatus
from calls.serializers import call_object
from campaigns.models import Campaign
from compliance import holds, retention
from compliance.holds import HoldTarget
from compliance.models import AuditEvent
from recordings.models import ExpiryRecompute, Recording, RecordingDeletionReceipt, RecordingStatus
from recordings.retention import expiry_recompute_pending, retention_sweep, retention_sweep_plan
from recordings.tasks import retention_recompute
from telephony.simulator.tasks import simulate_recording
from tests.factories import AgentFactory, CallFactory
from tests.recordings.retention_helpers import (
    CALLEE,
    CALLER,
    call_of,
    fresh,
    in_store,
    status_of,
    stored_recording,
)
from wordcab_admin import schedules

pytestmark = pytest.mark.usefixtures("recording_store")


def test_a_recording_stored_gets_the_expiry_of_the_most_specific_policy(
    transactional_db, carol, uploads_in_place
):
    agent = AgentFactory()
    retention.retention_policy_create(actor=carol, jurisdiction="US-CA", days=90)
    retention.retention_policy_create(actor=carol, agent=agent, days=60)
    retention.retention_policy_create(actor=carol, agent=agent, jurisdiction="US-CA", days=400)
    call = CallFactory(agent=agent, jurisdiction="US-CA", status=CallStatus.COMPLETED, record=True)
    simulate_recording(call_id=call.pk, talk_seconds=1)
    recording = Recording.objects.get(call=call)
    assert recording.status == RecordingStatus.STORED
    assert recording.expires_at == recording.stored_at + timedelta(days=400)


def test_without_a_policy_a_recording_is_kept_the_deployment_default(db, settings):
    settings.RETENTION_DEFAULT_DAYS = 12
    recording = stored_recording(days_ago=0)
    assert recording.expires_at == recording.stored_at + timedelta(days=12)


def test_a_new_policy_asks_for_a_recompute_in_its_own_transaction_and_the_task_moves_the_expiry(db, carol):
    agent = AgentFactory()
    mine = stored_recording(agent=agent, jurisdiction="US-CA", days_ago=0)
    other_agent = stored_recording(jurisdiction="US-CA", days_ago=0)
    elsewhere = stored_recording(agent=agent, jurisdiction="GB", days_ago=0)
    retention.retention_policy_create(actor=carol, agent=agent, jurisdiction="US-CA", days=7)
    assert list(ExpiryRecompute.objects.values_list("agent_id", "jurisdiction")) == [(agent.pk, "US-CA")]
    assert retention_recompute() == 1  # the task the change queued once committed
    assert fresh(mine).expires_at == mine.stored_at + timedelta(days=7)
    assert fresh(other_agent).expires_at == other_agent.expires_at  # 30 days, untouched
    assert fresh(elsewhere).expires_at == elsewhere.expires_at
    assert not ExpiryRecompute.objects.exists()


def test_changing_and_deleting_a_policy_move_the_expiry_of_its_old_and_new_scope(db, carol):
    agent = AgentFactory()
    california = stored_recording(agent=agent, jurisdiction="US-CA", days_ago=0)
    britain = stored_recording(agent=agent, jurisdiction="GB", days_ago=0)
    policy = retention.retention_policy_create(actor=carol, jurisdiction="US-CA", days=5)
    expiry_recompute_pending()
    assert fresh(california).expires_at == california.stored_at + timedelta(days=5)

    retention.retention_policy_update(actor=carol, policy=policy, changes={"jurisdiction": "GB", "days": 9})
    expiry_recompute_pending()
    assert fresh(california).expires_at == california.stored_at + timedelta(days=30)  # back to the default
    assert fresh(britain).expires_at == britain.stored_at + timedelta(days=9)

    retention.retention_policy_delete(actor=carol, policy=policy)
    expiry_recompute_pending()
    assert fresh(britain).expires_at == britain.stored_at + timedelta(days=30)


def test_the_recompute_goes_in_batches_over_every_recording_of_the_scope(db, carol):
    agent = AgentFactory()
    many = [stored_recording(agent=agent, days_ago=0) for _ in range(7)]
    retention.retention_policy_create(actor=carol, agent=agent, days=3)
    assert expiry_recompute_pending(batch_size=2) == 7
    assert {fresh(r).expires_at - r.stored_at for r in many} == {timedelta(days=3)}


def test_the_sweep_deletes_expired_recordings_with_a_receipt_and_an_audit_event_each(db):
    expired = stored_recording(days_ago=31)
    kept = stored_recording(days_ago=29)
    report = retention_sweep()
    assert (report.deleted, report.refused, report.store_unreachable) == (1, 0, "")
    assert not in_store(expired)
    assert in_store(kept)
    gone = fresh(expired)
    assert gone.status == RecordingStatus.DELETED
    assert gone.deleted_at is not None
    assert (gone.sweep_token, gone.sweep_claimed_until) == ("", None)
    assert status_of(kept) == RecordingStatus.STORED

    receipt = RecordingDeletionReceipt.objects.get()
    assert receipt.recording_id == expired.pk
    assert receipt.call_public_id == expired.call.public_id
    assert (receipt.storage_key, receipt.sha256, receipt.size_bytes) == (
        expired.storage_key,
        expired.sha256,
        expired.size_bytes,
    )
    assert (receipt.retention_days, receipt.retention_scope, receipt.retention_policy_id) == (
        30,
        "default",
        "",
    )
    assert receipt.deleted_at == gone.deleted_at
    assert receipt.requested_by == "system"

    event = AuditEvent.objects.get(action="recording.deleted")
    assert (event.actor_label, event.object_type, event.object_id) == (
        "system",
        "call",
        expired.call.public_id,
    )
    assert event.before["sha256"] == expired.sha256
    assert event.after["status"] == "deleted"
    assert event.after["retention"] == {"policy_id": None, "scope": "default", "days": 30}


def test_a_deleted_recording_has_no_recording_url_and_its_audio_is_a_404(db, api, alice):
    recording = stored_recording(days_ago=31)
    assert call_object(call_of(recording))["recording_url"] is not None
    retention_sweep()
    assert call_object(call_of(recording))["recording_url"] is None
    response = api(alice).get(f"/v1/calls/{recording.call.public_id}/recording")
    assert response.status_code == 404


def test_a_policy_of_zero_days_deletes_at_the_next_sweep(db, carol):
    agent = AgentFactory()
    today = stored_recording(agent=agent, days_ago=0)
    retention.retention_policy_create(actor=carol, agent=agent, days=0)
    report = retention_sweep()
    assert report.deleted == 1
    assert status_of(today) == RecordingStatus.DELETED
    receipt = RecordingDeletionReceipt.objects.get()
    assert (receipt.retention_days, receipt.retention_scope) == (0, "agent")


def test_a_second_sweep_finds_nothing_more_to_delete(db):
    stored_recording(days_ago=31)
    assert retention_sweep().deleted == 1
    assert retention_sweep().deleted == 0
    assert RecordingDeletionReceipt.objects.count() == 1
    assert AuditEvent.objects.filter(action="recording.deleted").count() == 1


def test_the_sweep_deletes_in_batches_with_several_in_flight(db):
    recordings = [stored_recording(days_ago=31) for _ in range(11)]
    report = retention_sweep(batch_size=2, parallel=3)
    assert report.deleted == 11
    assert not any(in_store(r) for r in recordings)
    assert RecordingDeletionReceipt.objects.count() == 11


@pytest.mark.parametrize("target", ["call", "agent", "campaign", "callee", "caller"])
def test_an_expired_recording_under_a_hold_is_never_deleted(db, carol, target):
    agent = AgentFactory()
    campaign = Campaign.objects.create(name="Renewals", agent=agent)
    held = stored_recording(
        agent=agent, campaign=campaign, to_number="+14155550111", from_number="+14155550122"
    )
    bystander = stored_recording(days_ago=31)
    kind, value = {
        "call": (HoldTarget.CALL, held.call.public_id),
        "agent": (HoldTarget.AGENT, agent),
        "campaign": (HoldTarget.CAMPAIGN, campaign.public_id),
        "callee": (HoldTarget.PHONE_NUMBER, "+14155550111"),
        "caller": (HoldTarget.PHONE_NUMBER, "+14155550122"),
    }[target]
    hold = holds.legal_hold_place(actor=carol, kind=kind, target=value, reason="Smith v. Acme, discovery")
    assert retention_sweep().deleted == 1
    assert status_of(held) == RecordingStatus.STORED
    assert in_store(held)
    assert status_of(bystander) == RecordingStatus.DELETED

    holds.legal_hold_release(actor=carol, hold=hold)
    assert retention_sweep().deleted == 1  # released: the sweep may delete it now
    assert status_of(held) == RecordingStatus.DELETED


def test_a_lengthened_policy_keeps_its_recordings_even_before_their_expiry_is_recomputed(db, carol):
    agent = AgentFactory()
    recording = stored_recording(agent=agent, days_ago=31)
    retention.retention_policy_create(actor=carol, agent=agent, days=365)
    ExpiryRecompute.objects.all().delete()  # as if the recompute were lost
    assert retention_sweep().deleted == 0
    assert status_of(recording) == RecordingStatus.STORED
    assert fresh(recording).expires_at == recording.stored_at + timedelta(days=365)  # and set right


def test_a_missing_recordings_folder_is_a_store_that_is_down(db, settings, tmp_path):
    recording = stored_recording(days_ago=31)
    settings.STORAGES = {
        **settings.STORAGES,
        "recordings": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "unmounted")},
        },
    }
    report = retention_sweep()
    assert report.deleted == 0
    assert "missing" in report.store_unreachable
    assert status_of(recording) == RecordingStatus.STORED
    assert fresh(recording).sweep_token == ""  # released for the next run


def test_a_dry_run_deletes_nothing_and_says_which_hold_keeps_what_and_why(db, carol):
    agent = AgentFactory()
    due = stored_recording(days_ago=31)
    held = stored_recording(agent=agent, days_ago=40)
    stored_recording(days_ago=1)
    hold = holds.legal_hold_place(
        actor=carol, kind=HoldTarget.AGENT, target=agent, reason="Regulator's inquiry 42"
    )
    plan = retention_sweep_plan()
    assert (plan.would_delete, plan.held) == (1, 1)
    assert [r.call_id for r in plan.recordings] == [due.call.public_id]
    assert plan.recordings[0].retention.scope == "default"
    [kept] = plan.kept
    assert kept.call_id == held.call.public_id
    assert kept.holds == [hold]
    assert kept.why == [
        f"legal hold {hold.public_id} on agent {agent.public_id}, placed by carol on "
        f"{hold.created_at:%Y-%m-%d %H:%M} UTC: Regulator's inquiry 42"
    ]
    assert {status_of(due), status_of(held)} == {RecordingStatus.STORED}
    assert in_store(due)
    assert not RecordingDeletionReceipt.objects.exists()


def test_the_sweep_is_a_periodic_task():
    assert ("recordings.retention_sweep", timedelta(minutes=10)) in [
        (task, every) for _name, task, every in schedules.PERIODIC
    ]


def test_a_sweep_stops_claiming_at_its_time_budget_and_says_more_is_left(db):
    stored_recording(days_ago=31)
    report = retention_sweep(time_budget=-1)
    assert (report.deleted, report.more) == (0, True)


def test_a_hold_on_a_number_written_nationally_keeps_the_calls_that_number_made(db, carol):
    inbound = stored_recording(to_number=CALLEE, from_number=CALLER, days_ago=31)
    holds.legal_hold_place(
        actor=carol, kind=HoldTarget.PHONE_NUMBER, target="(415) 555-9876", reason="Complaint"
    )
    assert retention_sweep().deleted == 0
    assert status_of(inbound) == RecordingStatus.STORED


def test_expired_recordings_of_a_sweep_started_earlier_are_not_deleted_twice(db):
    recording = stored_recording(days_ago=31)
    Recording.objects.filter(pk=recording.pk).update(
        sweep_token="another-run", sweep_claimed_until=timezone.now() + timedelta(minutes=5)
    )
    assert retention_sweep().deleted == 0  # claimed by a run in progress
    Recording.objects.filter(pk=recording.pk).update(
        sweep_claimed_until=timezone.now() - timedelta(seconds=1)
    )
    assert retention_sweep().deleted == 1  # that run died: its lease is over


def test_an_object_the_store_refuses_to_delete_stays_stored_and_the_others_go(db, recording_store):
    refused = stored_recording(days_ago=31)
    deleted = stored_recording(days_ago=31)
    path = recording_store / "store" / refused.storage_key
    path.unlink()
    path.mkdir()
    (path / "pinned").write_bytes(b"a directory that is not empty cannot be removed")
    report = retention_sweep()
    assert (report.deleted, report.refused) == (1, 1)
    assert refused.storage_key in report.errors[0]
    assert status_of(refused) == RecordingStatus.STORED
    assert fresh(refused).sweep_token == ""  # released: retried by the next run
    assert status_of(deleted) == RecordingStatus.DELETED
    assert not RecordingDeletionReceipt.objects.filter(recording=refused).exists()
