"""One browser call: an aiortc peer connection in the web process, bridged to a MediaSession.

The operator's browser offers (non-trickle: its offer carries all its candidates), we answer with host
candidates only (no STUN, no TURN, no media server) once ours are gathered, and the browser's microphone
frames go to the session as 20 ms μ-law, the session's audio back on `AgentAudioTrack`
(telephony/webrtc/tracks.py). The session (telephony/media/session.py) does what it does for every
carrier: claims the call with its single-use stream token, moves it in_progress, plays the consent opener,
records, runs the agent runtime.

Every call into the session goes through one queue and one task (`_feed`), so the session and the runtime
see one event at a time, as on a carrier's websocket, although the browser's audio and the marks of our
outgoing track come from different aiortc tasks.

The end, whoever asks:
- the browser: its Hang up (POST /v1/webrtc/calls/{id}/hangup, which ends the call in the lifecycle), or
  its peer connection closing or failing (ICE, DTLS) → `end()`, which completes the call itself;
- anybody else (an operator on another page, max_duration in a Celery worker, the watchdog): the
  lifecycle ends the call and the provider asks the leg to close (`leg_hangup_request`): directly when
  the leg lives in this process, else through the channel layer group `webrtc.leg.<id>`, which the web
  process holding the leg listens to."""

from __future__ import annotations

import asyncio
import contextvars
import logging
import uuid

from aiortc import RTCConfiguration, RTCPeerConnection, RTCRtpSender, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from redis.exceptions import RedisError

from calls.lifecycle import CallError, EventIn, EventSource, call_events_apply
from calls.models import CallStatus, EndReason
from telephony.media.session import MediaSession
from telephony.webrtc.tracks import AgentAudioTrack, CallerAudio

log = logging.getLogger(__name__)

PROVIDER_NAME = "webrtc"
HANGUP_MESSAGE = "webrtc.hangup"
CONNECT_TIMEOUT_SECONDS = 20  # an answer the browser never connects to is given up after this
PREFERRED_CODEC = "audio/PCMU"  # μ-law 8 kHz: the session's own format, nothing to resample

# The legs of this process, by their id (the call's provider_call_id).
_LEGS: dict[str, BrowserLeg] = {}


class BadOffer(ValueError):
    """The browser's offer cannot be answered (not SDP, or no audio in it)."""


def leg_group(leg_id: str) -> str:
    return f"webrtc.leg.{leg_id}"


