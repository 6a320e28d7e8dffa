"""`WS /v1/media/twilio?agent_id=…`: Twilio Media Streams (bidirectional, `<Connect><Stream>`).

Twilio sends `connected`, `start` (streamSid, callSid, customParameters with our call_id, mediaFormat
audio/x-mulaw 8000 Hz mono), `media` (base64 μ-law, 20 ms, track/chunk/timestamp), `dtmf`, `mark` (echo of
ours once the audio before it has played) and `stop`; we send `media`, `mark` and `clear`.

The upgrade must carry a valid X-Twilio-Signature (Twilio signs the wss URL as a GET). A stream starts only
for a call of the URL's agent that is active, has no stream yet, and whose single-use token
(`customParameters.stream_token`, from the TwiML we handed Twilio) matches: the URL's signature never
changes, so a captured one must not let anybody attach a stream, and consent evidence, to a call. The rest
(opener, recording, runtime) is the same for every carrier: telephony/media/session.py."""

import json
import logging

from telephony.media.websocket import CarrierMediaConsumer, StreamOpening, b64_payload, field, text_or_empty
from telephony.twilio.signature import twilio_signature_valid
from wordcab_admin.kernel.audio import SAMPLE_RATE
from wordcab_admin.kernel.public_url import public_url

log = logging.getLogger(__name__)

EXPECTED_FORMAT = {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1}


class TwilioMediaConsumer(CarrierMediaConsumer):
    provider = "twilio"
    events = {
        "connected": "ignore",
        "start": "start",
        "media": "media",
        "mark": "mark",
        "dtmf": "dtmf",
        "stop": "stop",
    }

    async def authorized(self) -> bool:
        query = self.scope.get("query_string", b"").decode("latin-1")
        path = self.scope["path"] + (f"?{query}" if query else "")
        headers = dict(self.scope.get("headers", []))
        signature = headers.get(b"x-twilio-signature", b"").decode("latin-1")
        if not twilio_signature_valid(public_url(path, scheme="ws"), {}, signature):
            log.warning("media stream refused: bad or missing X-Twilio-Signature for %s", path)
            return False
        return True

    def read_start(self, message: dict) -> StreamOpening:
        start = field(message, "start", dict)
        stream_sid = message.get("streamSid") or field(start, "streamSid")
        media_format = field(start, "mediaFormat", dict)
        params = start.get("customParameters")
        params = params if isinstance(params, dict) else {}
        return StreamOpening(
            stream_id=str(stream_sid),
            provider_call_id=text_or_empty(start.get("callSid")),
            call_id=text_or_empty(params.get("call_id")),
            stream_token=text_or_empty(params.get("stream_token")),
            media_format_ok=all(media_format.get(k) == v for k, v in EXPECTED_FORMAT.items()),
            media_format=media_format,
        )

    def read_media(self, message: dict) -> tuple[bytes, int | None]:
        media = field(message, "media", dict)
        if media.get("track", "inbound") != "inbound":
            return b"", None  # a unidirectional stream's outbound track: the agent audio we sent ourselves
        payload = b64_payload(media.get("payload"))
        timestamp = media.get("timestamp")
        at_sample = None
        if isinstance(timestamp, str | int) and str(timestamp).isdigit():
            at_sample = int(timestamp) * SAMPLE_RATE // 1000
        return payload, at_sample

    def read_mark(self, message: dict) -> str:
        return field(field(message, "mark", dict), "name")

    def read_dtmf(self, message: dict) -> str:
        return field(field(message, "dtmf", dict), "digit")

    def media_text_parts(self, stream_id: str) -> tuple[str, str]:
        # {"event": "media", "streamSid": …, "media": {"payload": …}}, framed by hand: 50 times a second
        return f'{{"event": "media", "streamSid": {json.dumps(stream_id)}, "media": {{"payload": "', '"}}'

    def mark_text(self, stream_id: str, name: str) -> str:
        return json.dumps({"event": "mark", "streamSid": stream_id, "mark": {"name": name}})

    def clear_text(self, stream_id: str) -> str:
        return json.dumps({"event": "clear", "streamSid": stream_id})
