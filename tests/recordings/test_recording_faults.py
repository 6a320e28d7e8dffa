"""Recordings never stick: a spool that cannot be created or written fails the recording with its reason
(never the call), the upload sweep settles recordings whose spool is missing, a simulated recording whose
task died midway is made again by the re-run, and a failed recording says why on the call page and in the
API.

Writing fails for real: a regular file where the spool directory should be (the directory cannot be
made), or the spool path linked to /dev/full (every write is ENOSPC, a disk that is full); the tests run
as root, so permissions would not stop a write."""

import io
import json
import os
import signal
import subprocess
import sys
import time
import wave
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.db import connection
from django.utils import timezone

from calls.models import Call, CallStatus
from recordings import services as recordings
from recordings.models import Recording, RecordingStatus
from recordings.tasks import upload_sweep
from telephony.simulator.tasks import simulate_recording
from tests.factories import CallFactory
from tests.recordings.test_recording_api import render_partial
from tests.telephony.test_media_stream import FakeTwilio, a_call, run
from wordcab_admin.kernel.audio import FRAME_BYTES, tone_ulaw

pytestmark = pytest.mark.django_db(transaction=True)

DEV_FULL = Path("/dev/full")
LONG_AGO = timedelta(hours=1)  # beyond the sweep's thresholds (10 and 15 minutes)


@pytest.fixture
def streaming(twilio_token, recording_store, uploads_in_place, settings):
    """A media stream whose agent echoes every caller frame, so that we can tell the audio kept flowing."""
    settings.AGENT_RUNTIME = "telephony.runtime.demo.EchoRuntime"


@pytest.fixture
def spool_dir_blocked(settings, tmp_path) -> Path:
    """A regular file where the spool directory should be: the spool directory cannot be created."""
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where the spool directory should be")
    settings.RECORDINGS_SPOOL_DIR = blocker / "spool"
    return blocker


def spool_on_a_full_disk(call: Call) -> Path:
    """The call's spool path linked to /dev/full: it opens, and then every write fails with ENOSPC."""
    path = recordings.spool_path_for(call)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.symlink_to(DEV_FULL)
    return path


def ended_call(**fields) -> Call:
    now = timezone.now()
    return CallFactory(status=CallStatus.COMPLETED, record=True, answered_at=now, ended_at=now, **fields)


def long_ago(recording: Recording) -> None:
    """The recording and its call as the sweep finds them: started and ended an hour ago."""
    then = timezone.now() - LONG_AGO
    Recording.objects.filter(pk=recording.pk).update(created_at=then)
    Call.objects.filter(pk=recording.call_id).update(ended_at=then)


def assert_failed(call: Call, *reason_parts: str) -> Recording:
    recording = Recording.objects.get(call=call)
    assert recording.status == RecordingStatus.FAILED
    for part in reason_parts:
        assert part in recording.failure_reason
    assert recording.failed_at is not None
    assert recording.local_path == ""
    return recording


async def talk(call: Call, *, seconds: float) -> FakeTwilio:
    """A whole stream: start, the caller talks for `seconds`, stop."""
    twilio = FakeTwilio(call.agent.public_id)
    assert (await twilio.connect())[0]
    await twilio.start(call)
    await twilio.speak(tone_ulaw(frequency=440, seconds=seconds))
    await twilio.pump(wait=0.2)
    await twilio.stop()
    return twilio


def frames_echoed(twilio: FakeTwilio) -> int:
    return len(twilio.media_audio()) // FRAME_BYTES


# --- a spool that cannot be written fails the recording, never the call --------------------------------------


def test_a_spool_directory_that_cannot_be_made_fails_the_recording_and_the_call_streams_on(
    streaming, spool_dir_blocked
):
    call = a_call(record=True)

    twilio = run(talk(call, seconds=1))

    assert frames_echoed(twilio) == 50  # the agent heard every frame of the caller's second and answered
    call.refresh_from_db()
    assert call.status == CallStatus.COMPLETED
    assert_failed(call, "the spool file could not be created", "Not a directory")


def test_a_disk_that_fills_up_mid_call_fails_the_recording_and_the_call_streams_on(streaming):
    call = a_call(record=True)
    spool = spool_on_a_full_disk(call)

    twilio = run(talk(call, seconds=2))

    assert frames_echoed(twilio) == 100  # the write failed after a few frames; the audio kept flowing
    call.refresh_from_db()
    assert call.status == CallStatus.COMPLETED
    assert_failed(call, "the spool file could not be written", "No space left on device")
    assert not spool.is_symlink()  # the partial spool is removed (only the link: /dev/full stays)
    assert DEV_FULL.is_char_device()


def test_a_simulated_recording_whose_spool_directory_cannot_be_made_fails_and_the_task_ends_normally(
    recording_store, uploads_in_place, spool_dir_blocked
):
    call = ended_call()

    simulate_recording(call_id=call.pk, talk_seconds=2)  # returns: Celery must not retry it for ever

    assert_failed(call, "the spool file could not be created", "Not a directory")


