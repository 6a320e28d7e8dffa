"""One call's media, whatever carries it: the provider-neutral half of every media stream.

A carrier's websocket stream (Twilio, Telnyx, Plivo: telephony/media/websocket.py) and a browser's WebRTC
leg (telephony/webrtc) each parse their own wire format and hand the call's audio here, as 20 ms μ-law
8 kHz frames; a `MediaSession` does the rest the same way for all of them:

- `begin`: the call behind the stream, owned by the stream's agent and claimed with its single-use stream
  token (calls.services.call_stream_claim); the call goes in_progress, its consent opener is snapshotted
  and played, followed by a mark named `consent_opener` whose echo (the carrier played it in full) sets
  `consent_delivered_at`; then the agent runtime (telephony/runtime) talks.
- with `record` on, both directions go to a spool WAV as frames arrive, uploaded when the stream stops; a
  spool that cannot be written fails the recording (recordings.services.RecordingSpool), never the call.
- a failure in the runtime (plug-in code) detaches it; the stream and the recording go on.

The transport (`MediaTransport`) only puts audio, marks and clears on its own wire."""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Protocol

from channels.db import database_sync_to_async
from django.db import transaction

from calls import lifecycle
from calls.consent import call_consent_delivered, call_opener_snapshot
from calls.models import Call
from calls.services import StreamRefused, call_stream_claim
from compliance.openers import CONSENT_MARK, opener_audio
from compliance.tts import SpeechUnavailable
from recordings import services as recordings
from telephony.media.supervision import CallSupervision
from telephony.runtime import AgentRuntime, CallInfo, runtime_for
from wordcab_admin.kernel.fastpath.db_threads import run_db_batched

log = logging.getLogger(__name__)

__all__ = [
    "MediaSession",
    "MediaTransport",
    "StreamRefused",
    "StreamRequest",
    "StreamStart",
    "stream_begin",
    "stream_end",
    "streams_begin",
]
# Stream starts that share one commit (streams_begin): enough to absorb a burst, few enough that the write
# lock is not held from other writers for long.
STARTS_PER_COMMIT = 25


class MediaTransport(Protocol):
    """The wire a session's outgoing audio goes on (a provider's websocket, a WebRTC track)."""

    async def send_frames(self, ulaw: bytes) -> None:
        """μ-law 8 kHz audio of any length, after whatever was sent before."""

    async def send_mark(self, name: str) -> None:
        """Ask the far end to tell us (MediaSession.mark_played) when everything before it has played."""

    async def send_clear(self) -> None:
        """Drop audio sent but not played yet."""


@dataclass
class StreamStart:
    call_pk: int
    call_public_id: str
    info: CallInfo
    opener: bytes | None
    recording_id: int | None
    spool_path: str
    spool: recordings.RecordingSpool | None = None  # opened by streams_begin


@dataclass(frozen=True)
class StreamRequest:
    """A carrier's start message, as stream_begin takes it."""

    call_id: str
    call_sid: str
    stream_sid: str
    agent_id: str
    stream_token: str
    provider: str


def _call_find(*, call_id: str, provider: str, provider_call_id: str) -> Call | None:
    calls = Call.objects.select_related("agent")
    call = calls.filter(public_id=call_id).first() if call_id else None
    if call is None and provider_call_id:
        call = calls.filter(provider=provider, provider_call_id=provider_call_id).first()
    return call


