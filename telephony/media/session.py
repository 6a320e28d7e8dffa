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
from collections import defaultdict
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Protocol

from channels.db import database_sync_to_async
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from calls import lifecycle
from calls.consent import call_consent_delivered, call_opener_snapshot, calls_opener_snapshot
from calls.models import Call
from calls.services import StreamRefused, call_stream_claim, call_stream_claim_check, calls_stream_claim
from compliance.openers import CONSENT_MARK, opener_audio
from compliance.tts import SpeechUnavailable
from recordings import services as recordings
from recordings.models import Recording
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


def _call_of_agent(call: Call | None, *, agent_id: str) -> Call:
    """The call a stream names, if it is there and the stream's agent owns it; else StreamRefused."""
    if call is None:
        raise StreamRefused("no such call")
    if call.agent.public_id != agent_id:
        raise StreamRefused(f"the call {call.public_id} belongs to another agent")
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
    found = _call_find(call_id=call_id, provider=provider, provider_call_id=call_sid)
    call = _call_of_agent(found, agent_id=agent_id)
    # One commit for the claim and the three writes (starts are serialized per process); a refused claim
    # raises before anything is written.
    with transaction.atomic():
        call_stream_claim(call=call, token=stream_token)
        lifecycle.call_stream_started(public_id=call.public_id, stream_sid=stream_sid)
        snapshot = call_opener_snapshot(call=call)
        recording = recordings.recording_start(call=call) if call.record else None
    return _stream_start(call, opener=_opener_playable(snapshot, call=call), recording=recording)


def _opener_playable(snapshot: dict | None, *, call: Call) -> bytes | None:
    """The snapshotted opener's audio, or None when there is none or it cannot be spoken (logged)."""
    if not snapshot:
        return None
    try:
        return opener_audio(snapshot)
    except SpeechUnavailable:
        log.exception("call %s: the consent opener cannot be played", call)
        return None


