"""A supervisor on a live call, the session's side: the listeners' tap and the supervisor's controls.

One `CallSupervision` per MediaSession (telephony/media/session.py). The supervisor's websocket
(live/listen.py) may run in another web process than the call's media, so the two meet on the channel
layer (Redis), in two groups per call:

- `supervise.control.<call id>`: joined (when the stream begins; left when it ends) by the channel of this
  process's control hub (`_ControlHub`: one reader per process, whatever the number of calls), which hands
  each message to its call's session: a listener's heartbeat, a mode change
  (`barge`, `takeover`, `whisper-audio`, `none`), a whisper's text (→ the runtime's `guidance`) and
  the supervisor's microphone as 20 ms μ-law frames.
- `supervise.listen.<call id>`: while anyone listens (a heartbeat heard within LISTENER_TTL_SECONDS), the
  session sends both sides of the call there, CHUNK_FRAMES frames (100 ms) of each side at a time, with
  the call's sample position; the stream's end is announced there too.

The frame path never awaits Redis: a caller frame only appends to a bounded queue that a background task
drains; a full queue drops the listeners' copy (counted in `listen_dropped`), never the call's frame. A
Redis failure is logged and retried in the background, never raised into the call.

Pacing: the agent's audio is sent to the carrier in bursts (a runtime hands over seconds of speech at
once) and the carrier plays it by its clock, so what the caller hears is paced here by the caller's
frames, one outgoing frame per incoming one, which is the carrier's clock too:
- for the listeners, always (their copy of the agent side);
- for the caller while a supervisor barges: the runtime's audio is held and mixed, frame by frame, with
  the supervisor's (PCM16 sums with clipping) before it goes to the carrier.
While a supervisor takes over, the runtime's audio is dropped (it keeps hearing the caller) and the
supervisor's goes to the caller. Whisper audio is mixed into what the runtime hears only."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
import weakref
from collections import deque
from collections.abc import Awaitable, Callable
from enum import StrEnum

from channels.layers import get_channel_layer
from redis.exceptions import TimeoutError as RedisTimeout

from wordcab_admin.kernel.audio import FRAME_BYTES, audioop, ulaw_frames
from wordcab_admin.kernel.fastpath.layer_receive import raise_if_cancelling, receive_many

log = logging.getLogger(__name__)

CHUNK_FRAMES = 5  # frames of each side per message to the listeners: 100 ms
LISTEN_QUEUE_CHUNKS = 50  # 5 s of audio waiting for Redis before the listeners' copy is dropped
LISTENER_TTL_SECONDS = 6.0  # a listener not heard from for this long is gone (heartbeats: every 2 s)
AGENT_BACKLOG_FRAMES = 3000  # 60 s of the agent's speech queued ahead of its playing (a runtime's burst)
SUPERVISOR_BACKLOG_FRAMES = 25  # 500 ms of the supervisor's microphone ahead of the call's clock
RETRY_SECONDS = 1.0
HUB_BLOCK_SECONDS = 1.0  # a hub's blocking pop: how long a hub being stopped may take to notice
MEMBERSHIP_RENEW_SECONDS = 30.0
SILENCE_FRAME = b"\xff" * FRAME_BYTES

# Message types on the channel layer (channels maps "supervise.audio" to a consumer's supervise_audio).
HEARTBEAT = "supervise.listener"
MODE = "supervise.mode"
WHISPER = "supervise.whisper"
SPEAK = "supervise.speak"
AUDIO = "supervise.audio"
HELLO = "supervise.hello"
ENDED = "supervise.ended"


class Mode(StrEnum):
    NONE = "none"
    BARGE = "barge"  # the caller and the runtime hear the supervisor
    TAKEOVER = "takeover"  # the runtime is muted; the caller hears the supervisor
    WHISPER_AUDIO = "whisper-audio"  # the runtime hears the supervisor, the caller never does


def control_group(call_id: str) -> str:
    return f"supervise.control.{call_id}"


def listen_group(call_id: str) -> str:
    return f"supervise.listen.{call_id}"


def mix(first: bytes, second: bytes) -> bytes:
    """Two μ-law frames of the same length as one: their PCM16 summed, clipped (audioop saturates)."""
    return audioop.lin2ulaw(audioop.add(audioop.ulaw2lin(first, 2), audioop.ulaw2lin(second, 2), 2), 2)


class CallSupervision:
    """The tap and the controls of one call's media session. Its methods run on the stream's event loop;
    the frame path (`caller_frame`, `agent_sent`) does no I/O."""

    def __init__(
        self,
        *,
        call_id: str,
        send_to_caller: Callable[[bytes], Awaitable[None]],
        guidance: Callable[[str], Awaitable[None]],
    ):
        self.call_id = call_id
        self._send_to_caller = send_to_caller  # the carrier and the recording, bypassing the mute
        self._guidance = guidance
        self.mode = Mode.NONE
        self.mode_owner = ""  # the listener channel that set the mode: only it (or its leaving) ends it
        self.listeners: dict[str, float] = {}  # listener channel → when last heard (monotonic)
        self.listen_dropped = 0  # chunks the listeners lost to a full queue (never the call's frames)
        self.listen_sent = 0
        self._samples = 0  # the caller's samples so far: the call's clock
        self._agent_heard: deque[bytes] = deque(maxlen=AGENT_BACKLOG_FRAMES)  # the listeners' agent side
        self._agent_held: deque[bytes | str] = deque()  # held while barging: frames, and marks (str)
        self._supervisor: deque[bytes] = deque(maxlen=SUPERVISOR_BACKLOG_FRAMES)
        self._chunk_caller: list[bytes] = []
        self._chunk_agent: list[bytes] = []
        self._chunk_at = 0
        self._outbox: asyncio.Queue[dict] = asyncio.Queue(maxsize=LISTEN_QUEUE_CHUNKS)
        self._tasks: list[asyncio.Task] = []
        self._stopping = asyncio.Event()
        self._send_mark: Callable[[str], Awaitable[None]] | None = None

    # --- life ---------------------------------------------------------------------------------------------

    def start(self, *, send_mark: Callable[[str], Awaitable[None]]) -> None:
        self._send_mark = send_mark
        loop = asyncio.get_running_loop()
        _hub().add(self)
        self._tasks = [loop.create_task(self._join()), loop.create_task(self._listen_sender())]

    async def stop(self) -> None:
        """The stream ended: stop the background tasks, and tell the listeners and leave the control group
        in the background: the end of a call never waits on Redis (a cancelled Redis command can take
        seconds to unwind)."""
        # Not cancelled: a Redis command cancelled mid-flight was seen never to finish unwinding (a task
        # left "cancelling" for good, which hangs the event loop's shutdown). The tasks see the flag and
        # end after their current command.
        self._stopping.set()
        self._tasks = []
        hub = _hub()
        hub.remove(self)
        goodbye = asyncio.get_running_loop().create_task(self._goodbye(hub.channel))
        _goodbyes.add(goodbye)  # referenced until done
        goodbye.add_done_callback(_goodbyes.discard)

    async def _goodbye(self, hub_channel: str) -> None:
        layer = get_channel_layer()
        if layer is None:
            return
        try:
            ended = {"type": ENDED, "call_id": self.call_id}
            await asyncio.wait_for(layer.group_send(listen_group(self.call_id), ended), 5)
            await asyncio.wait_for(layer.group_discard(control_group(self.call_id), hub_channel), 5)
        except Exception as exc:  # noqa: BLE001 -- Redis away: listeners notice the call's end by its status
            raise_if_cancelling(exc)
            log.info("call %s: supervision could not say goodbye: %s", self.call_id, exc)

    @property
    def listening(self) -> bool:
        return bool(self.listeners)

    @property
    def runtime_muted(self) -> bool:
        return self.mode == Mode.TAKEOVER

    @property
    def holding_agent(self) -> bool:
        """The runtime's audio waits here to be mixed with the supervisor's (barge)."""
        return self.mode == Mode.BARGE

    # --- the frame path -----------------------------------------------------------------------------------

    async def caller_frame(self, ulaw: bytes) -> bytes:
        """One caller frame arrived (the call's clock ticks): the supervisor's frame for this tick goes where
        the mode says, the listeners get their copy. Returns what the runtime hears."""
        supervisor = self._supervisor.popleft() if self._supervisor else None
        if supervisor is not None and len(supervisor) != len(ulaw):
            supervisor = (supervisor + SILENCE_FRAME * 2)[: len(ulaw)]
        heard_by_runtime = ulaw
        if supervisor is not None and self.mode in (Mode.BARGE, Mode.WHISPER_AUDIO):
            heard_by_runtime = mix(ulaw, supervisor)
        to_caller = await self._caller_side_tick(supervisor, len(ulaw))
        if self.listeners:
            self._listen_tick(ulaw, to_caller)
        return heard_by_runtime

    async def _caller_side_tick(self, supervisor: bytes | None, size: int) -> bytes | None:
        """What the caller hears during this tick when a supervisor talks (sent here); else None, and the
        listeners' copy of the agent side comes from what the runtime sent."""
        if self.mode == Mode.TAKEOVER:
            if supervisor is not None:
                await self._send_to_caller(supervisor)
            return supervisor
        if self.mode == Mode.BARGE:
            agent = await self._held_frame()
            if agent is None and supervisor is None:
                return None
            frame = mix(agent or SILENCE_FRAME[:size], supervisor or SILENCE_FRAME[: len(agent or b"")])
            await self._send_to_caller(frame)
            return frame
        return None

    async def _held_frame(self) -> bytes | None:
        """The runtime's next held frame, releasing the marks queued before it."""
        while self._agent_held and isinstance(self._agent_held[0], str):
            await self._mark(self._agent_held.popleft())
        return self._agent_held.popleft() if self._agent_held else None

    def _listen_tick(self, caller: bytes, to_caller: bytes | None) -> None:
        if to_caller is None:
            to_caller = self._agent_heard.popleft() if self._agent_heard else SILENCE_FRAME
        if not self._chunk_caller:
            self._chunk_at = self._samples
        self._samples += len(caller)
        self._chunk_caller.append(caller)
        self._chunk_agent.append(to_caller[: len(caller)].ljust(len(caller), b"\xff"))
        if len(self._chunk_caller) >= CHUNK_FRAMES:
            self._listen_flush()

    def _listen_flush(self) -> None:
        message = {
            "type": AUDIO,
            "call_id": self.call_id,
            "at": self._chunk_at,
            "caller": b"".join(self._chunk_caller),
            "agent": b"".join(self._chunk_agent),
            "sent": time.time(),
        }
        self._chunk_caller, self._chunk_agent = [], []
        try:
            self._outbox.put_nowait(message)
        except asyncio.QueueFull:  # Redis is slow: the listeners lose this chunk, the call loses nothing
            self.listen_dropped += 1

    def agent_sent(self, ulaw: bytes) -> bool:
        """The runtime sent audio toward the caller. True when it is taken here (held for a barge's mix, or
        dropped by a take-over) and must not go to the carrier as it is."""
        if self.mode == Mode.TAKEOVER:
            return True
        if self.mode == Mode.BARGE:
            self._agent_held.extend(ulaw_frames(ulaw))
            return True
        if self.listeners:
            self._agent_heard.extend(ulaw_frames(ulaw))
        return False

    def agent_mark(self, name: str) -> bool:
        """A runtime's mark: held behind its held audio while barging (True), else sent as usual."""
        if self.mode == Mode.BARGE and self._agent_held:
            self._agent_held.append(name)
            return True
        return False

    def agent_cleared(self) -> None:
        self._agent_heard.clear()
        self._agent_held = deque(item for item in self._agent_held if isinstance(item, str))

    # --- the supervisors' messages ------------------------------------------------------------------------

    async def handle(self, message: dict) -> None:
        kind = message.get("type")
        if kind == HEARTBEAT:
            self._listener_seen(message)
        elif kind == MODE:
            await self._mode_change(message)
        elif kind == WHISPER:
            await self._guidance(str(message.get("text") or ""))
        elif kind == SPEAK and message.get("audio"):
            self._supervisor.extend(ulaw_frames(bytes(message["audio"])))

    async def _handle_safely(self, message: dict) -> None:
        try:
            await self.handle(message)
        except Exception:  # noqa: BLE001 -- a bad message must not end the supervision
            log.exception("call %s: a supervision message failed", self.call_id)

    def _listener_seen(self, message: dict) -> None:
        channel = str(message.get("listener") or "")
        if message.get("on"):
            self.listeners[channel] = time.monotonic()
            return
        self.listeners.pop(channel, None)
        if channel == self.mode_owner:  # a supervisor who leaves hands the call back
            self._mode_set(Mode.NONE, "")

    async def _mode_change(self, message: dict) -> None:
        try:
            mode = Mode(message.get("mode"))
        except ValueError:
            return
        owner = str(message.get("listener") or "")
        if mode == Mode.NONE and owner != self.mode_owner:
            return  # someone else's barge or take-over goes on
        previous = self.mode
        self._mode_set(mode, owner if mode != Mode.NONE else "")
        if previous == Mode.BARGE and mode != Mode.BARGE:
            await self._release_held(send=mode != Mode.TAKEOVER)

    def _mode_set(self, mode: Mode, owner: str) -> None:
        self.mode, self.mode_owner = mode, owner
        self._supervisor.clear()
        log.info("call %s: supervision mode %s", self.call_id, mode)

    async def _release_held(self, *, send: bool) -> None:
        """A barge ended: what the runtime said meanwhile and has not played goes on as usual (or is dropped
        when a take-over follows), with its marks."""
        held, self._agent_held = self._agent_held, deque()
        audio: list[bytes] = []
        for item in held:
            if isinstance(item, str):
                if audio and send:
                    await self._send_to_caller(b"".join(audio))
                audio = []
                await self._mark(item)
            else:
                audio.append(item)
        if audio and send:
            await self._send_to_caller(b"".join(audio))

    async def _mark(self, name: str) -> None:
        if self._send_mark is not None:
            await self._send_mark(name)

    def _expire_listeners(self) -> None:
        now = time.monotonic()
        for channel, seen in list(self.listeners.items()):
            if now - seen > LISTENER_TTL_SECONDS:
                self._listener_seen({"listener": channel, "on": False})

    # --- the background tasks -----------------------------------------------------------------------------

    async def _join(self) -> None:
        """Join the call's control group with this process's hub channel, tell the listeners the stream is
        up (they announce themselves at once), and renew the membership now and then (a restarted Redis
        forgot it); on a Redis failure, log and retry: the call goes on."""
        layer = get_channel_layer()
        if layer is None:
            return
        hello_sent = False
        while True:
            raise_if_cancelling()
            try:
                await layer.group_add(control_group(self.call_id), _hub().channel)
                if not hello_sent:
                    await layer.group_send(
                        listen_group(self.call_id), {"type": HELLO, "call_id": self.call_id}
                    )
                    hello_sent = True
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), MEMBERSHIP_RENEW_SECONDS)
                if self._stopping.is_set():
                    return
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 -- Redis away: the call goes on, supervision retries
                raise_if_cancelling(exc)
                log.warning(
                    "call %s: supervision could not join its control group (%s); retrying", self.call_id, exc
                )
                await asyncio.sleep(RETRY_SECONDS)

    async def _listen_sender(self) -> None:
        """Send the listeners' chunks to the call's listen group, and forget silent listeners."""
        layer = get_channel_layer()
        while not self._stopping.is_set():
            raise_if_cancelling()
            try:
                message = await asyncio.wait_for(self._outbox.get(), timeout=0.5)
            except TimeoutError:
                self._expire_listeners()
                continue
            self._expire_listeners()
            if layer is None:
                continue
            try:
                await layer.group_send(listen_group(self.call_id), message)
                self.listen_sent += 1
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 -- Redis away: this chunk is lost to the listeners
                raise_if_cancelling(exc)
                self.listen_dropped += 1
                log.warning("call %s: listeners' audio not sent (%s)", self.call_id, exc)
                await asyncio.sleep(RETRY_SECONDS / 10)


