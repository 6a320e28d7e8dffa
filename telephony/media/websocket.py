"""A carrier's bidirectional media stream over a websocket: the frame the three carriers share.

Twilio (`/v1/media/twilio`), Telnyx (`/v1/media/telnyx`) and Plivo (`/v1/media/plivo`) all send JSON text
messages named by `event` (a start, 20 ms base64 μ-law media, marks or checkpoints, DTMF, a stop) and take
base64 μ-law audio, marks and clears back; each names them its own way. A subclass reads its carrier's
start and media messages and frames its outgoing ones; this class does the rest: the upgrade check, the
dispatch, refusing malformed messages one by one (logged and ignored: a failure in one stream stays in
that stream) and handing the call to a MediaSession (telephony/media/session.py).

Speed (bench_media: 200 streams × 50 frames/s, each echoed and recorded, in one process): messages are
taken one at a time without Channels' task per message, dispatched without its hop to the database thread,
and outgoing audio is framed by string concatenation and handed to the server's own send, under the
session middleware (wordcab_admin/kernel/fastpath/channels_consumer.py)."""

from __future__ import annotations

import binascii
import json
import logging
from dataclasses import dataclass
from urllib.parse import parse_qs

from channels.consumer import get_handler_name
from channels.generic.websocket import AsyncWebsocketConsumer

from telephony.media.session import MediaSession
from wordcab_admin.kernel.audio import FRAME_BYTES, ulaw_frames
from wordcab_admin.kernel.fastpath.channels_consumer import consume_in_order, data_send

log = logging.getLogger(__name__)


class Malformed(ValueError):
    """A message we cannot use; logged and ignored."""


def field(container: object, name: str, kind: type = str):
    """`container[name]` when it is a `kind`, else Malformed."""
    if not isinstance(container, dict) or not isinstance(container.get(name), kind):
        raise Malformed(f"missing or invalid {name!r}")
    return container[name]


def text_or_empty(value: object) -> str:
    """`value` if it is a string, else "": a carrier's JSON may hold anything, or nothing, where we expect an
    id, a token or a number. Read as "" it matches no call, token or number, so what needs it is refused
    where it is looked up instead of failing here."""
    return value if isinstance(value, str) else ""


def b64_payload(value: object) -> bytes:
    if not isinstance(value, str):
        raise Malformed("missing or invalid 'payload'")
    try:  # what base64.b64decode(value, validate=True) checks, without its regular expression
        return binascii.a2b_base64(value, strict_mode=True)
    except binascii.Error as exc:
        raise Malformed(f"payload is not base64: {exc}") from exc


@dataclass(frozen=True)
class StreamOpening:
    """What a carrier's start message tells about its stream."""

    stream_id: str
    provider_call_id: str
    call_id: str  # ours, from the parameters we handed the carrier
    stream_token: str  # the single-use token we handed the carrier with them
    media_format_ok: bool
    media_format: object = None


