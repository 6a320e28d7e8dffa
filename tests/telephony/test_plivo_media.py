"""WS /v1/media/plivo: Plivo's bidirectional audio stream with real μ-law frames: the start with our
extraHeaders, the consent opener as playAudio then a checkpoint whose playedStream proves delivery, the
recording, DTMF, the stop, and a wrong token that writes nothing."""

import base64

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator

from calls.models import Call, CallStatus
from compliance.openers import CONSENT_MARK
from recordings.models import Recording, RecordingStatus
from telephony.plivo.xml import call_stream_xml
from tests.telephony.fake_media_stream import FakeMediaStream, media_call, run
from tests.telephony.fake_plivo import parse_xml
from wordcab_admin.asgi import application
from wordcab_admin.kernel.audio import FRAME_BYTES, tone_ulaw, ulaw_frames

pytestmark = pytest.mark.django_db(transaction=True)

STREAM_ID = "20170ada-f610-433b-8758-c02a2aab3662"
PLIVO_CALL_ID = "7a3e1f00-1b2c-4d5e-8f90-0123456789ab"


def extra_headers_of(call: Call) -> str:
    """The `extraHeaders` of the `<Stream>` XML the product answers Plivo with for `call` now."""
    stream = parse_xml(call_stream_xml(call)).find("./Stream")
    return stream.get("extraHeaders")


class FakePlivo(FakeMediaStream):
    """Plivo's side of a bidirectional audio stream (fake_media_stream.py): our audio comes as playAudio, our
    marks as checkpoints, answered with playedStream once played, our clears as clearAudio; its `start`
    carries our extraHeaders."""

    media_event, mark_event, clear_event = "playAudio", "checkpoint", "clearAudio"

    def __init__(self, agent_id: str):
        super().__init__(f"/v1/media/plivo?agent_id={agent_id}")

    def sequence_number(self) -> object:
        return self.sequence  # a number, not a string as Twilio's and Telnyx's

    def mark_name(self, message: dict) -> str:
        return message["name"]

    async def start(self, call: Call, *, extra_headers: str | None = None) -> None:
        if extra_headers is None:
            extra_headers = await sync_to_async(extra_headers_of)(call)
        await self.send(
            {
                "event": "start",
                "start": {
                    "callId": PLIVO_CALL_ID,
                    "streamId": STREAM_ID,
                    "accountId": "MAZZZZZZZZZZZZZZZZZZ",
                    "tracks": ["inbound"],
                    "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000},
                },
                "extra_headers": extra_headers,
            }
        )

    def media_message(self, frame: bytes, track: str) -> dict:
        media = {
            "track": track,
            "timestamp": str((self.chunk - 1) * 20),
            "chunk": self.chunk,
            "payload": base64.b64encode(frame).decode(),
        }
        return {"event": "media", "streamId": STREAM_ID, "media": media}

    def mark_echo_message(self, name: str) -> dict:
        return {"event": "playedStream", "streamId": STREAM_ID, "name": name}

    def stop_message(self) -> dict:
        return {"event": "stop", "streamId": STREAM_ID}


@pytest.fixture
def streaming(recording_store, uploads_in_place):
    """A private recording store, uploads run in place."""


def a_call(**fields) -> Call:
    return media_call(
        provider="plivo",
        agent_id="agent_plivo_media",
        agent_name="Plivo bot",
        default_status=CallStatus.RINGING,
        **fields,
    )


