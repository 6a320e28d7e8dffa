"""Call recordings: written to a local spool file as frames arrive, uploaded to the "recordings" storage
(local files or any S3-compatible store) once the call ends, retried until the store confirms it.

The only module that writes Recording rows, but for their retention: expiry, the sweep's claims and
deletion are written by recordings/retention.py. The spool file is deleted only after the store has the
object with the right size, so a store outage delays a recording but never loses it. What can lose it (a
spool that cannot be created or written, a spool file that vanished) marks it `failed` with the reason
(`recording_fail`), and never reaches the call: the call and its audio go on, unrecorded."""

import asyncio
import contextlib
import hashlib
import logging
import os
import queue
import threading
import wave
from collections.abc import Callable, Iterator, Sequence
from datetime import timedelta
from pathlib import Path

from botocore.exceptions import BotoCoreError, ClientError
from celery import current_app
from django.conf import settings
from django.core.files import File
from django.core.files.storage import Storage, storages
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from calls.announce import call_changed_on_commit
from calls.models import Call
from compliance.retention import retention_policy_for
from recordings.models import Recording, RecordingStatus
from wordcab_admin.kernel.audio import SAMPLE_RATE, pcm16_stereo, ulaw_to_pcm16, wav_duration, wav_peaks

log = logging.getLogger(__name__)

MAX_GAP_SAMPLES = (
    2 * SAMPLE_RATE
)  # a caller timestamp jump up to 2 s is lost audio; beyond, a bogus timestamp
# A spool is written a second at a time: one conversion to stereo and one write per 50 frames instead of
# per frame (bench_media: 200 streams recorded in one process). A process killed mid-call loses at most
# that last second of its spools (recording_salvage keeps the rest).
SPOOL_FLUSH_SAMPLES = SAMPLE_RATE
READ_CHUNK = 64 * 1024
WAV_HEADER_BYTES = 44

# Why a recording failed, as the call page shows it after "Recording failed: " (docs/media.md).
SPOOL_MISSING = (
    "no spool file on disk: the process recording the call died before writing it, or the file was lost"
)
SPOOL_EMPTY = "the spool file holds no audio: the process recording the call died before writing any"
SPOOL_VANISHED = "the spool file vanished before the recording was uploaded"


class RecordingStoreUnavailable(Exception):
    """The recordings store did not take or confirm the upload; retry later."""


class RecordingGone(Exception):
    """No stored audio for this call (never recorded, still uploading, or deleted)."""