def stream_begin(
    *,
    call_id: str,
    call_sid: str,
    stream_sid: str,
    agent_id: str,
    stream_token: str,
    provider: str = "twilio",
) -> StreamStart:
    """The call behind a stream: found by our id (or the provider's call id), owned by the stream's agent,
    and claimed with its single-use stream token. Raises StreamRefused, having written nothing, when the
    stream may not start."""
    call = _call_find(call_id=call_id, provider=provider, provider_call_id=call_sid)
    if call is None:
        raise StreamRefused("no such call")
    if call.agent.public_id != agent_id:
        raise StreamRefused(f"the call {call.public_id} belongs to another agent")
    # One commit for the claim and the three writes (starts are serialized per process); a refused claim
    # raises before anything is written.
    with transaction.atomic():
        call_stream_claim(call=call, token=stream_token)
        lifecycle.call_stream_started(public_id=call.public_id, stream_sid=stream_sid)
        snapshot = call_opener_snapshot(call=call)
        recording = recordings.recording_start(call=call) if call.record else None
    opener = None
    if snapshot:
        try:
            opener = opener_audio(snapshot)
        except SpeechUnavailable:
            log.exception("call %s: the consent opener cannot be played", call)
    info = CallInfo(
        call_id=call.public_id,
        agent_id=call.agent.public_id,
        agent_name=call.agent.name,
        language=call.agent.language,
        direction=call.direction,
        context=dict(call.context or {}),
        instructions=call.agent.instructions,
        opener_seconds=len(opener or b"") / 8000,  # μ-law 8 kHz, one byte a sample: the transcript's clock
    )
    return StreamStart(
        call_pk=call.pk,
        call_public_id=call.public_id,
        info=info,
        opener=opener,
        recording_id=recording.pk if recording else None,
        spool_path=recording.local_path if recording else "",
    )


def streams_begin(requests: list[StreamRequest]) -> list[StreamStart | Exception]:
    """Streams that start together (a campaign's calls answered in the same second), on a long-lived
    database thread (wordcab_admin/kernel/fastpath/db_threads.py): each one as stream_begin alone would,
    in a savepoint of its own, with its recording's spool opened; up to STARTS_PER_COMMIT share one
    commit. One result per request, in order: its StreamStart, or the exception it earned (raised to that
    stream only). Every frame of a stream waits for its start, and bench_media starts 200 at once: each
    on a fresh connection with its own commit (database_sync_to_async) took ~15 ms of a loaded machine,
    most of it the ~20 queries of the claim, lifecycle, opener and recording, which this does not cut."""
    results: list[StreamStart | Exception] = []
    for first in range(0, len(requests), STARTS_PER_COMMIT):
        with transaction.atomic():
            results.extend(
                _stream_begin_alone(request) for request in requests[first : first + STARTS_PER_COMMIT]
            )
    return results


def _stream_begin_alone(request: StreamRequest) -> StreamStart | Exception:
    try:
        with transaction.atomic():  # a savepoint: a failure here leaves the others' starts whole
            begun = stream_begin(**asdict(request))
            if begun.recording_id is not None:  # a spool that cannot be written fails the recording only
                begun.spool = recordings.recording_spool_open(
                    recording_id=begun.recording_id, path=Path(begun.spool_path)
                )
    except Exception as exc:  # noqa: BLE001 -- each stream gets its own error, the batch goes on
        return exc
    return begun


def stream_end(
    *, call_public_id: str, stream_sid: str, stopped: bool, spool: recordings.RecordingSpool | None
) -> None:
    if stopped:
        lifecycle.call_stream_stopped(public_id=call_public_id, stream_sid=stream_sid)
    if spool is not None:
        recordings.recording_spool_close(spool=spool)


