"""WS /v1/media/telnyx: Telnyx's bidirectional media stream end to end through the ASGI application, with
real μ-law frames: the single-use token, the consent opener and its mark proof, the recording, the stop."""

import asyncio
import base64
import io
import json
import logging
import wave
from urllib.parse import urlsplit

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator

from calls.models import Call, CallEvent, CallStatus
from compliance.openers import CONSENT_MARK, opener_create
from recordings.models import Recording, RecordingStatus
from recordings.services import recordings_storage
from telephony.telnyx.commands import call_client_state, stream_options
from tests.factories import AgentFactory, CallFactory
from wordcab_admin.asgi import application
from wordcab_admin.kernel.audio import FRAME_BYTES, tone_ulaw, ulaw_frames

pytestmark = pytest.mark.django_db(transaction=True)

try:
    import audioop
except ImportError:  # Python 3.13+
    import audioop_lts as audioop

CONTROL_ID = "v3:ctl-media"


def run(coroutine):
    return asyncio.run(coroutine)


@pytest.fixture
def streaming(settings, recording_store, uploads_in_place):
    """A private recording store, uploads run in place, and the public URL stream URLs are made of."""
    settings.PUBLIC_BASE_URL = "https://calls.example.com"


@pytest.fixture
def opener(db):
    return opener_create(
        actor=None, jurisdiction="US-CA", language="en-US", text="This call is recorded and uses an AI agent."
    )


def a_call(**fields) -> Call:
    agent = fields.pop("agent", None) or AgentFactory(public_id="agent_txm", name="Telnyx bot")
    fields.setdefault("status", CallStatus.INITIATING)
    return CallFactory(
        agent=agent, provider="telnyx", provider_call_id=CONTROL_ID, jurisdiction="US-CA", **fields
    )


def stream_path(call: Call) -> str:
    """The path and query of the stream URL the product hands Telnyx for `call` now (a fresh token)."""
    url = urlsplit(stream_options(call)["stream_url"])
    return f"{url.path}?{url.query}"


class FakeTelnyxStream:
    """Plays Telnyx's side of a bidirectional RTP stream: the caller's frames, our media/mark/clear
    collected, each mark echoed once the audio queued before it has "played" by the caller's clock."""

    def __init__(self, path: str):
        self.ws = WebsocketCommunicator(application, path)
        self.sequence = 0
        self.chunk = 0  # caller frames sent: the clock, in 20 ms frames
        self.agent_end = 0
        self.pending_marks: list[tuple[int, str]] = []
        self.echoed_marks: list[str] = []
        self.outbound: list[dict] = []
        self.stream_id = "32DE0DEA-53CB-4B21-89A4-9E1819C043BC"

    async def send(self, message: dict) -> None:
        self.sequence += 1
        message.setdefault("sequence_number", str(self.sequence))
        await self.ws.send_to(text_data=json.dumps(message))

    async def start(self, call: Call, *, client_state: str | None = None) -> None:
        state = client_state if client_state is not None else await sync_to_async(call_client_state)(call)
        await self.send({"event": "connected", "version": "1.0.0"})
        await self.send(
            {
                "event": "start",
                "stream_id": self.stream_id,
                "start": {
                    "user_id": "3E6F995F-85F7-4705-9741-53B116D28237",
                    "call_control_id": CONTROL_ID,
                    "call_session_id": "ff55a038-6f5d-11ef-9692-02420aeffb1f",
                    "from": "+14155550100",
                    "to": call.to_number,
                    "client_state": state,
                    "media_format": {"encoding": "PCMU", "sample_rate": 8000, "channels": 1},
                },
            }
        )

    def _take(self, message: dict) -> dict:
        self.outbound.append(message)
        if message["event"] == "media":
            self.agent_end = max(self.agent_end, self.chunk) + 1
        elif message["event"] == "mark":
            self.pending_marks.append((self.agent_end, message["mark"]["name"]))
        elif message["event"] == "clear":
            self.agent_end = self.chunk
        return message

    async def pump(self, wait: float = 0) -> None:
        await asyncio.sleep(0)
        while not await self.ws.receive_nothing(timeout=wait, interval=0.005):
            self._take(json.loads(await self.ws.receive_from(timeout=5)))
        due = [name for at, name in self.pending_marks if at <= self.chunk]
        self.pending_marks = [(at, name) for at, name in self.pending_marks if at > self.chunk]
        for name in due:
            self.echoed_marks.append(name)
            await self.send({"event": "mark", "stream_id": self.stream_id, "mark": {"name": name}})

    async def speak(self, ulaw: bytes, *, track: str = "inbound") -> None:
        for frame in ulaw_frames(ulaw):
            self.chunk += 1
            await self.send(
                {
                    "event": "media",
                    "stream_id": self.stream_id,
                    "media": {
                        "track": track,
                        "chunk": str(self.chunk),
                        "timestamp": str(self.chunk * 20),
                        "payload": base64.b64encode(frame).decode(),
                    },
                }
            )
            await self.pump()

    async def until_mark(self, name: str) -> None:
        while True:
            message = self._take(json.loads(await self.ws.receive_from(timeout=10)))
            if message["event"] == "mark" and message["mark"]["name"] == name:
                return

    async def talk_until_echoed(self, name: str, *, limit: int = 3000) -> None:
        while name not in self.echoed_marks:
            assert self.chunk < limit, f"{name} never played"
            await self.speak(b"\xff" * FRAME_BYTES)

    async def stop(self) -> None:
        await self.send(
            {
                "event": "stop",
                "stream_id": self.stream_id,
                "stop": {"user_id": "u", "call_control_id": CONTROL_ID},
            }
        )
        output = await self.ws.receive_output(timeout=10)
        while output["type"] != "websocket.close":
            if output.get("text"):
                self._take(json.loads(output["text"]))
            output = await self.ws.receive_output(timeout=10)

    def media_audio(self) -> bytes:
        return b"".join(
            base64.b64decode(m["media"]["payload"]) for m in self.outbound if m["event"] == "media"
        )