class _ControlHub:
    """This process's one reader of the calls' control groups (one per event loop): every session's call
    joins its group with the hub's channel, so a process holds one blocking pop on Redis however many calls
    it carries, and the messages (each names its call) go to their session. A plain channel, not a
    process-local "!" one: the hub is its only reader, so one pop takes everything waiting, where
    channels-redis's own receive costs several round trips per message (which held a supervisor's
    microphone, 50 frames a second, far behind the call). Runs while the process carries a call."""

    def __init__(self) -> None:
        self.channel = f"supervise.process.{uuid.uuid4().hex}"
        self.sessions: dict[str, CallSupervision] = {}
        self.receiver: asyncio.Task | None = None

    def add(self, session: CallSupervision) -> None:
        self.sessions[session.call_id] = session
        if self.receiver is None or self.receiver.done():
            self.receiver = asyncio.get_running_loop().create_task(self._receive())

    def remove(self, session: CallSupervision) -> None:
        if self.sessions.get(session.call_id) is session:
            del self.sessions[session.call_id]
        if not self.sessions and self.receiver is not None:
            self.receiver.cancel()
            self.receiver = None

    async def _receive(self) -> None:
        layer = get_channel_layer()
        if layer is None:
            return
        while True:
            raise_if_cancelling()
            try:
                messages = await receive_many(layer, self.channel, block_seconds=HUB_BLOCK_SECONDS)
            except asyncio.CancelledError:
                raise
            except RedisTimeout as exc:  # an idle blocking pop outlived the socket's timeout: pop again
                raise_if_cancelling(exc)
                continue
            except Exception as exc:  # noqa: BLE001 -- Redis away: the calls go on, the hub retries
                raise_if_cancelling(exc)
                log.warning("supervision hub: the control messages cannot be read (%s); retrying", exc)
                await asyncio.sleep(RETRY_SECONDS)
                continue
            for message in messages:
                session = self.sessions.get(str(message.get("call_id") or ""))
                if session is not None:
                    await session._handle_safely(message)


_goodbyes: set[asyncio.Task] = set()
_hubs: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _ControlHub] = weakref.WeakKeyDictionary()


def _hub() -> _ControlHub:
    loop = asyncio.get_running_loop()
    hub = _hubs.get(loop)
    if hub is None:
        hub = _hubs[loop] = _ControlHub()
    return hub
