"""`WS /v1/media/plivo?agent_id=…`: Plivo's bidirectional audio stream (`<Stream bidirectional="true">`).

Plivo sends `start` (start.streamId, start.callId, start.mediaFormat {encoding audio/x-mulaw, sampleRate
8000}, and `extra_headers`, the `callId=…,streamToken=…` of our `<Stream>` XML), `media` (base64 μ-law,
media.track/timestamp/chunk), `dtmf` (dtmf.digit), `playedStream` (a checkpoint of ours was played out: our
mark echo), `clearedAudio` and, from some of its stacks, `stop` (otherwise the socket just closes). We send
`playAudio` (contentType audio/x-mulaw, sampleRate 8000), `checkpoint` (our mark) and `clearAudio`.

Plivo does not sign the websocket upgrade: a stream starts only for an active call of the URL's agent,
without a stream yet, whose single-use token (from the XML we answered with) matches. The rest (opener,
recording, runtime) is the same for every carrier: telephony/media/session.py."""

import json
import logging
import re

from telephony.media.websocket import (
    CarrierMediaConsumer,
    Malformed,
    StreamOpening,
    b64_payload,
    field,
    text_or_empty,
)
from telephony.plivo.xml import CALL_ID_HEADER, STREAM_TOKEN_HEADER, header_value_decode
from wordcab_admin.kernel.audio import SAMPLE_RATE

log = logging.getLogger(__name__)

EXPECTED_FORMAT = {"encoding": "audio/x-mulaw", "sampleRate": 8000}
CONTENT_TYPE = "audio/x-mulaw"


def extra_headers_read(value: object) -> dict[str, str]:
    """Plivo's `extra_headers`: "k=v,k=v" as our XML wrote it (Plivo's own examples also show `;` between
    pairs, and an object): the pairs as a dict, values as they came."""
    if isinstance(value, dict):
        return {str(k): text_or_empty(v) for k, v in value.items()}
    pairs = (pair.partition("=") for pair in re.split(r"[,;]", text_or_empty(value)))
    return {name.strip(): raw.strip() for name, sep, raw in pairs if sep}


class PlivoMediaConsumer(CarrierMediaConsumer):
    provider = "plivo"
    events = {
        "start": "start",
        "media": "media",
        "playedStream": "mark",
        "dtmf": "dtmf",
        "stop": "stop",
        "clearedAudio": "ignore",
    }

    def read_start(self, message: dict) -> StreamOpening:
        start = field(message, "start", dict)
        media_format = field(start, "mediaFormat", dict)
        headers = extra_headers_read(message.get("extra_headers", start.get("extra_headers")))
        return StreamOpening(
            stream_id=field(start, "streamId"),
            provider_call_id=text_or_empty(start.get("callId")),
            call_id=header_value_decode(headers.get(CALL_ID_HEADER, "")),
            stream_token=header_value_decode(headers.get(STREAM_TOKEN_HEADER, "")),
            media_format_ok=all(media_format.get(k) == v for k, v in EXPECTED_FORMAT.items()),
            media_format=media_format,
        )

    def read_media(self, message: dict) -> tuple[bytes, int | None]:
        media = field(message, "media", dict)
        if media.get("track", "inbound") != "inbound":
            return b"", None
        payload = b64_payload(media.get("payload"))
        timestamp = media.get("timestamp")
        at_sample = None
        if isinstance(timestamp, str | int) and str(timestamp).isdigit():
            at_sample = int(timestamp) * SAMPLE_RATE // 1000  # milliseconds since the stream started
        return payload, at_sample

    def read_mark(self, message: dict) -> str:
        return field(message, "name")

    def read_dtmf(self, message: dict) -> str:
        dtmf = message.get("dtmf")
        if isinstance(dtmf, dict):
            return field(dtmf, "digit")
        if isinstance(dtmf, str) and dtmf:
            return dtmf
        raise Malformed("missing or invalid 'dtmf'")

    def media_text_parts(self, stream_id: str) -> tuple[str, str]:
        # {"event": "playAudio", "media": {"contentType": …, "sampleRate": 8000, "payload": …}}, framed by
        # hand: 50 times a second
        prefix = (
            f'{{"event": "playAudio", "streamId": {json.dumps(stream_id)}, "media": '
            f'{{"contentType": "{CONTENT_TYPE}", "sampleRate": {SAMPLE_RATE}, "payload": "'
        )
        return prefix, '"}}'

    def mark_text(self, stream_id: str, name: str) -> str:
        return json.dumps({"event": "checkpoint", "streamId": stream_id, "name": name})

    def clear_text(self, stream_id: str) -> str:
        return json.dumps({"event": "clearAudio", "streamId": stream_id})