class BrowserLeg:
    def __init__(self, *, agent_id: str) -> None:
        self.id = uuid.uuid4().hex
        self.loop = asyncio.get_running_loop()
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))  # [] and not None: no default STUN
        self.outgoing = AgentAudioTrack(on_mark=lambda name: self._events.put_nowait(("mark", name)))
        self.session = MediaSession(transport=self.outgoing, provider=PROVIDER_NAME, agent_id=agent_id)
        self.ending = False
        self._connected = asyncio.Event()  # the browser's media flows: the call may begin
        self._events: asyncio.Queue[tuple[str, object]] = asyncio.Queue()
        self._tasks: set[asyncio.Task] = set()
        self._feeder: asyncio.Task | None = None
        self.pc.on("track", self._on_track)
        self.pc.on("connectionstatechange", self._on_connection_state)

    # --- signalling ----------------------------------------------------------------------------------------

    async def answer(self, offer_sdp: str) -> str:
        """Our answer to the browser's offer, with every host candidate gathered (non-trickle)."""
        try:
            await self.pc.setRemoteDescription(RTCSessionDescription(sdp=offer_sdp, type="offer"))
        except (ValueError, TypeError, KeyError, IndexError) as exc:  # aiortc's SDP parser raises these
            raise BadOffer(f"The offer is not a usable SDP offer ({exc}).") from exc
        audio = [t for t in self.pc.getTransceivers() if t.kind == "audio"]
        if not audio:
            raise BadOffer("The offer has no audio.")
        codecs = RTCRtpSender.getCapabilities("audio").codecs
        audio[0].setCodecPreferences(sorted(codecs, key=lambda c: c.mimeType != PREFERRED_CODEC))
        self.pc.addTrack(self.outgoing)  # onto the browser's audio transceiver: sendrecv
        await self.pc.setLocalDescription(await self.pc.createAnswer())  # waits for ICE gathering
        return self.pc.localDescription.sdp

    def start_threadsafe(self, *, call_public_id: str, stream_token: str) -> None:
        """`start`, asked from a request's thread."""
        self.loop.call_soon_threadsafe(
            lambda: self.start(call_public_id=call_public_id, stream_token=stream_token),
            context=contextvars.Context(),
        )

    def start(self, *, call_public_id: str, stream_token: str) -> None:
        """The call exists: open its media session and listen for hang-ups from elsewhere."""
        if self.ending:  # the peer failed while the call was being made: end the call now
            self._spawn_detached(
                database_sync_to_async(_call_end)(leg_id=self.id, talked=False, reason="peer-gone")
            )
            return
        _LEGS[self.id] = self
        self._feeder = self._spawn(self._feed(call_public_id, stream_token))
        self._spawn(self._listen_for_hangup())
        self._spawn(self._give_up_unless_connected())

    # --- the session's one feeder --------------------------------------------------------------------------

    async def _feed(self, call_public_id: str, stream_token: str) -> None:
        # The call goes in_progress (and its opener starts) when the browser's media can flow, as a
        # carrier's stream starts when the callee answers; until then it is `initiating`.
        await self._connected.wait()
        if self.ending:
            return
        begun = await self.session.begin(
            stream_sid=self.id, call_id=call_public_id, provider_call_id=self.id, stream_token=stream_token
        )
        if not begun:
            self._spawn(self.end(reason="stream-refused"))
            return
        while True:
            kind, value = await self._events.get()
            if kind == "audio":
                await self.session.caller_audio(value)
            elif kind == "mark":
                await self.session.mark_played(value)
            else:
                return

    def _on_track(self, track: MediaStreamTrack) -> None:
        if track.kind == "audio":
            self._spawn(self._read_caller(track))

    async def _read_caller(self, track: MediaStreamTrack) -> None:
        caller = CallerAudio()
        while True:
            try:
                frame = await track.recv()
            except MediaStreamError:
                return  # the track ended: the connection state says why
            if not self.session.started or self.ending:
                continue  # before the session begins (or after it ends) nobody listens
            for ulaw in caller.frames(frame):
                self._events.put_nowait(("audio", ulaw))

    # --- the end ----------------------------------------------------------------------------------------

    async def _on_connection_state(self) -> None:
        state = self.pc.connectionState
        if state == "connected":
            self._connected.set()
        elif state in ("failed", "closed"):
            self.end_soon(reason=f"peer-{state}", ended_elsewhere=False)

    async def _give_up_unless_connected(self) -> None:
        await asyncio.sleep(CONNECT_TIMEOUT_SECONDS)
        if self.pc.connectionState != "connected" and not self.ending:
            await self.end(reason="connect-timeout")

    async def end(self, *, reason: str, ended_elsewhere: bool = False) -> None:
        """Close the peer and finish the session; unless the lifecycle ended the call already
        (`ended_elsewhere`), end the call too: completed when it talked, failed when it never started."""
        if self.ending:
            return
        self.ending = True
        log.info("webrtc leg %s ends: %s", self.id, reason)
        self._events.put_nowait(("stop", None))
        self._connected.set()  # a feeder still waiting for the connection gives up (it sees `ending`)
        try:
            if self._feeder is not None and self._feeder is not asyncio.current_task():
                await asyncio.wait([self._feeder], timeout=5)
            self.outgoing.stop()
            await self.pc.close()
            await self.session.finish(stopped=False)
            if not ended_elsewhere:
                await database_sync_to_async(_call_end)(
                    leg_id=self.id, talked=self.session.started, reason=reason
                )
        finally:  # whatever failed above (the database, say), the leg is gone: the watchdog ends its call
            _LEGS.pop(self.id, None)
            for task in list(self._tasks):
                if task is not asyncio.current_task():
                    task.cancel()

    def end_soon(self, *, reason: str, ended_elsewhere: bool) -> None:
        if not self.ending:
            self._spawn(self.end(reason=reason, ended_elsewhere=ended_elsewhere))

    async def _listen_for_hangup(self) -> None:
        """A hang-up asked in another process (a Celery worker, another web process) reaches us here."""
        layer = get_channel_layer()
        if layer is None:
            return
        channel = ""
        try:
            channel = await layer.new_channel()
            await layer.group_add(leg_group(self.id), channel)
            while True:
                message = await layer.receive(channel)
                if message.get("type") == HANGUP_MESSAGE:
                    self.end_soon(reason="server-hangup", ended_elsewhere=True)
                    return
        except (OSError, RedisError) as exc:  # Redis away: hang-ups from this process still work
            log.warning("webrtc leg %s: no hang-ups from other processes (%s)", self.id, exc)
        finally:
            if channel:
                self._spawn_detached(layer.group_discard(leg_group(self.id), channel))

    # --- tasks ----------------------------------------------------------------------------------------

    def _spawn(self, coroutine) -> asyncio.Task:
        # A context of its own: a task that inherited the signalling request's context would send its
        # database work to that request's thread, long gone (asgiref's thread-sensitive executor).
        task = self.loop.create_task(coroutine, context=contextvars.Context())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def _spawn_detached(self, coroutine) -> None:
        task = self.loop.create_task(coroutine, context=contextvars.Context())
        _DETACHED.add(task)
        task.add_done_callback(_DETACHED.discard)


