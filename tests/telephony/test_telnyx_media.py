"""WS /v1/media/telnyx: Telnyx's bidirectional media stream end to end through the ASGI application, with
real μ-law frames: the single-use token, the consent opener and its mark proof, the recording, the stop."""

import base64
import logging
from urllib.parse import urlsplit

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator

from calls.models import Call, CallEvent, CallStatus
from compliance.openers import CONSENT_MARK
from recordings.models import Recording
from telephony.telnyx.commands import call_client_state, stream_options
from tests.telephony.fake_media_stream import SILENCE, FakeMediaStream, media_call, run, stored_recording
from wordcab_admin.asgi import application
from wordcab_admin.kernel.audio import FRAME_BYTES, tone_ulaw, ulaw_frames

pytestmark = pytest.mark.django_db(transaction=True)

try:
    import audioop
except ImportError:  # Python 3.13+
    import audioop_lts as audioop

CONTROL_ID = "v3:ctl-media"


@pytest.fixture
def streaming(settings, recording_store, uploads_in_place):
    """A private recording store, uploads run in place, and the public URL stream URLs are made of."""
    settings.PUBLIC_BASE_URL = "https://calls.example.com"


def a_call(**fields) -> Call:
    return media_call(
        provider="telnyx",
        agent_id="agent_txm",
        agent_name="Telnyx bot",
        default_status=CallStatus.INITIATING,
        provider_call_id=CONTROL_ID,
        **fields,
    )


def stream_path(call: Call) -> str:
    """The path and query of the stream URL the product hands Telnyx for `call` now (a fresh token)."""
    url = urlsplit(stream_options(call)["stream_url"])
    return f"{url.path}?{url.query}"


class FakeTelnyxStream(FakeMediaStream):
    """Telnyx's side of a bidirectional RTP stream (fake_media_stream.py): the stream URL carries the token,
    its `start` our client_state."""

    sequence_key = "sequence_number"

    def __init__(self, path: str):
        super().__init__(path)
        self.stream_id = "32DE0DEA-53CB-4B21-89A4-9E1819C043BC"

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

    def media_message(self, frame: bytes, track: str) -> dict:
        return {
            "event": "media",
            "stream_id": self.stream_id,
            "media": {
                "track": track,
                "chunk": str(self.chunk),
                "timestamp": str(self.chunk * 20),
                "payload": base64.b64encode(frame).decode(),
            },
        }

    def mark_echo_message(self, name: str) -> dict:
        return {"event": "mark", "stream_id": self.stream_id, "mark": {"name": name}}

    def stop_message(self) -> dict:
        return {
            "event": "stop",
            "stream_id": self.stream_id,
            "stop": {"user_id": "u", "call_control_id": CONTROL_ID},
        }

    async def talk_until_echoed(self, name: str, *, limit: int = 3000) -> int:
        """As FakeMediaStream's, but bounded by the caller's frames (a minute of them) rather than by the
        wall clock, as these tests always were."""
        while name not in self.echoed_marks:
            assert self.chunk < limit, f"{name} never played"
            await self.speak(SILENCE)
        return self.chunk


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
    pcm = stored_recording(call).pcm
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