class CarrierMediaConsumer(AsyncWebsocketConsumer):
    """Subclass per carrier: set `provider` and `events` (its event name → one of `start`, `media`, `mark`,
    `dtmf`, `stop`, `ignore`) and implement the `read_*` and `*_text` methods."""

    provider: str = ""
    events: dict[str, str] = {}
    # No channel layer: nothing is sent to a stream from outside, and a Redis hiccup must not end a call.
    channel_layer_alias = "media-streams-use-no-channel-layer"

    # --- what a carrier's subclass provides --------------------------------------------------------------

    async def authorized(self) -> bool:
        """Whether the upgrade may be accepted (a signed URL, say); the single-use stream token in the
        start message is checked for every carrier anyway."""
        return True

    def read_start(self, message: dict) -> StreamOpening:
        raise NotImplementedError

    def read_media(self, message: dict) -> tuple[bytes, int | None]:
        """(the caller's μ-law audio, where it starts in samples if the carrier says); b"" to skip it."""
        raise NotImplementedError

    def read_mark(self, message: dict) -> str:
        raise NotImplementedError

    def read_dtmf(self, message: dict) -> str:
        raise NotImplementedError

    def media_text_parts(self, stream_id: str) -> tuple[str, str]:
        """(prefix, suffix) of an outgoing audio message around one frame's base64 payload."""
        raise NotImplementedError

    def mark_text(self, stream_id: str, name: str) -> str:
        raise NotImplementedError

    def clear_text(self, stream_id: str) -> str:
        raise NotImplementedError

    # --- the websocket ---------------------------------------------------------------------------------

    async def __call__(self, scope: dict, receive, send) -> None:
        self._data_send = data_send(send)
        await consume_in_order(self, scope, receive, send)

    async def dispatch(self, message: dict) -> None:
        """Channels' dispatch hops to the database thread before every message (to close stale
        connections); at 50 messages/s per stream that is the bottleneck. Our database work goes through
        database_sync_to_async, which does that itself, so frames are handled right here, and a text
        message (nearly all of them) goes straight to `receive`."""
        if message["type"] == "websocket.receive" and message.get("text") is not None:
            await self.receive(text_data=message["text"])
            return
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    async def connect(self) -> None:
        query = self.scope.get("query_string", b"").decode("latin-1")
        self.query = {name: values[0] for name, values in parse_qs(query).items()}
        self.agent_id = self.query.get("agent_id", "")
        self.session = MediaSession(transport=self, provider=self.provider, agent_id=self.agent_id)
        self._media_parts = ("", "")
        if not await self.authorized():
            await self.close()  # before accept: the upgrade is answered 403
            return
        if not self.agent_id:
            log.warning("%s media stream refused: no agent_id", self.provider)
            await self.close()
            return
        await self.accept()

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if text_data is None:
            log.warning("%s stream %s: binary frame ignored", self.provider, self.session.stream_sid or "?")
            return
        try:
            message = json.loads(text_data)
            event = field(message, "event")
            kind = self.events.get(event)
            if kind is None:
                log.info("%s stream %s: unknown event %r ignored", self.provider, self._sid, event)
                return
            await self._kinds[kind](self, message)
        except (ValueError, Malformed) as exc:  # json.JSONDecodeError is a ValueError
            log.warning("%s stream %s: malformed message ignored: %s", self.provider, self._sid, exc)

    async def disconnect(self, code: int) -> None:
        await self.session.finish(stopped=False)

    @property
    def _sid(self) -> str:
        return self.session.stream_sid or "?"

    # --- inbound events ---------------------------------------------------------------------------------

    async def _on_start(self, message: dict) -> None:
        if self.session.started or self.session.finished:
            raise Malformed("a second start on one stream")
        opening = self.read_start(message)
        if not opening.media_format_ok:
            log.error(
                "%s stream %s: unsupported media format %s; closing",
                self.provider,
                opening.stream_id,
                opening.media_format,
            )
            await self.close()
            return
        self._media_parts = self.media_text_parts(opening.stream_id)
        begun = await self.session.begin(
            stream_sid=opening.stream_id,
            call_id=opening.call_id,
            provider_call_id=opening.provider_call_id,
            stream_token=opening.stream_token,
        )
        if not begun:
            await self.close()

    async def _on_media(self, message: dict) -> None:
        if not self.session.started:
            raise Malformed("media before start")
        payload, at_sample = self.read_media(message)
        if payload:
            await self.session.caller_audio(payload, at_sample=at_sample)

    async def _on_mark(self, message: dict) -> None:
        if not self.session.started:
            raise Malformed("mark before start")
        await self.session.mark_played(self.read_mark(message))

    async def _on_dtmf(self, message: dict) -> None:
        if not self.session.started:
            raise Malformed("dtmf before start")
        await self.session.dtmf(self.read_dtmf(message))

    async def _on_stop(self, message: dict) -> None:
        await self.session.finish(stopped=True)
        await self.close()

    async def _on_ignore(self, message: dict) -> None:
        log.debug("%s stream %s: %s", self.provider, self._sid, message.get("event"))

    _kinds = {
        "start": _on_start,
        "media": _on_media,
        "mark": _on_mark,
        "dtmf": _on_dtmf,
        "stop": _on_stop,
        "ignore": _on_ignore,
    }

    # --- MediaTransport: the session's outgoing audio -----------------------------------------------------

    async def send_frames(self, ulaw: bytes) -> None:
        prefix, suffix = self._media_parts
        frames = (ulaw,) if len(ulaw) == FRAME_BYTES else ulaw_frames(ulaw)  # one frame: the echo's case
        for frame in frames:
            text = prefix + binascii.b2a_base64(frame, newline=False).decode("ascii") + suffix
            await self._data_send({"type": "websocket.send", "text": text})

    async def send_mark(self, name: str) -> None:
        await self.send(text_data=self.mark_text(self.session.stream_sid, name))

    async def send_clear(self) -> None:
        await self.send(text_data=self.clear_text(self.session.stream_sid))
