"""`/ws/calls/<call_id>/supervise`: a supervisor on a live call (docs/supervise.md).

Authenticated like `/ws/calls` (the session cookie from the site's own origin, or `Authorization: Bearer`);
otherwise closed with 4401. Listening needs the playback right (admin, operator, compliance; 4403 for
the others); whispering, barging in and taking over need the right to operate calls (admin, operator). A
call that is not live is closed with 4404.

The call's media may run in another web process: this socket meets it on the channel layer
(telephony/media/supervision.py): the process's ListenHub joins the call's listen group for it, and the
socket announces itself to the call's control group every HEARTBEAT_SECONDS (that is how the session knows
someone listens).

Server → browser: binary frames of μ-law 8 kHz mono (both sides of the call mixed), 100 ms each, and
JSON text: {"type": "status", "state": "listening"|"ended", "mode", "may_speak"} and {"type": "error",
"message"}. The socket closes (1000) when the call's stream ends.
Browser → server: JSON text {"type": "mode", "mode": "barge"|"takeover"|"whisper-audio"|"none"},
{"type": "whisper", "text": "..."}; binary frames: the supervisor's microphone as μ-law 8 kHz, 20 ms
frames, heard as the current mode says.

Every listen is audited (call.listen_started, call.listen_stopped with its start and end), and so are whispers
and mode changes; each also shows on the call's timeline (a CallEvent from the source "supervisor")."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
import weakref

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from channels.layers import get_channel_layer
from django.contrib.auth.models import AnonymousUser
from django.utils import timezone
from redis.exceptions import TimeoutError as RedisTimeout

from calls.models import Call, CallEvent, CallStatus
from live.consumers import _key_for, _role_of, bearer_token
from live.origins import origin_allowed
from live.principals import CLOSE_FORBIDDEN, CLOSE_UNAUTHENTICATED
from telephony.media import supervision
from telephony.media.supervision import Mode
from wordcab_admin.kernel.audio import audioop
from wordcab_admin.kernel.audit import audit_record
from wordcab_admin.kernel.fastpath.layer_receive import raise_if_cancelling, receive_many
from wordcab_admin.kernel.roles import GRANTS, Capability

log = logging.getLogger(__name__)

CLOSE_NOT_LIVE = 4404
HEARTBEAT_SECONDS = 2.0
SUPERVISOR_SOURCE = "supervisor"
MAX_WHISPER_CHARS = 500
MODE_ACTIONS = {Mode.BARGE: "barged in", Mode.TAKEOVER: "took over", Mode.WHISPER_AUDIO: "whispers (voice)"}


class ListenHub:
    """This process's one reader of the calls' listen groups (one per event loop): a call's audio reaches
    the process once, on one plain channel read with one blocking pop however many people listen here (a
    channel per socket, read by channels-redis message by message, fell seconds behind at 50 listeners),
    and is handed to each of its local listeners."""

    def __init__(self) -> None:
        self.channel = f"supervise.listeners.{uuid.uuid4().hex}"
        self.listeners: dict[str, set[SuperviseConsumer]] = {}
        self.receiver: asyncio.Task | None = None

    async def join(self, consumer: SuperviseConsumer) -> None:
        first = consumer.call_id not in self.listeners
        self.listeners.setdefault(consumer.call_id, set()).add(consumer)
        if first:
            await get_channel_layer().group_add(supervision.listen_group(consumer.call_id), self.channel)
        if self.receiver is None or self.receiver.done():
            self.receiver = asyncio.get_running_loop().create_task(self._receive())

    async def leave(self, consumer: SuperviseConsumer) -> None:
        here = self.listeners.get(consumer.call_id, set())
        here.discard(consumer)
        if not here:
            self.listeners.pop(consumer.call_id, None)
            if self.receiver is not None and not self.listeners:
                self.receiver.cancel()
                self.receiver = None
            await get_channel_layer().group_discard(supervision.listen_group(consumer.call_id), self.channel)

    async def _receive(self) -> None:
        layer = get_channel_layer()
        while True:
            raise_if_cancelling()
            try:
                messages = await receive_many(
                    layer, self.channel, block_seconds=supervision.HUB_BLOCK_SECONDS
                )
            except asyncio.CancelledError:
                raise
            except RedisTimeout as exc:  # an idle blocking pop outlived the socket's timeout: pop again
                raise_if_cancelling(exc)
                continue
            except Exception as exc:  # noqa: BLE001 -- Redis away: audio stops until it answers again
                raise_if_cancelling(exc)
                log.warning("listen hub: the calls' audio cannot be read (%s); retrying", exc)
                await asyncio.sleep(1.0)
                continue
            for message in messages:
                for consumer in list(self.listeners.get(str(message.get("call_id") or ""), ())):
                    with contextlib.suppress(Exception):  # a socket gone meanwhile: its disconnect cleans up
                        await consumer.deliver(message)


_listen_hubs: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, ListenHub] = weakref.WeakKeyDictionary()


def listen_hub() -> ListenHub:
    loop = asyncio.get_running_loop()
    hub = _listen_hubs.get(loop)
    if hub is None:
        hub = _listen_hubs[loop] = ListenHub()
    return hub


def supervisor_note(call: Call, *, user, what: str, payload: dict | None = None) -> None:
    """One line on the call's timeline: who did what (a CallEvent that moves nothing)."""
    CallEvent.objects.create(
        call=call,
        source=SUPERVISOR_SOURCE,
        provider_status=what[:32],
        payload={"user": user.get_username(), "note": f"{user.get_username()} {what}", **(payload or {})},
        applied=False,
        ignored_reason="",
    )


