"""`WS /v1/media/twilio?agent_id=…`: Twilio Media Streams (bidirectional, `<Connect><Stream>`).

Twilio sends `connected`, `start` (streamSid, callSid, customParameters with our call_id, mediaFormat
audio/x-mulaw 8000 Hz mono), `media` (base64 μ-law, 20 ms, track/chunk/timestamp), `dtmf`, `mark` (echo of
ours once the audio before it has played) and `stop`; we send `media`, `mark` and `clear`.

A stream starts only for a call of the URL's agent that is active (initiating, ringing or in progress),
has no stream yet, and whose single-use token (`customParameters.stream_token`, from the TwiML we handed
Twilio) matches: the URL's signature never changes, so a captured one must not let anybody attach a
stream, and consent evidence, to a call. A refused stream is closed and writes nothing.

On `start` the call goes in_progress, its consent opener is snapshotted and played, followed by a mark
named `consent_opener`; Twilio's echo of that mark is the proof the opener played in full and sets
`consent_delivered_at`. Then the agent runtime (telephony/runtime) talks. With `record` on, both directions
are written to a spool WAV as frames arrive and uploaded when the stream stops; a spool that cannot be
written fails the recording (recordings.services.RecordingSpool), never the call.

A malformed or unknown message is logged and ignored; a failure in one stream (even in the runtime)
stays in that stream."""

import base64
import binascii
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs

from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.db import transaction

from calls import lifecycle
from calls.consent import call_consent_delivered, call_opener_snapshot
from calls.models import Call
from calls.services import StreamRefused, call_stream_claim
from compliance.openers import CONSENT_MARK, opener_audio
from compliance.tts import SpeechUnavailable
from recordings import services as recordings
from telephony.runtime import AgentRuntime, CallInfo, runtime_for
from telephony.twilio.signature import twilio_signature_valid
from wordcab_admin.kernel.audio import SAMPLE_RATE, ulaw_frames
from wordcab_admin.kernel.public_url import public_url

log = logging.getLogger(__name__)

EXPECTED_FORMAT = {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1}


class Malformed(ValueError):
    """A message we cannot use; logged and ignored."""


def _field(container: object, name: str, kind: type = str):
    if not isinstance(container, dict) or not isinstance(container.get(name), kind):
        raise Malformed(f"missing or invalid {name!r}")
    return container[name]


@dataclass
class StreamStart:
    call_pk: int
    call_public_id: str
    info: CallInfo
    opener: bytes | None
    recording_id: int | None
    spool_path: str


def stream_begin(
    *, call_id: str, call_sid: str, stream_sid: str, agent_id: str, stream_token: str
) -> StreamStart:
    """The call behind a stream: found by our id (or Twilio's CallSid), owned by the URL's agent, and
    claimed with its single-use stream token (calls.services.call_stream_claim). Raises StreamRefused,
    having written nothing, when the stream may not start."""
    call = Call.objects.select_related("agent").filter(public_id=call_id).first() if call_id else None
    if call is None and call_sid:
        call = Call.objects.select_related("agent").filter(provider_call_id=call_sid).first()
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
    )
    return StreamStart(
        call_pk=call.pk,
        call_public_id=call.public_id,
        info=info,
        opener=opener,
        recording_id=recording.pk if recording else None,
        spool_path=recording.local_path if recording else "",
    )


def stream_end(
    *, call_public_id: str, stream_sid: str, stopped: bool, spool: recordings.RecordingSpool | None
) -> None:
    if stopped:
        lifecycle.call_stream_stopped(public_id=call_public_id, stream_sid=stream_sid)
    if spool is not None:
        recordings.recording_spool_close(spool=spool)