class MediaSession:
    """One stream's call: begin, caller audio in, agent audio out (the runtime's outlet), finish.

    Every method runs on the stream's event loop, one at a time."""

    def __init__(self, *, transport: MediaTransport, provider: str, agent_id: str):
        self.transport = transport
        self.provider = provider
        self.agent_id = agent_id
        self.stream_sid = ""
        self.begun: StreamStart | None = None
        self.spool: recordings.RecordingSpool | None = None
        self.runtime: AgentRuntime | None = None
        self.finished = False  # nothing more goes out or comes in
        self._done = False  # finish() ran
        self.opener_sent = False
        self.supervision: CallSupervision | None = None  # supervisors listening, whispering, barging in

    @property
    def started(self) -> bool:
        return self.begun is not None

    async def begin(self, *, stream_sid: str, call_id: str, provider_call_id: str, stream_token: str) -> bool:
        """Start the call's media; False (logged, nothing written) when the stream may not start."""
        request = StreamRequest(
            call_id=call_id,
            call_sid=provider_call_id,
            stream_sid=stream_sid,
            agent_id=self.agent_id,
            stream_token=stream_token,
            provider=self.provider,
        )
        try:
            begun = await run_db_batched(streams_begin, request)
        except StreamRefused as refused:
            log.warning(
                "%s stream %s refused for call %r (provider id %r) of agent %s: %s; closing",
                self.provider,
                stream_sid,
                call_id,
                provider_call_id,
                self.agent_id,
                refused,
            )
            self.finished = True  # nothing more is taken from this stream, not even another start
            return False
        self.stream_sid, self.begun = stream_sid, begun
        self.spool = begun.spool
        self.supervision = CallSupervision(
            call_id=begun.call_public_id, send_to_caller=self._to_caller, guidance=self._guidance
        )
        self.supervision.start(send_mark=self._mark_to_caller)
        if begun.opener:
            await self.send_audio(begun.opener)
            await self.send_mark(CONSENT_MARK)
            self.opener_sent = True
        self.runtime = runtime_for(call=begun.info, outlet=self)
        await self._runtime("start")
        return True

    # --- what the far end sends --------------------------------------------------------------------------

    async def caller_audio(self, ulaw: bytes, *, at_sample: int | None = None) -> None:
        """The caller's audio (`at_sample`: where it starts in the call, when the carrier says)."""
        if self.spool is not None:
            self.spool.add_caller(ulaw, at_sample=at_sample)
        if self.supervision is not None:  # listeners' copy, and a supervisor's audio for this tick
            ulaw = await self.supervision.caller_frame(ulaw)
        await self._runtime("audio", ulaw)

    async def mark_played(self, name: str) -> None:
        if name == CONSENT_MARK and self.opener_sent and self.begun is not None:
            await database_sync_to_async(call_consent_delivered)(call_id=self.begun.call_pk)
        await self._runtime("mark", name)

    async def dtmf(self, digit: str) -> None:
        await self._runtime("dtmf", digit)

    async def finish(self, *, stopped: bool) -> None:
        """The stream ended: `stopped` when the carrier said so (the call's media is over), else the
        connection dropped (the call's end comes from the provider's events or the watchdog)."""
        if self._done:
            return
        self._done = True
        self.finished = True
        await self._runtime("stop")
        self.runtime = None
        if self.supervision is not None:
            await self.supervision.stop()
        if self.begun is None:
            return
        await database_sync_to_async(stream_end)(
            call_public_id=self.begun.call_public_id,
            stream_sid=self.stream_sid,
            stopped=stopped,
            spool=self.spool,
        )

    # --- the outlet a runtime talks through ----------------------------------------------------------------

    async def send_audio(self, ulaw: bytes) -> None:
        if self.finished:
            return
        if self.supervision is not None and self.supervision.agent_sent(ulaw):
            return  # held for a barge's mix, or muted by a take-over
        await self._to_caller(ulaw)

    async def _to_caller(self, ulaw: bytes) -> None:
        """Audio the caller hears: the carrier's stream, and the recording (when the call records)."""
        if self.finished:
            return
        await self.transport.send_frames(ulaw)
        if self.spool is not None:
            self.spool.add_agent(ulaw)

    async def send_mark(self, name: str) -> None:
        if self.supervision is not None and self.supervision.agent_mark(name):
            return  # behind the runtime's audio held for a barge's mix
        await self._mark_to_caller(name)

    async def _mark_to_caller(self, name: str) -> None:
        if not self.finished:
            await self.transport.send_mark(name)

    async def _guidance(self, text: str) -> None:
        """A supervisor's whisper: to the runtime only, never the caller."""
        await self._runtime("guidance", text)

    async def clear(self) -> None:
        if self.supervision is not None:
            self.supervision.agent_cleared()
        if not self.finished:
            await self.transport.send_clear()
            if self.spool is not None:
                self.spool.clear_agent()

    async def _runtime(self, method: str, *args) -> None:
        if self.runtime is None:
            return
        try:
            await getattr(self.runtime, method)(*args)
        except Exception:  # noqa: BLE001 -- plug-in code: a broken runtime goes quiet, the stream and recording go on
            log.exception("stream %s: agent runtime failed in %s; runtime detached", self.stream_sid, method)
            self.runtime = None