@database_sync_to_async
def _live_call(call_id: str) -> Call | None:
    return Call.objects.filter(public_id=call_id).exclude(status__in=CallStatus.terminal()).first()


@database_sync_to_async
def _record(call: Call, *, user, action: str, what: str, before=None, after=None) -> None:
    audit_record(
        actor=user, action=action, object_type="call", object_id=call.public_id, before=before, after=after
    )
    supervisor_note(call, user=user, what=what, payload=after if isinstance(after, dict) else None)


def both_sides(message: dict) -> bytes:
    """The caller and what the caller hears, as one mono μ-law stream."""
    caller, agent = bytes(message["caller"]), bytes(message["agent"])
    size = min(len(caller), len(agent))
    pcm = audioop.add(audioop.ulaw2lin(caller[:size], 2), audioop.ulaw2lin(agent[:size], 2), 2)
    return audioop.lin2ulaw(pcm, 2)


class SuperviseConsumer(AsyncWebsocketConsumer):
    call: Call | None = None  # None once the listening ended
    call_id = ""
    user = None
    may_speak = False
    mode = Mode.NONE
    started_at = None
    heartbeat: asyncio.Task | None = None
    chunks_sent = 0

    async def connect(self) -> None:
        user = await self._authenticate()
        if user is None:
            await self._refuse(CLOSE_UNAUTHENTICATED)
            return
        role = await _role_of(user)
        if role is None or Capability.PLAYBACK not in GRANTS[role]:
            await self._refuse(CLOSE_FORBIDDEN)
            return
        call = await _live_call(self.scope["url_route"]["kwargs"]["call_id"])
        if call is None:
            await self._refuse(CLOSE_NOT_LIVE)
            return
        self.call, self.user, self.call_id = call, user, call.public_id
        self.may_speak = Capability.OPERATE in GRANTS[role]
        await self.accept()
        await listen_hub().join(self)
        self.started_at = timezone.now()
        await _record(call, user=user, action="call.listen_started", what="started listening")
        await self._announce(on=True)
        self.heartbeat = asyncio.get_running_loop().create_task(self._heartbeat())
        await self._status("listening")

    async def _authenticate(self):
        token = bearer_token(self.scope)
        if token is not None:
            key = await _key_for(token)
            return key.user if key else None
        user = self.scope.get("user") or AnonymousUser()
        if not user.is_authenticated:
            return None
        if not origin_allowed(self.scope):
            return None
        return user

    async def _refuse(self, code: int) -> None:
        await self.accept()  # a close code needs an accepted socket
        await self.close(code=code)

    async def disconnect(self, code: int) -> None:
        await self._end()

    async def _end(self) -> None:
        """Stop listening (the browser left, or the call's stream ended): audited with its start and end."""
        if self.call is None:
            return
        call, self.call = self.call, None
        if self.heartbeat is not None:
            self.heartbeat.cancel()
        with contextlib.suppress(Exception):  # Redis away: the session forgets us after its TTL
            if self.mode != Mode.NONE:
                await self._control({"type": supervision.MODE, "mode": Mode.NONE.value})
            await self._announce(on=False)
            await self.channel_layer.group_discard(
                supervision.listen_group(call.public_id), self.channel_name
            )
        if self.mode != Mode.NONE:
            await self._mode_audit(call, self.mode, Mode.NONE)
        ended = timezone.now()
        await _record(
            call,
            user=self.user,
            action="call.listen_stopped",
            what="stopped listening",
            after={
                "from": self.started_at.isoformat(),
                "to": ended.isoformat(),
                "seconds": round((ended - self.started_at).total_seconds(), 1),
            },
        )

    # --- browser → call -----------------------------------------------------------------------------------

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if self.call is None:
            return
        if bytes_data is not None:
            if self.may_speak and self.mode != Mode.NONE and bytes_data:
                await self._control({"type": supervision.SPEAK, "audio": bytes_data})
            return
        try:
            command = json.loads(text_data or "")
        except ValueError:
            await self._error("Not JSON.")
            return
        if not isinstance(command, dict):
            await self._error("A command is a JSON object.")
            return
        if command.get("type") not in ("mode", "whisper"):
            await self._error("Unknown command.")
            return
        if not self.may_speak:
            await self._error("Your role may listen, not speak on the call.")
            return
        if command["type"] == "whisper":
            await self._whisper(str(command.get("text") or "").strip())
        else:
            await self._mode(command.get("mode"))

    async def _whisper(self, text: str) -> None:
        if not text or len(text) > MAX_WHISPER_CHARS:
            await self._error(f"A whisper is 1 to {MAX_WHISPER_CHARS} characters.")
            return
        await self._control({"type": supervision.WHISPER, "text": text})
        await _record(
            self.call, user=self.user, action="call.whispered", what="whispered", after={"text": text}
        )
        await self.send(json.dumps({"type": "whispered", "text": text}))

    async def _mode(self, value) -> None:
        try:
            mode = Mode(value)
        except ValueError:
            await self._error("The mode is one of none, barge, takeover, whisper-audio.")
            return
        if mode == self.mode:
            await self._status("listening")
            return
        await self._control({"type": supervision.MODE, "mode": mode.value})
        previous, self.mode = self.mode, mode
        await self._mode_audit(self.call, previous, mode)
        await self._status("listening")

    async def _mode_audit(self, call: Call, previous: Mode, mode: Mode) -> None:
        what = MODE_ACTIONS.get(mode) or f"handed the call back ({previous.value} ended)"
        after = {"mode": mode.value}
        await _record(
            call,
            user=self.user,
            action="call.supervisor_mode",
            what=what,
            before={"mode": previous.value},
            after=after,
        )

    async def _control(self, message: dict) -> None:
        message["listener"] = self.channel_name
        message["call_id"] = self.call_id  # the process hub hands it to that call's session
        await self.channel_layer.group_send(supervision.control_group(self.call_id), message)

    async def _announce(self, *, on: bool) -> None:
        await self._control({"type": supervision.HEARTBEAT, "on": on})

    async def _heartbeat(self) -> None:
        while True:
            raise_if_cancelling()
            await asyncio.sleep(HEARTBEAT_SECONDS)
            try:
                await self._announce(on=True)
            except Exception as exc:  # noqa: BLE001 -- Redis away: audio stops until it answers again
                raise_if_cancelling(exc)
                log.warning("supervise %s: heartbeat failed: %s", self.channel_name, exc)

    # --- call → browser (from the process's ListenHub) -----------------------------------------------------

    async def deliver(self, message: dict) -> None:
        kind = message.get("type")
        if kind == supervision.AUDIO:
            self.chunks_sent += 1
            await self.send(bytes_data=both_sides(message))
        elif kind == supervision.HELLO:  # the call's stream (re)started: tell it at once that we listen
            await self._announce(on=True)
        elif kind == supervision.ENDED:
            asyncio.get_running_loop().create_task(self._call_ended())

    async def _call_ended(self) -> None:
        await self._status("ended")
        await self._end()
        await self.close(code=1000)

    async def _status(self, state: str) -> None:
        payload = {"type": "status", "state": state, "mode": self.mode.value, "may_speak": self.may_speak}
        await self.send(json.dumps(payload))

    async def _error(self, message: str) -> None:
        await self.send(json.dumps({"type": "error", "message": message}))