class RecordingFailed(RecordingGone):
    """The call's recording was lost for good; `reason` says why."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def recordings_storage() -> Storage:
    return storages["recordings"]


# --- writing while the call runs -------------------------------------------------------------------------


class _SpoolDiskWriter:
    """One thread per process that puts the event loops' spool audio on disk, in the order it was given.

    A media stream's event loop carries every stream of the process: a write that waits on a busy disk
    (the page cache full of dirty pages, say) would hold all their frames back (bench_media measured
    seconds of it at 200 streams). Code off an event loop (the simulator, tests) writes itself."""

    def __init__(self) -> None:
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def submit(self, job: Callable[[], None]) -> None:
        if self._thread is None:
            with self._lock:
                if self._thread is None:
                    self._thread = threading.Thread(target=self._run, name="spool-writer", daemon=True)
                    self._thread.start()
        self._queue.put(job)

    def wait(self) -> None:
        """Until everything submitted so far is on disk (or has failed)."""
        if self._thread is not None:
            done = threading.Event()
            self._queue.put(done.set)
            done.wait()

    def _run(self) -> None:
        while True:
            job = self._queue.get()
            try:
                job()
            except Exception:  # noqa: BLE001 -- this thread must outlive any one spool's surprise
                log.exception("spool writer: a write failed unexpectedly")


_disk_writer = _SpoolDiskWriter()


def _on_event_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


class StereoSpool:
    """A 16-bit PCM 8 kHz stereo WAV, caller on the left and agent on the right, written as frames arrive.

    The caller's frames are the clock: each one takes its place at once, beside the agent audio due at
    that moment, and goes to disk with the others of its second (SPOOL_FLUSH_SAMPLES). Agent audio is
    sent ahead of time (the carrier buffers and plays it in order), so it is queued and paired with the
    caller's frames as their clock passes it; the queue holds only audio that was sent but has not played
    yet, so memory stays flat."""

    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._wav = wave.open(str(path), "wb")  # noqa: SIM115 -- kept open for the whole call, closed in close()
        self._wav.setnchannels(2)
        self._wav.setsampwidth(2)
        self._wav.setframerate(SAMPLE_RATE)
        self.written = 0  # samples per channel placed (on disk or about to be) == the caller clock
        self._agent = bytearray()  # agent PCM from sample `written` on
        self._left: list[bytes] = []  # placed but not yet on disk, paired sample for sample
        self._right: list[bytes] = []
        self._unflushed = 0  # samples per channel in _left and _right
        self._disk_lock = threading.Lock()  # the writer thread's write against discard()
        self._disk_error: OSError | None = None  # from the writer thread, raised by the next call here
        self._closing = False  # close() writes the rest itself
        self.closed = False

    @property
    def agent_queued_until(self) -> int:
        """Sample position at which the agent audio queued so far will have played."""
        return self.written + len(self._agent) // 2

    def add_caller(self, ulaw: bytes, *, at_sample: int | None = None) -> None:
        if self.closed:
            return
        if self._disk_error is not None:
            raise self._disk_error
        if at_sample is not None and 0 < at_sample - self.written <= MAX_GAP_SAMPLES:
            self._write(b"\x00\x00" * (at_sample - self.written))  # frames the carrier lost: silence
        self._write(ulaw_to_pcm16(ulaw))

    def add_agent(self, ulaw: bytes) -> None:
        if not self.closed:
            self._agent += ulaw_to_pcm16(ulaw)

    def clear_agent(self) -> None:
        """The carrier dropped its queue (`clear`): so does the recording."""
        self._agent.clear()

    def _write(self, left: bytes) -> None:
        n = len(left) // 2
        right = bytes(self._agent[: 2 * n])
        del self._agent[: 2 * n]
        if len(right) < len(left):
            right += b"\x00" * (len(left) - len(right))
        self._left.append(left)
        self._right.append(right)
        self._unflushed += n
        self.written += n
        if self._unflushed >= SPOOL_FLUSH_SAMPLES:
            self._flush()

    def _flush(self) -> None:
        if not self._unflushed:
            return
        left, right = b"".join(self._left), b"".join(self._right)
        self._left.clear()
        self._right.clear()
        self._unflushed = 0
        stereo = pcm16_stereo(left, right)
        if not self._closing and _on_event_loop():
            _disk_writer.submit(lambda: self._to_disk(stereo))
        else:
            self._wav.writeframesraw(stereo)

    def _to_disk(self, stereo: bytes) -> None:
        """On the writer thread; an error waits for the spool's next call on its own thread."""
        with self._disk_lock:
            if self.closed or self._disk_error is not None:
                return
            try:
                self._wav.writeframesraw(stereo)  # the header is patched once, at close
            except OSError as exc:
                self._disk_error = exc

    def settle(self) -> None:
        """Wait until the writer thread has put this spool's audio on disk; raise its error if it failed.
        Off the event loop only (close() calls it; stream_end runs on a database thread)."""
        _disk_writer.wait()
        if self._disk_error is not None:
            raise self._disk_error

    def close(self) -> int:
        """Write what the agent still had queued, patch the header; returns frames written."""
        if not self.closed:
            self.settle()  # what the writer thread holds goes first, then the rest is written here, in order
            self._closing = True
            if self._agent:
                self._write(b"\x00\x00" * (len(self._agent) // 2))
            self._flush()
            self._wav.close()
            self.closed = True
        return self.written

    def discard(self) -> None:
        """Give up after a write error: close the file whatever state it is in and remove it. A full disk
        is the likely cause, so the partial audio must not keep holding the space."""
        self.closed = True
        self._agent.clear()
        self._left.clear()
        self._right.clear()
        self._unflushed = 0
        # A write under way on the writer thread ends first; queued ones are dropped. Closing patches the
        # header and flushes: it may fail again on a full disk.
        with self._disk_lock, contextlib.suppress(OSError):
            self._wav.close()
        with contextlib.suppress(OSError):
            os.remove(self.path)


class RecordingSpool:
    """A recording's spool as the call's writers use it (the media stream, the simulator): a spool that
    cannot be created or written (directory missing, a file where the directory should be, disk full: any
    OSError) never raises into the call. The first error stops the recording, removes its partial file and
    is kept in `failure`; `recording_spool_open` and `recording_spool_close` mark the recording failed."""

    def __init__(self, *, recording_id: int, path: Path):
        self.recording_id = recording_id
        self.path = path
        self.failure = ""
        self._spool: StereoSpool | None = None
        with self._or_give_up("created"):
            self._spool = StereoSpool(path)

    @property
    def failed(self) -> bool:
        return bool(self.failure)

    def add_caller(self, ulaw: bytes, *, at_sample: int | None = None) -> None:
        if self._spool is not None:
            try:  # not _or_give_up: a context manager per frame costs more than the frame (bench_media)
                self._spool.add_caller(ulaw, at_sample=at_sample)
            except OSError as exc:
                self._give_up("written", exc)

    def add_agent(self, ulaw: bytes) -> None:
        if self._spool is not None:
            self._spool.add_agent(ulaw)  # memory only: written as the caller's frames pass it

    def clear_agent(self) -> None:
        if self._spool is not None:
            self._spool.clear_agent()

    def discard(self) -> None:
        """Drop the spool and its file: the start it was opened for was rolled back (nothing to upload)."""
        if self._spool is not None:
            self._spool.discard()
        self._spool = None

    def close(self) -> None:
        if self._spool is not None:
            with self._or_give_up("written"):
                self._spool.settle()
        if self._spool is not None:
            with self._or_give_up("finished"):
                self._spool.close()

    @contextlib.contextmanager
    def _or_give_up(self, doing: str) -> Iterator[None]:
        try:
            yield
        except OSError as exc:
            self._give_up(doing, exc)

    def _give_up(self, doing: str, exc: OSError) -> None:
        self.failure = f"the spool file could not be {doing} ({exc})"
        log.warning("recording %s: %s; the call goes on unrecorded", self.recording_id, self.failure)
        if self._spool is not None:
            self._spool.discard()
        self._spool = None


# --- the Recording row -------------------------------------------------------------------------------------


def spool_path_for(call: Call) -> Path:
    return Path(settings.RECORDINGS_SPOOL_DIR) / f"{call.public_id}.wav"


# What a writer that can make the whole recording again (`start_over`) may start over from.
UNFINISHED = (RecordingStatus.RECORDING, RecordingStatus.FAILED)


def recording_start(*, call: Call, start_over: bool = False) -> Recording | None:
    """A Recording row in `recording` state with its spool path; None if the call already has one.

    `start_over` is for a writer that can make the whole recording again, the simulator's synthetic audio
    (deterministic): a row its dead predecessor left `recording` (or that the sweep has since marked
    `failed`) is started over, its spool rewritten from the start. A finished recording is never redone."""
    spool_path = str(spool_path_for(call))
    recording, created = Recording.objects.get_or_create(
        call=call, defaults={"status": RecordingStatus.RECORDING, "local_path": spool_path}
    )
    if created:
        return recording
    if start_over and _recording_restart(recording, spool_path=spool_path):
        return recording
    log.warning("call %s already has a recording (%s); not recording again", call, recording.status)
    return None


def recordings_start(*, calls: Sequence[Call]) -> dict[int, Recording | None]:
    """recording_start for calls that start together (a burst of media streams), by call pk: the missing
    Recording rows made by one insert, after one read of which calls already have one (those get None,
    as alone). A row made meanwhile by another writer fails the insert (one recording a call): the caller's
    transaction then rolls back, to start its calls one by one."""
    existing = dict(Recording.objects.filter(call__in=calls).values_list("call_id", "status"))
    for call in calls:
        if call.pk in existing:
            log.warning("call %s already has a recording (%s); not recording again", call, existing[call.pk])
    new = [
        Recording(call=call, status=RecordingStatus.RECORDING, local_path=str(spool_path_for(call)))
        for call in calls
        if call.pk not in existing
    ]
    Recording.objects.bulk_create(new)
    started: dict[int, Recording | None] = dict.fromkeys(existing)
    started.update({recording.call_id: recording for recording in new})
    return started


def _recording_restart(recording: Recording, *, spool_path: str) -> bool:
    """Back to `recording` if it is unfinished (one conditional UPDATE, whatever was read before)."""
    fresh = {
        "status": RecordingStatus.RECORDING,
        "local_path": spool_path,
        "failure_reason": "",
        "failed_at": None,
    }
    if not Recording.objects.filter(pk=recording.pk, status__in=UNFINISHED).update(**fresh):
        return False
    for field, value in fresh.items():
        setattr(recording, field, value)
    log.info("recording of %s started over: its previous writer died midway", recording.call)
    return True


def recording_spool_open(*, recording_id: int, path: Path) -> RecordingSpool:
    """The spool a call's audio is written to. One that cannot be created marks the recording failed at
    once (the call page says so while the call goes on); the spool then drops what it is given."""
    spool = RecordingSpool(recording_id=recording_id, path=path)
    if spool.failed:
        recording_fail(recording_id=recording_id, reason=spool.failure)
    return spool


def recording_spool_close(*, spool: RecordingSpool) -> Recording:
    """The call is over: finish the spool and queue its upload, or mark the recording failed with the
    reason its spool could not be written."""
    spool.close()
    if spool.failed:
        return recording_fail(recording_id=spool.recording_id, reason=spool.failure)
    try:
        return recording_finish(recording_id=spool.recording_id)
    except (OSError, EOFError, wave.Error) as exc:  # the finished file cannot be read back
        reason = f"the spool file could not be read back ({exc})"
        return recording_fail(recording_id=spool.recording_id, reason=reason)


def recording_fail(*, recording_id: int, reason: str) -> Recording:
    """The recording is lost, and `reason` says why: the one place a recording becomes `failed`. Only a
    recording not yet stored can fail; one stored, deleted or already failed is left as it is. A spool
    file left behind is removed, since nothing would ever upload or clean it."""
    with transaction.atomic():
        recording = Recording.objects.select_for_update().select_related("call").get(pk=recording_id)
        if recording.status not in (RecordingStatus.RECORDING, RecordingStatus.PENDING_UPLOAD):
            return recording
        leftover = recording.local_path
        recording.status = RecordingStatus.FAILED
        recording.failure_reason = reason[:300]
        recording.failed_at = timezone.now()
        recording.local_path = ""
        recording.save(update_fields=["status", "failure_reason", "failed_at", "local_path"])
        call_changed_on_commit(recording.call)  # the call page shows why
        if leftover:
            transaction.on_commit(lambda: _remove_quietly(Path(leftover)))
    log.warning("recording of %s failed: %s", recording.call, recording.failure_reason)
    return recording


def _file_digest(path: Path) -> tuple[int, str]:
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as handle:
        while chunk := handle.read(READ_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return size, digest.hexdigest()


def recording_finish(*, recording_id: int) -> Recording:
    """The spool file is complete: measure it (size, duration, sha256, peaks) and queue the upload."""
    with transaction.atomic():
        recording = Recording.objects.select_for_update().get(pk=recording_id)
        if recording.status != RecordingStatus.RECORDING:
            return recording
        path = Path(recording.local_path)
        recording.size_bytes, recording.sha256 = _file_digest(path)
        recording.duration_seconds = round(wav_duration(path), 3)
        recording.peaks = wav_peaks(path)
        recording.status = RecordingStatus.PENDING_UPLOAD
        recording.save(update_fields=["size_bytes", "sha256", "duration_seconds", "peaks", "status"])
        transaction.on_commit(lambda: recording_upload_enqueue(recording_id=recording.pk))
    return recording


def recording_upload_enqueue(*, recording_id: int) -> None:
    """Queue the upload task, found by name in Celery's registry: recordings.tasks imports this module
    (and is imported when Django starts, recordings/apps.py)."""
    current_app.tasks["recordings.upload"].delay(recording_id)


def repair_spool_header(path: Path) -> None:
    """A spool file whose writer died (process killed mid-call) has a header that says 0 frames:
    rewrite the header from the file's size so that the audio it holds is kept."""
    size = path.stat().st_size
    data_bytes = max(0, size - WAV_HEADER_BYTES) // 4 * 4
    with path.open("r+b") as handle:
        handle.seek(4)
        handle.write((36 + data_bytes).to_bytes(4, "little"))
        handle.seek(40)
        handle.write(data_bytes.to_bytes(4, "little"))


def recording_storage_key(recording: Recording) -> str:
    created = recording.created_at or timezone.now()
    return f"calls/{created:%Y/%m/%d}/{recording.call.public_id}.wav"


def recording_expiry(recording: Recording) -> timezone.datetime:
    """When the recording may be deleted: stored + the days of the most specific retention policy for its
    call's agent and jurisdiction (compliance/retention.py); recomputed when a policy changes
    (recordings/retention.py)."""
    call = recording.call
    choice = retention_policy_for(agent_id=call.agent_id, jurisdiction=call.jurisdiction)
    return recording.stored_at + timedelta(days=choice.days)


def recording_upload(*, recording_id: int) -> Recording:
    """Copy the spool file to the store, confirm its size there, then forget the local file.

    Raises RecordingStoreUnavailable while the store cannot take it; the caller retries. Running twice is
    harmless: an object already there with the right size counts as uploaded."""
    recording = Recording.objects.select_related("call").get(pk=recording_id)
    if recording.status != RecordingStatus.PENDING_UPLOAD:
        return recording
    storage = recordings_storage()
    key = recording.storage_key or recording_storage_key(recording)
    path = Path(recording.local_path)
    Recording.objects.filter(pk=recording.pk).update(
        upload_attempts=F("upload_attempts") + 1, last_attempt_at=timezone.now()
    )
    try:
        uploaded = _spool_to_store(storage, key, path, size=recording.size_bytes)
    except (OSError, BotoCoreError, ClientError) as exc:
        Recording.objects.filter(pk=recording.pk).update(last_error=f"{type(exc).__name__}: {exc}"[:300])
        raise RecordingStoreUnavailable(str(exc)) from exc
    if uploaded is None:
        return recording_fail(recording_id=recording.pk, reason=SPOOL_VANISHED)
    key, stored_size = uploaded
    if stored_size != recording.size_bytes:
        Recording.objects.filter(pk=recording.pk).update(
            storage_key=key, last_error=f"stored size {stored_size} != {recording.size_bytes}"
        )
        raise RecordingStoreUnavailable(
            f"{key}: the store holds {stored_size} bytes, not {recording.size_bytes}"
        )
    with transaction.atomic():
        recording = Recording.objects.select_for_update().select_related("call").get(pk=recording.pk)
        if recording.status != RecordingStatus.PENDING_UPLOAD:
            return recording
        recording.status = RecordingStatus.STORED
        recording.storage_key = key
        recording.stored_at = timezone.now()
        recording.expires_at = recording_expiry(recording)
        recording.local_path = ""
        recording.last_error = ""
        recording.save(
            update_fields=["status", "storage_key", "stored_at", "expires_at", "local_path", "last_error"]
        )
        call_changed_on_commit(recording.call)  # recording_url appears
        transaction.on_commit(lambda: _remove_quietly(path))
    log.info("recording of %s stored as %s (%d bytes)", recording.call, key, stored_size)
    return recording


def _spool_to_store(storage: Storage, key: str, path: Path, *, size: int | None) -> tuple[str, int] | None:
    """Copy the spool file to the store unless the store has it already: (key, size in the store), or
    None when the spool file vanished before the store got it. Raises what the store raises."""
    if not (storage.exists(key) and storage.size(key) == size):
        if not path.is_file():
            return None
        with path.open("rb") as handle:
            key = storage.save(key, File(handle, name=key))
    return key, storage.size(key)


def _remove_quietly(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError, NotADirectoryError):
        os.remove(path)


def recordings_needing_upload(*, idle_for: timedelta) -> list[int]:
    """Recordings that should be moving but are not: pending uploads whose last try is old (a lost task).
    Their upload runs again; one whose spool vanished meanwhile fails there (`recording_upload`)."""
    cutoff = timezone.now() - idle_for
    pending = Recording.objects.filter(status=RecordingStatus.PENDING_UPLOAD).exclude(
        last_attempt_at__gt=cutoff
    )
    return list(pending.values_list("pk", flat=True))


def recordings_orphaned(*, older_than: timedelta) -> list[int]:
    """`recording` rows whose call ended long ago: the writer died; the sweep salvages their spool, or marks
    them failed when there is none."""
    cutoff = timezone.now() - older_than
    return list(
        Recording.objects.filter(status=RecordingStatus.RECORDING, created_at__lt=cutoff)
        .filter(call__ended_at__lt=cutoff)
        .values_list("pk", flat=True)
    )


def recording_salvage(*, recording_id: int) -> Recording:
    """A `recording` row whose writer died: the audio its spool holds is kept (header repaired, upload
    queued). Without a spool file, or with one that holds no audio or cannot be read, it failed."""
    recording = Recording.objects.get(pk=recording_id)
    if recording.status != RecordingStatus.RECORDING:
        return recording
    path = Path(recording.local_path)
    if not recording.local_path or not path.is_file():
        return recording_fail(recording_id=recording_id, reason=SPOOL_MISSING)
    try:
        if path.stat().st_size <= WAV_HEADER_BYTES:
            return recording_fail(recording_id=recording_id, reason=SPOOL_EMPTY)
        repair_spool_header(path)
        return recording_finish(recording_id=recording_id)
    except (OSError, EOFError, wave.Error) as exc:
        reason = f"the spool file left by a process that died cannot be read ({exc})"
        return recording_fail(recording_id=recording_id, reason=reason)


# --- reading it back -----------------------------------------------------------------------------------------


def stored_recording(call: Call) -> Recording:
    try:
        recording = call.recording
    except Recording.DoesNotExist:
        raise RecordingGone(f"{call.public_id} has no recording") from None
    if recording.status == RecordingStatus.FAILED:
        raise RecordingFailed(recording.failure_reason)
    if recording.status != RecordingStatus.STORED or not recording.storage_key:
        raise RecordingGone(f"{call.public_id}: recording is {recording.status}")
    return recording


def recording_read(recording: Recording, *, start: int, end: int) -> Iterator[bytes]:
    """Bytes start..end (inclusive) of the stored WAV, streamed in chunks; S3 is asked for that range only."""
    storage = recordings_storage()
    key = recording.storage_key
    if hasattr(storage, "bucket"):  # django-storages S3: a ranged GET, not the whole object
        try:
            body = storage.bucket.Object(storage._normalize_name(key)).get(Range=f"bytes={start}-{end}")[
                "Body"
            ]
        except (BotoCoreError, ClientError) as exc:
            raise RecordingStoreUnavailable(str(exc)) from exc
        yield from body.iter_chunks(READ_CHUNK)
        return
    try:
        handle = storage.open(key, "rb")
    except OSError as exc:
        raise RecordingStoreUnavailable(str(exc)) from exc
    with handle:
        handle.seek(start)
        remaining = end - start + 1
        while remaining > 0 and (chunk := handle.read(min(READ_CHUNK, remaining))):
            remaining -= len(chunk)
            yield chunk
