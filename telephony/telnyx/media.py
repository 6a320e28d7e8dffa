"""`WS /v1/media/telnyx?agent_id=…&call_id=…&stream_token=…`: Telnyx's bidirectional media stream (RTP
mode, PCMU 8 kHz), opened by the `dial` or `answer` command that named this URL (commands.py).

Telnyx sends `connected`, `start` (top-level `stream_id`; `start.call_control_id`, our `client_state`,
`media_format` {PCMU, 8000, 1}), `media` (`media.track`/`chunk`/`timestamp`/`payload`: base64 μ-law),
`dtmf`, `mark` (the echo of ours once the audio before it has played), `error` and `stop`; we send
`{"event": "media", "media": {"payload": …}}`, `mark` and `clear`.

Telnyx signs no websocket upgrade; what lets a stream attach to a call is the single-use stream token of the
URL Telnyx was handed (its sha256 is on the call, consumed by the first stream that shows it), for a call of
the URL's agent. The rest (opener, recording, runtime) is the same for every carrier:
telephony/media/session.py."""

from __future__ import annotations

import json
import logging

from telephony.media.websocket import CarrierMediaConsumer, StreamOpening, b64_payload, field, text_or_empty
from telephony.telnyx.commands import client_state_decode

log = logging.getLogger(__name__)

EXPECTED_FORMAT = {"encoding": "PCMU", "sample_rate": 8000, "channels": 1}


class TelnyxMediaConsumer(CarrierMediaConsumer):
    provider = "telnyx"
    events = {
        "connected": "ignore",
        "start": "start",
        "media": "media",
        "mark": "mark",
        "dtmf": "dtmf",
        "stop": "stop",
        "error": "ignore",  # logged by `receive`
    }

    async def authorized(self) -> bool:
        """A URL without a stream token was never handed to Telnyx by us: refused at the upgrade (403)."""
        if not self.query.get("stream_token"):
            log.warning("telnyx media stream refused: no stream_token in %s", self.scope["path"])
            return False
        return True

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        # Only an error frame holds the quoted word: media payloads are base64, and no other key is "error".
        if text_data is not None and '"error"' in text_data:
            self._log_error(text_data)
        await super().receive(text_data=text_data, bytes_data=bytes_data)

    def _log_error(self, text: str) -> None:
        try:
            message = json.loads(text)
        except ValueError:
            return
        if isinstance(message, dict) and message.get("event") == "error":
            log.warning("telnyx stream %s: Telnyx reports %s", self._sid, message.get("payload"))

    def read_start(self, message: dict) -> StreamOpening:
        start = field(message, "start", dict)
        stream_id = message.get("stream_id") or field(start, "stream_id")
        media_format = field(start, "media_format", dict)
        state = client_state_decode(start.get("client_state"))
        return StreamOpening(
            stream_id=str(stream_id),
            provider_call_id=text_or_empty(start.get("call_control_id")),
            call_id=state.get("call_id") or self.query.get("call_id", ""),
            stream_token=self.query.get("stream_token", ""),
            media_format_ok=all(media_format.get(k) == v for k, v in EXPECTED_FORMAT.items()),
            media_format=media_format,
        )

    def read_media(self, message: dict) -> tuple[bytes, int | None]:
        media = field(message, "media", dict)
        if media.get("track", "inbound") != "inbound":
            return b"", None  # the outbound track (`both_tracks`): the agent audio we sent ourselves
        # Telnyx does not document the unit of `media.timestamp`, so frames are recorded in arrival order.
        return b64_payload(media.get("payload")), None

    def read_mark(self, message: dict) -> str:
        return field(field(message, "mark", dict), "name")

    def read_dtmf(self, message: dict) -> str:
        return field(field(message, "dtmf", dict), "digit")

    def media_text_parts(self, stream_id: str) -> tuple[str, str]:
        # {"event": "media", "media": {"payload": …}}, framed by hand: 50 times a second
        return '{"event": "media", "media": {"payload": "', '"}}'

    def mark_text(self, stream_id: str, name: str) -> str:
        return json.dumps({"event": "mark", "mark": {"name": name}})

    def clear_text(self, stream_id: str) -> str:
        return json.dumps({"event": "clear"})
