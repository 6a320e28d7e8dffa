"""A call's evidence record answers a compliance officer's four questions: why we were allowed to place it,
what the caller heard first, where the recording is, and when it will be (or was) deleted."""

import csv
import io
import json
import zipfile
from datetime import timedelta

import pytest
from django.utils import timezone

from campaigns.models import Campaign
from compliance.holds import HoldTarget, legal_hold_place
from recordings.models import RecordingStatus
from recordings.retention import retention_sweep
from tests.recordings.retention_helpers import call_of, stored_recording

pytestmark = pytest.mark.django_db

DECISION = {
    "cleared": True,
    "decided_at": "2026-11-29T15:00:00Z",
    "jurisdictions": {},
    "retention": {"days": 30},
}
OPENER = {"id": 7, "jurisdiction": "US-CA", "text": "This call is recorded.", "audio_sha256": "ab" * 32}


@pytest.fixture
def evidenced_call(recording_store):
    """A recorded call with its decision and a delivered opener, its recording stored 10 days ago."""
    recording = stored_recording(days_ago=10)
    call = call_of(recording)
    call.decision, call.consent_opener = DECISION, OPENER
    call.consent_delivered_at = call.created_at + timedelta(seconds=2)
    call.save(update_fields=["decision", "consent_opener", "consent_delivered_at"])
    return call_of(recording)


def evidence_of(api, user, call) -> dict:
    response = api(user).get(f"/v1/calls/{call.public_id}/evidence")
    assert response.status_code == 200, response.content
    return response.json()


def test_the_evidence_says_why_the_call_was_allowed_what_was_heard_first_and_where_the_recording_is(
    api, carol, evidenced_call
):
    evidence = evidence_of(api, carol, evidenced_call)
    assert evidence["call"]["id"] == evidenced_call.public_id
    assert evidence["decision"] == DECISION
    assert evidence["consent"]["opener"] == OPENER
    assert evidence["consent"]["delivered_at"].startswith(f"{evidenced_call.consent_delivered_at:%Y-%m-%d}")
    assert "echoed back" in evidence["consent"]["proof"]
    recording = evidence["recording"]
    stored = evidenced_call.recording
    assert (recording["status"], recording["sha256"], recording["storage_key"]) == (
        RecordingStatus.STORED,
        stored.sha256,
        stored.storage_key,
    )
    assert recording["store"]  # which store: the local folder or s3://bucket
    assert recording["retention"] == {"days": 30, "scope": "default", "policy_id": None}
    assert recording["expires_at"].startswith(f"{stored.expires_at:%Y-%m-%d}")
    assert (recording["legal_holds"], recording["deletion_receipt"]) == ([], None)


def test_the_evidence_names_the_hold_that_keeps_a_recording(api, carol, evidenced_call):
    hold = legal_hold_place(
        actor=carol, kind=HoldTarget.CALL, target=evidenced_call.public_id, reason="Smith v. Acme"
    )
    [held] = evidence_of(api, carol, evidenced_call)["recording"]["legal_holds"]
    assert (held["id"], held["reason"], held["placed_by"]) == (hold.public_id, "Smith v. Acme", "carol")
    assert "Smith v. Acme" in held["why"]


def test_the_evidence_of_a_deleted_recording_carries_its_deletion_receipt(api, carol, recording_store):
    recording = stored_recording(days_ago=40)  # past the 30-day default
    assert retention_sweep(actor=carol).deleted == 1
    evidence = evidence_of(api, carol, call_of(recording))
    receipt = evidence["recording"]["deletion_receipt"]
    assert evidence["recording"]["status"] == RecordingStatus.DELETED
    assert (receipt["storage_key"], receipt["sha256"]) == (recording.storage_key, recording.sha256)
    assert (receipt["retention_days"], receipt["retention_scope"], receipt["requested_by"]) == (
        30,
        "default",
        "carol",
    )


def test_a_call_without_a_recording_says_so(api, carol):
    from tests.factories import CallFactory

    call = CallFactory(record=False)
    evidence = evidence_of(api, carol, call)
    assert evidence["recording"] is None
    assert "No proof" in evidence["consent"]["proof"]


def test_the_evidence_is_for_compliance_officers_and_admins_only(
    api, client, alice, bob, ada, carol, evidenced_call
):
    for user in (alice, bob):
        assert api(user).get(f"/v1/calls/{evidenced_call.public_id}/evidence").status_code == 403
        client.force_login(user)
        assert client.get(f"/calls/{evidenced_call.public_id}/evidence/").status_code == 403
    assert api(ada).get(f"/v1/calls/{evidenced_call.public_id}/evidence").status_code == 200
    assert api(carol).get("/v1/calls/call_nope/evidence").status_code == 404


def test_the_printable_page_shows_the_four_answers(client, carol, evidenced_call):
    client.force_login(carol)
    page = client.get(f"/calls/{evidenced_call.public_id}/evidence/").content.decode()
    for heading in (
        "Why we were allowed to place it",
        "What the caller heard first",
        "Where the recording is",
    ):
        assert heading in page
    assert "This call is recorded." in page
    assert evidenced_call.recording.sha256 in page


def test_a_campaigns_evidence_zip_holds_every_calls_record_and_an_index(client, carol, recording_store):
    recordings = [stored_recording(days_ago=1) for _ in range(2)]
    campaign = Campaign.objects.create(name="Renewals", agent=call_of(recordings[0]).agent)
    for recording in recordings:
        type(recording.call).objects.filter(pk=recording.call_id).update(campaign=campaign)
    client.force_login(carol)
    response = client.get(f"/campaigns/{campaign.public_id}/evidence.zip")
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment")
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    index = list(csv.DictReader(io.StringIO(archive.read("index.csv").decode())))
    assert {row["call_id"] for row in index} == {r.call.public_id for r in recordings}
    for row in index:
        record = json.loads(archive.read(row["file"]))
        assert record["call"]["id"] == row["call_id"]
        assert record["recording"]["sha256"] == row["recording_sha256"]
    assert timezone.now()  # the zip was made now, from stored facts