def test_a_stream_with_its_token_starts_the_call_plays_the_opener_and_its_mark_proves_delivery(
    streaming, opener
):
    call = a_call()

    async def scenario():
        telnyx = FakeTelnyxStream(await sync_to_async(stream_path)(call))
        assert (await telnyx.ws.connect(timeout=5))[0]
        await telnyx.start(call)
        await telnyx.until_mark(CONSENT_MARK)
        status_while_streaming = (await Call.objects.aget(pk=call.pk)).status
        delivered_before_echo = (await Call.objects.aget(pk=call.pk)).consent_delivered_at
        opener_played = telnyx.media_audio()
        await telnyx.talk_until_echoed(CONSENT_MARK)
        await telnyx.stop()
        return telnyx, status_while_streaming, delivered_before_echo, opener_played

    telnyx, status_while_streaming, delivered_before_echo, opener_played = run(scenario())
    assert status_while_streaming == CallStatus.IN_PROGRESS
    assert delivered_before_echo is None
    # The opener in Telnyx's format: 20 ms frames as {"event": "media", "media": {"payload"}}, then the mark.
    assert opener_played == b"".join(ulaw_frames(bytes(opener.audio)))
    first_mark = next(i for i, m in enumerate(telnyx.outbound) if m["event"] == "mark")
    assert telnyx.outbound[first_mark] == {"event": "mark", "mark": {"name": CONSENT_MARK}}
    assert all(set(m) == {"event", "media"} for m in telnyx.outbound[:first_mark])
    assert all(
        len(base64.b64decode(m["media"]["payload"])) == FRAME_BYTES for m in telnyx.outbound[:first_mark]
    )
    call.refresh_from_db()
    assert call.consent_delivered_at is not None
    assert call.stream_started_at is not None
    assert call.stream_token_hash == ""  # the token was consumed
    assert call.status == CallStatus.COMPLETED  # the stop ended the call's media
    assert list(CallEvent.objects.filter(call=call).values_list("provider_status", flat=True)) == [
        "stream-start",
        "stream-stop",
    ]