class TwilioMediaConsumer(AsyncWebsocketConsumer):
    # No channel layer: nothing is sent to a stream from outside, and a Redis hiccup must not end a call.
    channel_layer_alias = "media-streams-use-no-channel-layer"

    async def dispatch(self, message: dict) -> None:
        """Channels' dispatch hops to the database thread before every message (to close stale
        connections); at 50 messages/s per stream that is the bottleneck. Our database work goes through
        database_sync_to_async, which does that itself, so frames are handled right here."""
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    async def connect(self) -> None:
        self.stream_sid = ""
        self.begun: StreamStart | None = None
        self.spool: recordings.RecordingSpool | None = None
        self.runtime: AgentRuntime | None = None
        self.finished = False
        self.opener_sent = False
        query = self.scope.get("query_string", b"").decode("latin-1")
        self.agent_id = (parse_qs(query).get("agent_id") or [""])[0]
        path = self.scope["path"] + (f"?{query}" if query else "")
        headers = dict(self.scope.get("headers", []))
        signature = headers.get(b"x-twilio-signature", b"").decode("latin-1")
        if not twilio_signature_valid(public_url(path, scheme="ws"), {}, signature):
            log.warning("media stream refused: bad or missing X-Twilio-Signature for %s", path)
            await self.close()  # before accept: the upgrade is answered 403
            return
        if not self.agent_id:
            log.warning("media stream refused: no agent_id")
            await self.close()
            return
        await self.accept()

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if text_data is None:
            log.warning("stream %s: binary frame ignored", self.stream_sid or "?")
            return
        try:
            message = json.loads(text_data)
            event = _field(message, "event")
            handler = self.handlers.get(event)
            if handler is None:
                log.info("stream %s: unknown event %r ignored", self.stream_sid or "?", event)
                return
            await handler(self, message)
        except (ValueError, Malformed) as exc:  # json.JSONDecodeError is a ValueError
            log.warning("stream %s: malformed message ignored: %s", self.stream_sid or "?", exc)

    async def disconnect(self, code: int) -> None:
        await self._finish(stopped=False)

    # --- inbound events -------------------------------------------------------------------------------

    async def on_connected(self, message: dict) -> None:
        log.debug("media stream connected: %s %s", message.get("protocol"), message.get("version"))

    async def on_start(self, message: dict) -> None:
        if self.begun is not None or self.finished:
            raise Malformed("a second start on one stream")
        start = _field(message, "start", dict)
        stream_sid = message.get("streamSid") or _field(start, "streamSid")
        call_sid = start.get("callSid") or ""
        media_format = _field(start, "mediaFormat", dict)
        if any(media_format.get(k) != v for k, v in EXPECTED_FORMAT.items()):
            log.error("stream %s: unsupported media format %s; closing", stream_sid, media_format)
            await self.close()
            return
        params = start.get("customParameters")
        params = params if isinstance(params, dict) else {}
        call_id, token = params.get("call_id", ""), params.get("stream_token", "")
        try:
            begun = await database_sync_to_async(stream_begin)(
                call_id=call_id if isinstance(call_id, str) else "",
                call_sid=call_sid if isinstance(call_sid, str) else "",
                stream_sid=stream_sid,
                agent_id=self.agent_id,
                stream_token=token if isinstance(token, str) else "",
            )
        except StreamRefused as refused:
            log.warning(
                "stream %s refused for call %r (CallSid %r) of agent %s: %s; closing",
                stream_sid,
                call_id,
                call_sid,
                self.agent_id,
                refused,
            )
            self.finished = True  # nothing more is taken from this socket, not even another start
            await self.close()
            return
        self.stream_sid, self.begun = str(stream_sid), begun
        if begun.recording_id is not None:  # a spool that cannot be written fails the recording, not the call
            self.spool = await database_sync_to_async(recordings.recording_spool_open)(
                recording_id=begun.recording_id, path=Path(begun.spool_path)
            )
        if begun.opener:
            await self.send_audio(begun.opener)
            await self.send_mark(CONSENT_MARK)
            self.opener_sent = True
        self.runtime = runtime_for(call=begun.info, outlet=self)
        await self._runtime("start")

    async def on_media(self, message: dict) -> None:
        if self.begun is None:
            raise Malformed("media before start")
        media = _field(message, "media", dict)
        if media.get("track", "inbound") != "inbound":
            return  # a unidirectional stream's outbound track: the agent audio we sent ourselves
        try:
            payload = base64.b64decode(_field(media, "payload"), validate=True)
        except binascii.Error as exc:
            raise Malformed(f"payload is not base64: {exc}") from exc
        if not payload:
            return
        if self.spool is not None:
            at_sample = None
            timestamp = media.get("timestamp")
            if isinstance(timestamp, str | int) and str(timestamp).isdigit():
                at_sample = int(timestamp) * SAMPLE_RATE // 1000
            self.spool.add_caller(payload, at_sample=at_sample)
        await self._runtime("audio", payload)

    async def on_mark(self, message: dict) -> None:
        if self.begun is None:
            raise Malformed("mark before start")
        name = _field(_field(message, "mark", dict), "name")
        if name == CONSENT_MARK and self.opener_sent:
            await database_sync_to_async(call_consent_delivered)(call_id=self.begun.call_pk)
        await self._runtime("mark", name)

    async def on_dtmf(self, message: dict) -> None:
        if self.begun is None:
            raise Malformed("dtmf before start")
        digit = _field(_field(message, "dtmf", dict), "digit")
        await self._runtime("dtmf", digit)

    async def on_stop(self, message: dict) -> None:
        await self._finish(stopped=True)
        await self.close()

    handlers = {
        "connected": on_connected,
        "start": on_start,
        "media": on_media,
        "mark": on_mark,
        "dtmf": on_dtmf,
        "stop": on_stop,
    }

    # --- the outlet a runtime talks through -----------------------------------------------------------

    async def send_audio(self, ulaw: bytes) -> None:
        if self.finished:
            return
        # {"event": "media", "streamSid": …, "media": {"payload": …}}, framed by hand: 50 times a second
        prefix = f'{{"event": "media", "streamSid": {json.dumps(self.stream_sid)}, "media": {{"payload": "'
        for frame in ulaw_frames(ulaw):
            await self.send(text_data=prefix + base64.b64encode(frame).decode("ascii") + '"}}')
        if self.spool is not None:
            self.spool.add_agent(ulaw)

    async def send_mark(self, name: str) -> None:
        if not self.finished:
            await self.send(
                text_data=json.dumps({"event": "mark", "streamSid": self.stream_sid, "mark": {"name": name}})
            )

    async def clear(self) -> None:
        if not self.finished:
            await self.send(text_data=json.dumps({"event": "clear", "streamSid": self.stream_sid}))
            if self.spool is not None:
                self.spool.clear_agent()

    # --- helpers --------------------------------------------------------------------------------------

    async def _runtime(self, method: str, *args) -> None:
        if self.runtime is None:
            return
        try:
            await getattr(self.runtime, method)(*args)
        except Exception:  # noqa: BLE001 -- plug-in code: a broken runtime goes quiet, the stream and recording go on
            log.exception("stream %s: agent runtime failed in %s; runtime detached", self.stream_sid, method)
            self.runtime = None

    async def _finish(self, *, stopped: bool) -> None:
        if self.finished:
            return
        self.finished = True
        await self._runtime("stop")
        self.runtime = None
        if self.begun is None:
            return
        await database_sync_to_async(stream_end)(
            call_public_id=self.begun.call_public_id,
            stream_sid=self.stream_sid,
            stopped=stopped,
            spool=self.spool,
        )
