"""The retention sweep against a real S3 store (SeaweedFS): DeleteObjects batches, a store that is down,
and two sweeps at once."""

import threading

import pytest
from django.db import connection

from compliance.models import AuditEvent
from recordings.models import Recording, RecordingDeletionReceipt, RecordingStatus
from recordings.object_delete import S3BatchDeleter, batch_deleter_for
from recordings.retention import retention_sweep
from recordings.services import recordings_storage
from tests.recordings.retention_helpers import in_store, status_of, stored_recording

pytestmark = pytest.mark.usefixtures("s3_recording_store")


def objects_in_bucket(seaweedfs) -> set[str]:
    pages = seaweedfs.client().get_paginator("list_objects_v2").paginate(Bucket=seaweedfs.bucket)
    return {item["Key"] for page in pages for item in page.get("Contents", [])}


def test_the_sweep_deletes_expired_objects_from_s3_in_batches_and_keeps_the_rest(db, s3_recording_store):
    assert isinstance(batch_deleter_for(recordings_storage()), S3BatchDeleter)
    expired = [stored_recording(days_ago=31) for _ in range(5)]
    kept = stored_recording(days_ago=1)
    report = retention_sweep(batch_size=2, parallel=2)
    assert (report.deleted, report.refused, report.store_unreachable) == (5, 0, "")
    assert objects_in_bucket(s3_recording_store) == {kept.storage_key}
    assert {status_of(r) for r in expired} == {RecordingStatus.DELETED}
    receipts = RecordingDeletionReceipt.objects.all()
    assert {r.store for r in receipts} == {f"s3://{s3_recording_store.bucket}"}
    assert {r.storage_key for r in receipts} == {r.storage_key for r in expired}


def test_deleting_an_object_already_gone_counts_as_deleted(db, s3_recording_store):
    recording = stored_recording(days_ago=31)
    s3_recording_store.client().delete_object(Bucket=s3_recording_store.bucket, Key=recording.storage_key)
    assert retention_sweep().deleted == 1
    assert status_of(recording) == RecordingStatus.DELETED


def test_a_store_that_is_down_leaves_everything_stored_and_the_next_sweep_deletes_it(db, s3_recording_store):
    expired = [stored_recording(days_ago=31) for _ in range(3)]
    s3_recording_store.stop()
    report = retention_sweep(batch_size=2, parallel=2)
    assert report.deleted == 0
    assert report.store_unreachable
    assert {status_of(r) for r in expired} == {RecordingStatus.STORED}
    assert set(Recording.objects.values_list("sweep_token", flat=True)) == {""}  # released for the next run
    assert not RecordingDeletionReceipt.objects.exists()
    assert not AuditEvent.objects.filter(action="recording.deleted").exists()

    s3_recording_store.start()
    assert all(in_store(r) for r in expired)  # nothing was lost meanwhile
    report = retention_sweep()
    assert (report.deleted, report.store_unreachable) == (3, "")
    assert objects_in_bucket(s3_recording_store) == set()
    assert {status_of(r) for r in expired} == {RecordingStatus.DELETED}


def test_two_sweeps_at_once_never_delete_a_recording_twice(transactional_db, s3_recording_store):
    """Each sweep in a thread of its own, with its own database connection, claiming small batches: on
    PostgreSQL they claim with SKIP LOCKED, on SQLite one writes at a time. Every recording is deleted by
    exactly one of them: one receipt and one audit event each, and the two reports add up."""
    expired = [stored_recording(days_ago=31) for _ in range(120)]
    start = threading.Barrier(2)
    reports, errors = [], []

    def sweep() -> None:
        try:
            start.wait(timeout=10)
            reports.append(retention_sweep(batch_size=7, parallel=3))
        except Exception as exc:  # noqa: BLE001 -- reported by the assertion below, with the thread's error
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=sweep) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    assert sum(report.deleted for report in reports) == len(expired)
    assert RecordingDeletionReceipt.objects.count() == len(expired)
    assert AuditEvent.objects.filter(action="recording.deleted").count() == len(expired)
    assert set(Recording.objects.values_list("status", flat=True)) == {RecordingStatus.DELETED}
    assert objects_in_bucket(s3_recording_store) == set()