def test_a_simulated_recording_on_a_full_disk_fails_with_its_reason(recording_store, uploads_in_place):
    call = ended_call()
    spool = spool_on_a_full_disk(call)

    simulate_recording(call_id=call.pk, talk_seconds=3)

    assert_failed(call, "No space left on device")
    assert not spool.is_symlink()


# --- the sweep settles recordings whose writer died ---------------------------------------------------------


def test_the_sweep_fails_a_recording_whose_spool_was_never_written(recording_store, uploads_in_place):
    call = ended_call()
    recording = recordings.recording_start(call=call)  # the web process died before it opened the spool
    long_ago(recording)

    upload_sweep()

    assert_failed(call, recordings.SPOOL_MISSING)


def test_the_sweep_fails_a_recording_whose_spool_holds_no_audio(recording_store, uploads_in_place):
    call = ended_call()
    recording = recordings.recording_start(call=call)
    Path(recording.local_path).parent.mkdir(parents=True)
    Path(recording.local_path).touch()  # killed before its first buffer reached the disk: 0 bytes
    long_ago(recording)

    upload_sweep()

    assert_failed(call, recordings.SPOOL_EMPTY)
    assert not Path(recording.local_path).exists()  # nothing would ever clean it up otherwise


def test_the_sweep_fails_an_upload_whose_spool_vanished_before_the_store_got_it(
    recording_store, uploads_in_place
):
    call = ended_call()
    recording = finished_but_not_uploaded(call)
    Path(recording.local_path).unlink()  # lost with the disk, or removed by hand

    assert upload_sweep() == 1

    assert_failed(call, recordings.SPOOL_VANISHED)


def test_an_upload_whose_spool_vanished_after_the_store_got_it_is_stored(recording_store, uploads_in_place):
    call = ended_call()
    recording = finished_but_not_uploaded(call)
    key = recordings.recording_storage_key(recording)
    with Path(recording.local_path).open("rb") as spool:
        recordings.recordings_storage().save(key, spool)  # the upload reached the store, then its worker died
    Path(recording.local_path).unlink()

    upload_sweep()

    recording.refresh_from_db()
    assert recording.status == RecordingStatus.STORED
    assert recording.storage_key == key


def test_one_sweep_settles_every_dead_recording_and_salvages_those_with_a_spool(
    recording_store, uploads_in_place
):
    without_spool, with_spool, vanished = ended_call(), ended_call(), ended_call()
    long_ago(recordings.recording_start(call=without_spool))
    long_ago(partial_spool_of_a_dead_writer(with_spool, seconds=2))
    Path(finished_but_not_uploaded(vanished).local_path).unlink()

    upload_sweep()

    assert_failed(without_spool, recordings.SPOOL_MISSING)
    assert_failed(vanished, recordings.SPOOL_VANISHED)
    salvaged = Recording.objects.get(call=with_spool)
    assert salvaged.status == RecordingStatus.STORED
    assert salvaged.duration_seconds == pytest.approx(2, abs=0.01)


def finished_but_not_uploaded(call: Call) -> Recording:
    """A finished spool whose upload task was lost half an hour ago (say, the broker restarted)."""
    recording = recordings.recording_start(call=call)
    spool = recordings.StereoSpool(Path(recording.local_path))
    spool.add_caller(tone_ulaw(frequency=300, seconds=1))
    spool.close()
    Recording.objects.filter(pk=recording.pk).update(
        status=RecordingStatus.PENDING_UPLOAD,
        size_bytes=Path(recording.local_path).stat().st_size,
        last_attempt_at=timezone.now() - timedelta(minutes=30),
    )
    recording.refresh_from_db()
    return recording


def partial_spool_of_a_dead_writer(call: Call, *, seconds: float) -> Recording:
    recording = recordings.recording_start(call=call)
    spool = recordings.StereoSpool(Path(recording.local_path))
    spool.add_caller(tone_ulaw(frequency=300, seconds=seconds))
    spool._wav._file.flush()  # the process dies here: the header still says 0 frames
    return recording


# --- a simulated recording whose worker was killed is made again by the re-run ------------------------------

# What a Celery worker does with the task, in a process of its own that the test kills midway.
SIMULATE_IN_A_PROCESS = """
import json, sys
import django
from django.conf import settings
job = json.loads(sys.argv[1])
settings.DATABASES = {"default": job["database"]}
settings.RECORDINGS_SPOOL_DIR = job["spool_dir"]
django.setup()
from telephony.simulator.tasks import simulate_recording
simulate_recording(call_id=job["call_id"], talk_seconds=job["talk_seconds"])
"""


