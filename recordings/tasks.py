"""Celery tasks for recordings: upload with retry until the store confirms, the sweep that re-queues
stuck uploads and settles recordings whose writer died, and retention: the periodic sweep that deletes
expired recordings and the recompute of their expiry after a policy change."""

import logging
from datetime import timedelta

from celery import shared_task
from django.conf import settings

from recordings import retention
from recordings import services as recordings

log = logging.getLogger(__name__)

RETRY_CAP_SECONDS = 600


@shared_task(name="recordings.upload", bind=True, acks_late=True, max_retries=None)
def upload_recording(self, recording_id: int) -> None:
    try:
        recordings.recording_upload(recording_id=recording_id)
    except recordings.RecordingStoreUnavailable as exc:
        delay = min(RETRY_CAP_SECONDS, settings.RECORDINGS_UPLOAD_RETRY_SECONDS * 2**self.request.retries)
        log.warning("recording %s: store unavailable (%s); retry in %.1f s", recording_id, exc, delay)
        raise self.retry(exc=exc, countdown=delay) from exc


@shared_task(name="recordings.upload_sweep", acks_late=True)
def upload_sweep() -> int:
    """Salvage the spools of writers that died (or mark their recording failed when no spool is left), and
    re-queue uploads nobody is retrying (a lost task); an upload whose spool vanished marks it failed."""
    for recording_id in recordings.recordings_orphaned(older_than=timedelta(minutes=10)):
        recordings.recording_salvage(recording_id=recording_id)
    stuck = recordings.recordings_needing_upload(idle_for=timedelta(minutes=15))
    for recording_id in stuck:
        upload_recording.delay(recording_id)
    return len(stuck)


# A periodic run stops claiming after this long, so that it ends before beat's next one is due (every 10
# minutes, wordcab_admin/schedules.py); whatever is left is the next run's. Two runs at once are safe anyway.
RETENTION_SWEEP_BUDGET_SECONDS = 8 * 60


@shared_task(name="recordings.retention_sweep", acks_late=True)
def retention_sweep() -> dict:
    """Delete expired recordings that no legal hold keeps (recordings/retention.py)."""
    report = retention.retention_sweep(time_budget=RETENTION_SWEEP_BUDGET_SECONDS)
    return {
        "deleted": report.deleted,
        "refused": report.refused,
        "store_unreachable": report.store_unreachable,
    }


@shared_task(name="recordings.retention_recompute", acks_late=True)
def retention_recompute() -> int:
    """Recompute the expiry of the recordings whose retention policy changed; every sweep does it too."""
    return retention.expiry_recompute_pending()