def _stream_start(call: Call, *, opener: bytes | None, recording: Recording | None) -> StreamStart:
    """What the stream needs of its started call, whichever way it started (alone or in a batch)."""
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
    database thread (wordcab_admin/kernel/fastpath/db_threads.py), each with the outcome it would have
    alone, up to STARTS_PER_COMMIT in one commit. One result per request, in order: its StreamStart (its
    recording's spool opened), or the exception it earned (raised to that stream only).

    Every frame of a stream waits for its start, and bench_media starts 200 at once: one by one, each
    start cost 21 queries (find, claim, lifecycle, opener, recording), so 200 took ~3 s. Together, a
    batch takes 16 whatever its size (a few more for each further agent, jurisdiction or opener:
    _streams_begin_together). Should the batch fail as a whole, it is rolled back and its starts made
    again one at a time, as before, so one bad start fails alone."""
    results: list[StreamStart | Exception] = []
    for first in range(0, len(requests), STARTS_PER_COMMIT):
        batch = requests[first : first + STARTS_PER_COMMIT]
        try:
            results.extend(_streams_begin_together(batch))
        except Exception:  # noqa: BLE001 -- rolled back whole; each start is made again on its own
            log.exception("%d stream starts failed together; starting them one at a time", len(batch))
            with transaction.atomic():
                results.extend(_stream_begin_alone(request) for request in batch)
    return results


def _streams_begin_together(requests: list[StreamRequest]) -> list[StreamStart | Exception]:
    """stream_begin for each request, in one transaction with a number of queries that does not grow
    with the batch: the calls found and locked in one read (primary-key order, as call_events_apply
    locks), judged in Python, claimed by one conditional UPDATE, their openers snapshotted per distinct
    opener, their stream-start events applied by one call_events_apply, their recordings made by one
    insert. A refused start gets its StreamRefused and nothing of it is written. Raises (everything rolled
    back, spools discarded) if anything else fails."""
    spools: list[recordings.RecordingSpool] = []
    try:
        with transaction.atomic():
            found = _calls_find_locked(requests)
            verdicts = [_stream_judge(request, found) for request in requests]
            accepted = [  # (request, call, token digest)
                (request, *verdict)
                for request, verdict in zip(requests, verdicts, strict=True)
                if not isinstance(verdict, StreamRefused)
            ]
            calls_stream_claim(claims=[(call, digest) for _, call, digest in accepted])
            started = [call for _, call, _ in accepted]
            # The opener before the lifecycle: the call object the lifecycle announces last then has both.
            snapshots = calls_opener_snapshot(calls=started)
            _stream_events_apply([(request, call) for request, call, _ in accepted])
            recorded = recordings.recordings_start(calls=[call for call in started if call.record])
            openers = _openers_playable(started, snapshots)
            begun = {
                call.pk: _stream_start(call, opener=openers[call.pk], recording=recorded.get(call.pk))
                for call in started
            }
            for start in begun.values():
                start.spool = _spool_open(start)
                spools += [start.spool] if start.spool is not None else []
    except Exception:
        for spool in spools:  # nothing of the batch was committed: nor is any of its audio kept
            spool.discard()
        raise
    return [verdict if isinstance(verdict, StreamRefused) else begun[verdict[0].pk] for verdict in verdicts]


def _calls_find_locked(requests: list[StreamRequest]) -> dict[tuple, Call]:
    """The calls the requests name, found as _call_find finds them (by our id, else by the provider's),
    in one read that locks them in primary-key order; keyed ("id", public id) and ("provider", provider,
    provider call id). The campaign and the recording come along for the call object announced."""
    public_ids = {request.call_id for request in requests if request.call_id}
    provider_ids: dict[str, set[str]] = defaultdict(set)
    for request in requests:
        if request.call_sid:
            provider_ids[request.provider].add(request.call_sid)
    matching = Q(public_id__in=public_ids) if public_ids else Q()
    for provider, sids in provider_ids.items():
        matching |= Q(provider=provider, provider_call_id__in=sids)
    if not matching:
        return {}
    calls = (
        Call.objects.select_related("agent", "campaign", "recording")
        .select_for_update(of=("self",))
        .filter(matching)
        .order_by("pk")
    )
    found: dict[tuple, Call] = {}
    for call in calls:
        found[("id", call.public_id)] = call
        if call.provider_call_id:
            found[("provider", call.provider, call.provider_call_id)] = call
    return found


def _stream_judge(request: StreamRequest, found: dict[tuple, Call]) -> tuple[Call, str] | StreamRefused:
    """(the call, its token's digest) if the stream may start, else the StreamRefused it earns, judged as
    stream_begin and call_stream_claim judge. The call is marked taken in memory, so a second start of it
    in the same batch is refused as it would be once the first had committed."""
    call = found.get(("id", request.call_id)) if request.call_id else None
    if call is None and request.call_sid:
        call = found.get(("provider", request.provider, request.call_sid))
    try:
        call = _call_of_agent(call, agent_id=request.agent_id)
        digest = call_stream_claim_check(call=call, token=request.stream_token)
    except StreamRefused as refused:
        return refused
    call.stream_token_hash, call.stream_started_at = "", timezone.now()
    return call, digest


def _stream_events_apply(accepted: list[tuple[StreamRequest, Call]]) -> None:
    """Each started call's stream-start event (→ in_progress), all in one call_events_apply."""
    events = [
        lifecycle.stream_started_event(public_id=call.public_id, stream_sid=request.stream_sid)
        for request, call in accepted
    ]
    for result in lifecycle.call_events_apply(events) if events else ():
        if isinstance(result, Exception):
            raise result


def _openers_playable(calls: list[Call], snapshots: dict[int, dict | None]) -> dict[int, bytes | None]:
    """_opener_playable for each call, by pk: each distinct snapshot's audio read once."""
    audio: dict[tuple, bytes | None] = {}
    playable: dict[int, bytes | None] = {}
    for call in calls:
        snapshot = snapshots.get(call.pk)
        key = tuple(sorted(snapshot.items())) if snapshot else ()
        if key not in audio:
            audio[key] = _opener_playable(snapshot, call=call)
        playable[call.pk] = audio[key]
    return playable


def _spool_open(begun: StreamStart) -> recordings.RecordingSpool | None:
    """The recording's spool (a spool that cannot be written fails the recording only)."""
    if begun.recording_id is None:
        return None
    return recordings.recording_spool_open(recording_id=begun.recording_id, path=Path(begun.spool_path))


def _stream_begin_alone(request: StreamRequest) -> StreamStart | Exception:
    try:
        with transaction.atomic():  # a savepoint: a failure here leaves the others' starts whole
            begun = stream_begin(**asdict(request))
            begun.spool = _spool_open(begun)
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