def simulate_until_killed(call: Call, *, talk_seconds: float, kill_at_bytes: int) -> int:
    """Run `recordings.simulate` for `call` in a worker process and SIGKILL it once its spool holds
    `kill_at_bytes`; returns the spool's size then."""
    job = {
        "database": connection.settings_dict,
        "spool_dir": str(django_settings.RECORDINGS_SPOOL_DIR),
        "call_id": call.pk,
        "talk_seconds": talk_seconds,
    }
    worker = subprocess.Popen(  # noqa: S603 -- our own interpreter and script
        [sys.executable, "-c", SIMULATE_IN_A_PROCESS, json.dumps(job, default=str)],
        stderr=subprocess.PIPE,
    )
    spool = recordings.spool_path_for(call)
    try:
        deadline = time.monotonic() + 60
        while not (spool.exists() and spool.stat().st_size >= kill_at_bytes):
            assert worker.poll() is None, f"the worker ended before it was killed: {worker.stderr.read()!r}"
            assert time.monotonic() < deadline, "the worker never wrote its spool"
            time.sleep(0.002)
        os.kill(worker.pid, signal.SIGKILL)
    finally:
        worker.wait(timeout=30)
        worker.stderr.close()
    assert worker.returncode == -signal.SIGKILL
    return spool.stat().st_size


def test_a_simulated_recording_whose_worker_was_killed_midway_is_made_again_by_the_rerun(
    recording_store, uploads_in_place
):
    call = ended_call()
    talk_seconds = 60
    partial = simulate_until_killed(call, talk_seconds=talk_seconds, kill_at_bytes=64 * 1024)
    assert Recording.objects.get(call=call).status == RecordingStatus.RECORDING  # what a dead task leaves
    assert partial < talk_seconds * 8000 * 4  # stereo 16-bit: the spool is far from complete

    simulate_recording(call_id=call.pk, talk_seconds=talk_seconds)  # Celery delivers the task again

    remade = Recording.objects.get(call=call)
    assert remade.status == RecordingStatus.STORED
    with recordings.recordings_storage().open(remade.storage_key, "rb") as stored:
        data = stored.read()
    with wave.open(io.BytesIO(data), "rb") as wav:
        assert wav.getnframes() == talk_seconds * 8000  # rewritten from the start, not appended to
    # Byte for byte the recording an uninterrupted run makes (the audio is seeded by the call).
    Recording.objects.filter(call=call).delete()
    simulate_recording(call_id=call.pk, talk_seconds=talk_seconds)
    assert Recording.objects.get(call=call).sha256 == remade.sha256


def test_a_rerun_remakes_a_simulated_recording_the_sweep_had_marked_failed(recording_store, uploads_in_place):
    call = ended_call()
    long_ago(recordings.recording_start(call=call))  # the worker died before writing; redelivery is late
    upload_sweep()
    assert_failed(call, recordings.SPOOL_MISSING)

    simulate_recording(call_id=call.pk, talk_seconds=2)

    recording = Recording.objects.get(call=call)
    assert recording.status == RecordingStatus.STORED
    assert (recording.failure_reason, recording.failed_at) == ("", None)
    assert recording.duration_seconds == pytest.approx(2, abs=0.01)


def test_a_stored_recording_never_becomes_failed(recording_store, uploads_in_place):
    call = ended_call()
    simulate_recording(call_id=call.pk, talk_seconds=1)
    recording = Recording.objects.get(call=call)

    recordings.recording_fail(recording_id=recording.pk, reason="a late report")
    simulate_recording(call_id=call.pk, talk_seconds=1)  # nor is it made again

    after = Recording.objects.get(call=call)
    assert (after.status, after.failure_reason, after.sha256) == (
        RecordingStatus.STORED,
        "",
        recording.sha256,
    )


# --- a failed recording says why -------------------------------------------------------------------------------


@pytest.fixture
def failed_call(recording_store, uploads_in_place, spool_dir_blocked) -> Call:
    call = ended_call()
    simulate_recording(call_id=call.pk, talk_seconds=1)
    return Call.objects.select_related("recording").get(pk=call.pk)


def test_the_call_page_shows_why_the_recording_failed_instead_of_a_player(alice, failed_call):
    html = render_partial(failed_call, alice)

    reason = failed_call.recording.failure_reason
    assert f"<strong>Recording failed:</strong> {reason}" in html.replace("&#x27;", "'")
    assert "<audio" not in html
    assert "Download WAV" not in html


def test_the_api_reports_a_failed_recording_and_its_reason(api, alice, failed_call):
    reason = failed_call.recording.failure_reason

    call_object = api(alice).get(f"/v1/calls/{failed_call.public_id}").json()
    audio = api(alice).get(f"/v1/calls/{failed_call.public_id}/recording")

    assert call_object["recording_url"] is None
    assert audio.status_code == 404
    error = audio.json()["error"]
    assert error["code"] == "recording_failed"
    assert error["message"] == f"Recording failed: {reason}"
    assert error["reason"] == reason
