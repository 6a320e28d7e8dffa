"""`POST /v1/retention/sweep` (and its dry run), the dry-run page, `GET /v1/calls/{id}/retention` and the
call page's retention facts: for the compliance role where they change or reveal holds, refused otherwise."""

import pytest

from compliance import holds, retention
from compliance.holds import HoldTarget
from compliance.models import AuditEvent
from recordings.models import RecordingDeletionReceipt, RecordingStatus
from recordings.retention import retention_sweep
from tests.factories import AgentFactory, CallFactory
from tests.recordings.retention_helpers import in_store, status_of, stored_recording

pytestmark = pytest.mark.usefixtures("recording_store")
SWEEP = "/v1/retention/sweep"


def test_a_compliance_officer_runs_the_sweep_now_and_the_deletions_are_audited_as_theirs(db, api, carol):
    expired = stored_recording(days_ago=31)
    response = api(carol).post(SWEEP, {}, format="json", HTTP_X_REQUEST_ID="sweep-now-42")
    assert response.status_code == 200
    body = response.json()
    assert (body["dry_run"], body["deleted"], body["refused"], body["more"]) == (False, 1, 0, False)
    assert body["deleted_call_ids"] == [expired.call.public_id]
    assert status_of(expired) == RecordingStatus.DELETED
    assert RecordingDeletionReceipt.objects.get().requested_by == "carol"
    event = AuditEvent.objects.get(action="recording.deleted")
    assert (event.actor, event.actor_label, event.request_id) == (carol, "carol", "sweep-now-42")


def test_a_dry_run_lists_what_would_go_and_what_a_hold_keeps_and_deletes_nothing(db, api, carol):
    agent = AgentFactory()
    due = stored_recording(days_ago=31)
    held = stored_recording(agent=agent, days_ago=50)
    hold = holds.legal_hold_place(actor=carol, kind=HoldTarget.AGENT, target=agent, reason="Matter 9")
    response = api(carol).post(SWEEP, {"dry_run": True}, format="json")
    assert response.status_code == 200
    body = response.json()
    assert (body["dry_run"], body["would_delete"], body["held"], body["truncated"]) == (True, 1, 1, False)
    [item] = body["recordings"]
    assert (item["call_id"], item["storage_key"], item["sha256"]) == (
        due.call.public_id,
        due.storage_key,
        due.sha256,
    )
    assert item["retention"] == {"policy_id": None, "scope": "default", "days": 30}
    [kept] = body["kept"]
    assert kept["call_id"] == held.call.public_id
    assert [(h["id"], h["target"], h["value"], h["reason"]) for h in kept["holds"]] == [
        (hold.public_id, "agent", agent.public_id, "Matter 9")
    ]
    assert "Matter 9" in kept["why"][0]
    assert {status_of(due), status_of(held)} == {RecordingStatus.STORED}
    assert in_store(due)
    assert not AuditEvent.objects.filter(action="recording.deleted").exists()


@pytest.mark.parametrize("who", ["alice", "bob"])
def test_other_roles_may_not_run_the_sweep_or_its_dry_run(db, api, request, who):
    expired = stored_recording(days_ago=31)
    client = api(request.getfixturevalue(who))
    assert client.post(SWEEP, {}, format="json").status_code == 403
    assert client.post(SWEEP, {"dry_run": True}, format="json").status_code == 403
    assert status_of(expired) == RecordingStatus.STORED


def test_a_bad_dry_run_flag_is_a_400(db, api, carol):
    response = api(carol).post(SWEEP, {"dry_run": "perhaps"}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["field"] == "dry_run"


def test_the_dry_run_page_shows_the_same_for_a_compliance_officer(client, carol):
    agent = AgentFactory()
    due = stored_recording(days_ago=31)
    held = stored_recording(agent=agent, days_ago=50)
    holds.legal_hold_place(actor=carol, kind=HoldTarget.AGENT, target=agent, reason="Matter 9")
    client.force_login(carol)
    response = client.get("/compliance/retention/sweep/dry-run")
    assert response.status_code == 200
    html = response.content.decode()
    assert due.call.public_id in html
    assert held.call.public_id in html
    assert "Matter 9" in html
    assert status_of(due) == RecordingStatus.STORED


@pytest.mark.parametrize("who", ["alice", "bob"])
def test_other_roles_may_not_open_the_dry_run_page(client, request, who):
    client.force_login(request.getfixturevalue(who))
    assert client.get("/compliance/retention/sweep/dry-run").status_code == 403


def test_a_calls_retention_reads_its_rule_and_expiry_and_holds_only_for_compliance(db, api, alice, carol):
    agent = AgentFactory()
    recording = stored_recording(agent=agent, days_ago=1)
    policy = retention.retention_policy_create(actor=carol, agent=agent, days=90)
    hold = holds.legal_hold_place(
        actor=carol, kind=HoldTarget.CALL, target=recording.call.public_id, reason="Matter 3"
    )
    url = f"/v1/calls/{recording.call.public_id}/retention"
    body = api(carol).get(url).json()
    assert body["retention"] == {"policy_id": policy.public_id, "scope": "agent", "days": 90}
    assert (body["status"], body["held"], body["deletion_receipt"]) == ("stored", True, None)
    assert body["expires_at"] is not None
    assert [h["id"] for h in body["holds"]] == [hold.public_id]
    as_operator = api(alice).get(url).json()
    assert (as_operator["held"], as_operator["holds"]) == (True, None)  # held, but not why


def test_a_deleted_recordings_retention_shows_its_receipt(db, api, bob):
    recording = stored_recording(days_ago=31)
    retention_sweep()
    body = api(bob).get(f"/v1/calls/{recording.call.public_id}/retention").json()
    assert body["status"] == "deleted"
    receipt = body["deletion_receipt"]
    assert receipt["id"].startswith("rcpt_")
    assert (receipt["storage_key"], receipt["sha256"], receipt["requested_by"]) == (
        recording.storage_key,
        recording.sha256,
        "system",
    )


def test_a_call_without_a_recording_has_no_retention(db, api, alice):
    call = CallFactory()
    assert api(alice).get(f"/v1/calls/{call.public_id}/retention").status_code == 404
    assert api(alice).get("/v1/calls/call_nothing/retention").status_code == 404


def test_the_call_page_shows_the_expiry_its_rule_and_a_hold(client, alice, carol):
    agent = AgentFactory()
    recording = stored_recording(agent=agent, days_ago=1)
    policy = retention.retention_policy_create(actor=carol, agent=agent, days=90)
    holds.legal_hold_place(actor=carol, kind=HoldTarget.AGENT, target=agent, reason="Matter 5")
    client.force_login(carol)
    html = client.get(f"/calls/{recording.call.public_id}/").content.decode()
    assert policy.public_id in html
    assert "90 days" in html
    assert "Kept whatever its expiry" in html
    assert "Matter 5" in html
    client.force_login(alice)
    html = client.get(f"/calls/{recording.call.public_id}/").content.decode()
    assert "Kept whatever its expiry" in html
    assert "Matter 5" not in html  # the reason is for compliance officers


def test_the_call_page_shows_a_deleted_recordings_receipt(client, alice):
    recording = stored_recording(days_ago=31)
    retention_sweep()
    client.force_login(alice)
    html = client.get(f"/calls/{recording.call.public_id}/").content.decode()
    receipt = RecordingDeletionReceipt.objects.get()
    assert "Deleted" in html
    assert receipt.public_id in html
    assert recording.sha256 in html