def test_a_recorded_stream_keeps_the_callers_media(streaming, opener):
    call = a_call(record=True)
    seconds = 3
    caller = tone_ulaw(frequency=440, seconds=seconds)

    async def scenario():
        telnyx = FakeTelnyxStream(await sync_to_async(stream_path)(call))
        await telnyx.ws.connect(timeout=5)
        await telnyx.start(call)
        await telnyx.speak(caller)
        await telnyx.speak(b"\x00" * FRAME_BYTES * 10, track="outbound")  # our own audio: not recorded
        await telnyx.pump(wait=0.2)
        await telnyx.stop()

    run(scenario())
    recording = Recording.objects.get(call=call)
    assert recording.status == RecordingStatus.STORED
    with recordings_storage().open(recording.storage_key, "rb") as stored:
        data = stored.read()
    with wave.open(io.BytesIO(data), "rb") as wav:
        assert (wav.getframerate(), wav.getnchannels(), wav.getsampwidth()) == (8000, 2, 2)
        pcm = wav.readframes(wav.getnframes())
    caller_channel = audioop.tomono(pcm, 2, 1, 0)
    talk = 2 * seconds * 8000  # bytes of 16-bit samples
    # The caller's tone fills the first seconds; after it, the outbound track (loud) was left out: silence
    # while the agent's queued audio plays on in the other channel.
    assert audioop.rms(caller_channel[:talk], 2) > 5000
    assert audioop.rms(caller_channel[talk:], 2) == 0


def test_a_stream_with_a_wrong_token_is_closed_and_writes_nothing(streaming, opener):
    call = a_call()

    async def scenario():
        path = await sync_to_async(stream_path)(call)
        telnyx = FakeTelnyxStream(path.replace("stream_token=", "stream_token=forged"))
        assert (await telnyx.ws.connect(timeout=5))[0]
        await telnyx.start(call)
        return await telnyx.ws.receive_output(timeout=5)

    assert run(scenario())["type"] == "websocket.close"
    call.refresh_from_db()
    assert (call.status, call.stream_started_at, call.consent_opener) == (CallStatus.INITIATING, None, None)
    assert call.stream_token_hash != ""  # still waiting for the real stream
    assert not CallEvent.objects.filter(call=call).exists()
    assert not Recording.objects.filter(call=call).exists()


def test_a_token_opens_one_stream_only(streaming, opener):
    call = a_call()

    async def scenario():
        path = await sync_to_async(stream_path)(call)
        first = FakeTelnyxStream(path)
        await first.ws.connect(timeout=5)
        await first.start(call)
        await first.until_mark(CONSENT_MARK)
        replay = FakeTelnyxStream(path)
        await replay.ws.connect(timeout=5)
        await replay.start(call)
        closed = await replay.ws.receive_output(timeout=5)
        await first.stop()
        return closed

    assert run(scenario())["type"] == "websocket.close"
    assert CallEvent.objects.filter(call=call, provider_status="stream-start").count() == 1


def test_an_upgrade_without_a_stream_token_is_refused(streaming):
    call = a_call()

    async def scenario():
        ws = WebsocketCommunicator(application, f"/v1/media/telnyx?agent_id={call.agent.public_id}")
        return (await ws.connect(timeout=5))[0]

    assert run(scenario()) is False


def test_a_telnyx_error_frame_is_logged_and_the_stream_goes_on(streaming, opener, caplog):
    call = a_call()

    async def scenario():
        telnyx = FakeTelnyxStream(await sync_to_async(stream_path)(call))
        await telnyx.ws.connect(timeout=5)
        await telnyx.start(call)
        await telnyx.until_mark(CONSENT_MARK)
        with caplog.at_level(logging.WARNING, logger="telephony.telnyx.media"):
            await telnyx.send(
                {
                    "event": "error",
                    "stream_id": telnyx.stream_id,
                    "payload": {"code": 100002, "title": "unknown_error"},
                }
            )
            await telnyx.talk_until_echoed(CONSENT_MARK)
        await telnyx.stop()

    run(scenario())
    assert "unknown_error" in caplog.text
    assert Call.objects.get(pk=call.pk).consent_delivered_at is not None
