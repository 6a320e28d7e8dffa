"""Celery tasks for recordings: upload with retry until the store confirms, the sweep that re-queues
stuck uploads, and the simulator's synthetic recordings (which take the same storage path)."""

import logging
from datetime import timedelta

from celery import shared_task
from django.conf import settings

from calls import recordings
from calls.audio import pcm16_to_ulaw, speechlike_pcm16
from calls.models import Call

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
    """Re-queue uploads nobody is retrying (a lost task) and salvage spools of writers that died."""
    for recording_id in recordings.recordings_orphaned(older_than=timedelta(minutes=10)):
        recordings.recording_salvage(recording_id=recording_id)
    stuck = recordings.recordings_needing_upload(idle_for=timedelta(minutes=15))
    for recording_id in stuck:
        upload_recording.delay(recording_id)
    return len(stuck)


@shared_task(name="recordings.simulate", acks_late=True)
def simulate_recording(call_id: int, talk_seconds: float) -> None:
    """A simulated call's recording: `talk_seconds` of synthetic speech-like audio as an 8 kHz WAV,
    caller and agent taking turns, stored exactly as a real call's recording is."""
    call = Call.objects.get(pk=call_id)
    recording = recordings.recording_start(call=call)
    if recording is None:
        return  # a retried task: the first run already made it
    spool = recordings.StereoSpool(recordings.spool_path_for(call))
    caller = speechlike_pcm16(seconds=talk_seconds, seed=call.pk)
    agent = speechlike_pcm16(seconds=talk_seconds, seed=call.pk + 1_000_003)
    for second, (caller_pcm, agent_pcm) in enumerate(zip(caller, agent, strict=True)):
        silence = b"\x00" * len(caller_pcm)
        turn_is_callers = (second // 3) % 2 == 1  # the agent speaks first, then turns of about 3 s
        spool.add_agent(pcm16_to_ulaw(silence if turn_is_callers else agent_pcm))
        spool.add_caller(pcm16_to_ulaw(caller_pcm if turn_is_callers else silence))
    spool.close()
    recordings.recording_finish(recording_id=recording.pk)
