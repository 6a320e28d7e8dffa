"""Recordings: the spool WAV, upload to local files and to a real S3 store (SeaweedFS), retry while the
store is down, the simulator's synthetic recordings, and salvage of a spool whose writer died."""

import hashlib
import io
import wave
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from calls.models import CallStatus
from recordings import services as recordings
from recordings.models import Recording, RecordingStatus
from recordings.tasks import upload_sweep
from telephony.simulator.tasks import simulate_recording
from tests.factories import AgentFactory, CallFactory
from tests.helpers import wait_for
from tests.shared_fixtures import local_store_settings
from wordcab_admin.kernel.audio import tone_ulaw

try:
    import audioop
except ImportError:  # Python 3.13+
    import audioop_lts as audioop


def stored_bytes(recording: Recording) -> bytes:
    with recordings.recordings_storage().open(recording.storage_key, "rb") as handle:
        return handle.read()


def ended_call(**fields):
    return CallFactory(
        status=CallStatus.COMPLETED,
        record=True,
        answered_at=timezone.now(),
        ended_at=timezone.now(),
        **fields,
    )


def test_the_spool_keeps_the_caller_left_and_the_agent_right_in_time(tmp_path):
    spool = recordings.StereoSpool(tmp_path / "a.wav")
    caller = tone_ulaw(frequency=400, seconds=1)
    agent = tone_ulaw(frequency=800, seconds=0.5)
    spool.add_agent(agent)  # queued at 0 s: plays during the caller's first half second
    spool.add_caller(caller, at_sample=0)
    spool.add_caller(caller)  # 1–2 s
    spool.add_agent(agent)  # sent at 2 s: plays from 2 s, after the caller has stopped
    frames = spool.close()
    assert frames == int(2.5 * 8000)
    with wave.open(str(tmp_path / "a.wav"), "rb") as wav:
        assert (wav.getframerate(), wav.getnchannels(), wav.getnframes()) == (8000, 2, frames)
        pcm = wav.readframes(frames)
    left, right = audioop.tomono(pcm, 2, 1, 0), audioop.tomono(pcm, 2, 0, 1)
    second = 2 * 8000
    assert audioop.rms(left[:second], 2) > 3000
    assert audioop.max(left[2 * second :], 2) == 0
    assert audioop.rms(right[: second // 2], 2) > 3000
    assert audioop.max(right[second // 2 : 2 * second], 2) == 0
    assert audioop.rms(right[2 * second :], 2) > 3000


def test_a_simulated_call_gets_a_real_8khz_wav_of_its_talk_time(
    transactional_db, recording_store, uploads_in_place
):
    call = ended_call()
    simulate_recording(call_id=call.pk, talk_seconds=6)
    recording = Recording.objects.get(call=call)
    assert recording.status == RecordingStatus.STORED
    data = stored_bytes(recording)
    with wave.open(io.BytesIO(data), "rb") as wav:
        assert wav.getframerate() == 8000
        assert abs(wav.getnframes() - 6 * 8000) <= 0.02 * 6 * 8000
        pcm = wav.readframes(wav.getnframes())
    # Speech-like: both parties heard, with pauses (not a constant tone, not silence).
    left, right = audioop.tomono(pcm, 2, 1, 0), audioop.tomono(pcm, 2, 0, 1)
    assert audioop.rms(left, 2) > 300
    assert audioop.rms(right, 2) > 300
    quiet_blocks = sum(audioop.rms(left[i : i + 800], 2) < 50 for i in range(0, len(left), 800))
    assert quiet_blocks > 5
    assert recording.size_bytes == len(data)
    assert recording.sha256 == hashlib.sha256(data).hexdigest()
    assert recording.duration_seconds == pytest.approx(6, abs=0.05)
    assert recording.expires_at == recording.stored_at + timedelta(days=30)
    assert len(recording.peaks) == 200
    assert max(recording.peaks) == 100  # relative to the loudest moment
    assert not Path(recording_store / "spool" / f"{call.public_id}.wav").exists()


def test_the_simulator_task_is_idempotent(transactional_db, recording_store, uploads_in_place):
    call = ended_call()
    simulate_recording(call_id=call.pk, talk_seconds=1)
    first = Recording.objects.get(call=call)
    simulate_recording(call_id=call.pk, talk_seconds=1)
    assert Recording.objects.filter(call=call).count() == 1
    assert Recording.objects.get(call=call).sha256 == first.sha256


def test_retention_expiry_follows_the_deployment_default(
    transactional_db, recording_store, uploads_in_place, settings
):
    settings.RETENTION_DEFAULT_DAYS = 7
    call = ended_call()
    simulate_recording(call_id=call.pk, talk_seconds=1)
    recording = Recording.objects.get(call=call)
    assert recording.expires_at - recording.stored_at == timedelta(days=7)


def test_a_recording_round_trips_through_a_real_s3_store(
    transactional_db, s3_recording_store, uploads_in_place
):
    call = ended_call()
    simulate_recording(call_id=call.pk, talk_seconds=3)
    recording = Recording.objects.get(call=call)
    assert recording.status == RecordingStatus.STORED
    obj = s3_recording_store.client().get_object(Bucket="recordings", Key=recording.storage_key)
    body = obj["Body"].read()
    assert hashlib.sha256(body).hexdigest() == recording.sha256
    assert len(body) == recording.size_bytes
    # A ranged read asks S3 for that range only.
    assert b"".join(recordings.recording_read(recording, start=0, end=11)) == body[:12]
    assert b"".join(recordings.recording_read(recording, start=1000, end=1999)) == body[1000:2000]


def test_while_the_store_is_down_the_recording_waits_on_disk_and_arrives_when_it_is_back(
    settings, tmp_path, seaweedfs_stopped, celery_worker_thread
):
    settings.RECORDINGS_SPOOL_DIR = tmp_path / "spool"
    settings.RECORDINGS_UPLOAD_RETRY_SECONDS = 0.5
    settings.STORAGES = {**settings.STORAGES, "recordings": seaweedfs_stopped.storage_settings()}
    call = ended_call()
    simulate_recording(call_id=call.pk, talk_seconds=2)
    recording = Recording.objects.get(call=call)
    spool = Path(recording.local_path)

    def failed_twice():
        recording.refresh_from_db()
        return recording.upload_attempts >= 2

    wait_for(failed_twice, timeout=30, what="two failed upload attempts")
    assert recording.status == RecordingStatus.PENDING_UPLOAD
    assert recording.last_error
    assert spool.exists()
    digest = recording.sha256

    seaweedfs_stopped.start()

    def stored():
        recording.refresh_from_db()
        return recording.status == RecordingStatus.STORED

    wait_for(stored, timeout=60, what="the upload retry to reach the store once it is back")
    body = (
        seaweedfs_stopped.client().get_object(Bucket="recordings", Key=recording.storage_key)["Body"].read()
    )
    assert hashlib.sha256(body).hexdigest() == digest
    assert not spool.exists()
    assert recording.local_path == ""
    assert recording.last_error == ""


def test_a_spool_left_behind_by_a_dead_writer_is_salvaged_and_uploaded(
    transactional_db, recording_store, uploads_in_place
):
    call = ended_call()
    recording = recordings.recording_start(call=call)
    spool = recordings.StereoSpool(Path(recording.local_path))
    spool.add_caller(tone_ulaw(frequency=300, seconds=3))
    spool._wav._file.flush()  # the process dies here: the header still says 0 frames
    long_ago = timezone.now() - timedelta(hours=1)
    Recording.objects.filter(pk=recording.pk).update(created_at=long_ago)
    type(call).objects.filter(pk=call.pk).update(ended_at=long_ago)

    upload_sweep()

    recording.refresh_from_db()
    assert recording.status == RecordingStatus.STORED
    assert recording.duration_seconds == pytest.approx(3, abs=0.01)
    with wave.open(io.BytesIO(stored_bytes(recording)), "rb") as wav:
        assert wav.getnframes() == 3 * 8000


def test_the_sweep_requeues_an_upload_nobody_is_retrying(transactional_db, recording_store, uploads_in_place):
    call = ended_call()
    recording = recordings.recording_start(call=call)
    spool = recordings.StereoSpool(Path(recording.local_path))
    spool.add_caller(tone_ulaw(frequency=300, seconds=1))
    spool.close()
    # Finished, but its upload task was lost (say, the broker restarted) half an hour ago.
    Recording.objects.filter(pk=recording.pk).update(
        status=RecordingStatus.PENDING_UPLOAD,
        size_bytes=Path(recording.local_path).stat().st_size,
        last_attempt_at=timezone.now() - timedelta(minutes=30),
    )
    assert upload_sweep() == 1
    recording.refresh_from_db()
    assert recording.status == RecordingStatus.STORED


def test_a_recorded_simulated_call_ends_with_a_stored_wav_of_its_talk_time(
    settings, tmp_path, celery_worker_thread, api, alice
):
    settings.SIMULATOR_SPEED = 10
    settings.RECORDINGS_SPOOL_DIR = tmp_path / "spool"
    settings.STORAGES = {**settings.STORAGES, "recordings": local_store_settings(tmp_path)}
    agent = AgentFactory()
    created = api(alice).post(
        f"/v1/agents/{agent.public_id}/calls", {"phone_number": "+14155550123", "record": True}, format="json"
    )
    assert created.status_code == 201, created.content
    call_id = created.json()["id"]
    wait_for(
        lambda: Recording.objects.filter(call__public_id=call_id, status=RecordingStatus.STORED).exists(),
        timeout=60,
        what="the simulated call's recording to be stored",
    )
    recording = Recording.objects.select_related("call").get(call__public_id=call_id)
    talk = (recording.call.ended_at - recording.call.answered_at).total_seconds()
    with wave.open(io.BytesIO(stored_bytes(recording)), "rb") as wav:
        assert wav.getframerate() == 8000
        assert abs(wav.getnframes() - talk * 8000) <= 0.02 * talk * 8000
    assert api(alice).get(f"/v1/calls/{call_id}").json()["recording_url"] == f"/v1/calls/{call_id}/recording"