def test_a_stream_with_the_good_token_plays_the_opener_then_a_checkpoint_whose_ack_proves_consent(
    streaming, opener
):
    call = a_call()

    async def scenario():
        plivo = FakePlivo(call.agent.public_id)
        assert (await plivo.connect())[0]
        await plivo.start(call)
        await plivo.pump(wait=0.5)
        while not plivo.sent("checkpoint"):
            await plivo.pump(wait=0.2)
        status_while_streaming = (await Call.objects.aget(pk=call.pk)).status
        delivered_before_ack = (await Call.objects.aget(pk=call.pk)).consent_delivered_at
        before_mark = plivo.outbound[: plivo.outbound.index(plivo.sent("checkpoint")[0])]
        opener_audio = b"".join(base64.b64decode(m["media"]["payload"]) for m in before_mark)
        await plivo.talk_until_echoed(CONSENT_MARK)
        await plivo.stop()
        return plivo, status_while_streaming, delivered_before_ack, opener_audio

    plivo, status_while_streaming, delivered_before_ack, opener_audio = run(scenario())
    assert status_while_streaming == CallStatus.IN_PROGRESS
    assert delivered_before_ack is None
    assert opener_audio == b"".join(ulaw_frames(bytes(opener.audio)))
    first_checkpoint = plivo.outbound.index(plivo.sent("checkpoint")[0])
    assert all(m["event"] == "playAudio" for m in plivo.outbound[:first_checkpoint])  # opener, then its mark
    assert plivo.sent("checkpoint")[0] == {"event": "checkpoint", "streamId": STREAM_ID, "name": CONSENT_MARK}
    play = plivo.sent("playAudio")[0]
    assert (play["streamId"], play["media"]["contentType"], play["media"]["sampleRate"]) == (
        STREAM_ID,
        "audio/x-mulaw",
        8000,
    )
    assert all(len(base64.b64decode(m["media"]["payload"])) == FRAME_BYTES for m in plivo.sent("playAudio"))
    call.refresh_from_db()
    assert call.consent_delivered_at is not None
    assert call.consent_opener["id"] == opener.pk
    assert call.status == CallStatus.COMPLETED  # the stop ended the stream
    assert call.stream_started_at is not None
    assert call.stream_token_hash == ""  # the token was consumed


def test_a_recorded_stream_keeps_the_callers_audio(streaming, opener):
    call = a_call(record=True)
    caller = tone_ulaw(frequency=440, seconds=3)

    async def scenario():
        plivo = FakePlivo(call.agent.public_id)
        await plivo.connect()
        await plivo.start(call)
        await plivo.talk_until_echoed(CONSENT_MARK)
        await plivo.speak(caller)
        await plivo.send({"event": "dtmf", "streamId": STREAM_ID, "dtmf": {"digit": "5"}})
        await plivo.pump(wait=0.2)
        await plivo.stop()
        return plivo

    plivo = run(scenario())
    assert plivo.sent("clearAudio")  # the key press cleared the queue (the demo agent answers it)
    recording = Recording.objects.get(call=call)
    assert recording.status == RecordingStatus.STORED
    assert recording.duration_seconds >= 3.0
    assert Call.objects.get(pk=call.pk).status == CallStatus.COMPLETED


@pytest.mark.parametrize(
    "extra_headers",
    [
        "callId=00,streamToken=00",  # a wrong token
        "",  # none at all
        "callId=zz;streamToken=not-hex",  # garbage
    ],
)
def test_a_stream_with_a_bad_token_is_closed_and_writes_nothing(streaming, opener, extra_headers):
    call = a_call(record=True)
    extra_headers_of(call)  # a token was issued, and is not the one presented
    token_hash = Call.objects.get(pk=call.pk).stream_token_hash
    headers = extra_headers.replace("callId=00", "callId=" + call.public_id.encode().hex())

    async def scenario():
        plivo = FakePlivo(call.agent.public_id)
        assert (await plivo.connect())[0]
        await plivo.start(call, extra_headers=headers)
        output = await plivo.ws.receive_output(timeout=10)
        while output["type"] != "websocket.close":
            output = await plivo.ws.receive_output(timeout=10)
        return plivo

    plivo = run(scenario())
    assert plivo.outbound == []
    call.refresh_from_db()
    assert (call.status, call.stream_started_at, call.consent_opener) == (CallStatus.RINGING, None, None)
    assert call.stream_token_hash == token_hash  # still the issued one, unused
    assert not Recording.objects.filter(call=call).exists()


def test_a_stream_without_an_agent_in_its_url_is_refused():
    async def scenario():
        return (await WebsocketCommunicator(application, "/v1/media/plivo").connect(timeout=5))[0]

    assert run(scenario()) is False