_DETACHED: set[asyncio.Task] = set()  # kept referenced until done (asyncio holds tasks weakly)


def _call_end(*, leg_id: str, talked: bool, reason: str) -> None:
    """The browser's side ended the call: its own lifecycle event (ignored, and kept as such, if the call
    had ended meanwhile)."""
    if talked:
        status, end_reason, error = CallStatus.COMPLETED, EndReason.HANGUP, None
    else:
        status, end_reason = CallStatus.FAILED, EndReason.ERROR
        error = CallError("webrtc_failed", f"The browser call never started ({reason}).")
    call_events_apply(
        [
            EventIn(
                provider=PROVIDER_NAME,
                provider_call_id=leg_id,
                status=status,
                source=EventSource.PROVIDER,
                provider_status=reason[:32],
                event_id=f"{leg_id}:{reason}",
                payload={"reason": reason},
                end_reason=end_reason,
                error=error,
            )
        ]
    )


# --- the entry points for synchronous code (the signalling view, the provider) -----------------------------


async def leg_open(*, offer_sdp: str, agent_id: str) -> tuple[BrowserLeg, str]:
    """A new leg and its answer SDP; BadOffer (the peer closed) when the offer cannot be answered.

    The peer connection is made in a context of its own, so that the tasks aiortc starts for it do not
    inherit the signalling request's (see `BrowserLeg._spawn`)."""
    opening = asyncio.get_running_loop().create_task(
        _leg_open(offer_sdp, agent_id), context=contextvars.Context()
    )
    return await opening


async def _leg_open(offer_sdp: str, agent_id: str) -> tuple[BrowserLeg, str]:
    leg = BrowserLeg(agent_id=agent_id)
    try:
        return leg, await leg.answer(offer_sdp)
    except BaseException:
        await leg_discard(leg)
        raise


async def leg_discard(leg: BrowserLeg) -> None:
    """A leg that has no call (its offer was bad, or the call could not be made): closed, nothing to end."""
    leg.ending = True
    await leg.pc.close()


def leg_hangup_request(leg_id: str) -> None:
    """Close the leg `leg_id` whose call the lifecycle has ended, wherever it lives. From synchronous code
    (a request's thread, a Celery worker), never from an event loop's own thread."""
    leg = _LEGS.get(leg_id)
    if leg is not None:
        leg.loop.call_soon_threadsafe(lambda: leg.end_soon(reason="server-hangup", ended_elsewhere=True))
        return
    leg_hangup_broadcast(leg_id)


def leg_hangup_broadcast(leg_id: str) -> None:
    """Ask the web process holding `leg_id` to close it, through the channel layer (a no-op when no
    process holds it: the leg has ended already)."""
    layer = get_channel_layer()
    if layer is None:
        log.warning("webrtc leg %s: no channel layer to send its hang-up through", leg_id)
        return
    try:
        async_to_sync(layer.group_send)(leg_group(leg_id), {"type": HANGUP_MESSAGE})
    except (OSError, RedisError) as exc:
        log.warning("webrtc leg %s: hang-up not sent (%s); it ends when the browser leaves", leg_id, exc)


def legs_here() -> int:
    """How many browser calls this process holds (for tests and health)."""
    return len(_LEGS)
