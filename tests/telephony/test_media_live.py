"""The media endpoint on a real server (uvicorn) with a real websocket client (the `websockets` package), as
Twilio reaches it: signed upgrade, μ-law frames over TCP, the opener's mark, the recording stored."""

import asyncio
import base64
import json
import wave

import pytest
import websockets

from calls.models import CallStatus
from compliance.openers import CONSENT_MARK, opener_create
from recordings.models import Recording, RecordingStatus
from recordings.services import recordings_storage
from telephony.twilio.signature import twilio_sign
from tests.e2e.conftest import _live_server_connections, live_asgi_url  # noqa: F401 -- fixtures shared with the browser tests
from tests.factories import AgentFactory, CallFactory
from tests.telephony.streams import stream_parameters
from wordcab_admin.kernel.audio import FRAME_BYTES, tone_ulaw, ulaw_frames
from wordcab_admin.kernel.public_url import public_url


def ws_url(base: str, path: str) -> str:
    return "ws://" + base.removeprefix("http://") + path


def test_a_real_twilio_like_client_streams_a_recorded_call_end_to_end(
    live_asgi_url,  # noqa: F811
    twilio_token,
    recording_store,
    uploads_in_place,
):
    agent = AgentFactory(public_id="agent_live")
    call = CallFactory(agent=agent, provider="twilio", status=CallStatus.RINGING, record=True)
    opener = opener_create(actor=None, jurisdiction="", language="en-US", text="This call is recorded.")
    parameters = stream_parameters(call)  # the TwiML we would hand Twilio for this call, as Twilio reads it
    path = f"/v1/media/twilio?agent_id={agent.public_id}"
    signature = twilio_sign(public_url(path, scheme="ws"), {})
    talk = tone_ulaw(frequency=440, seconds=8)

    async def twilio_side() -> list[dict]:
        received: list[dict] = []
        async with websockets.connect(
            ws_url(live_asgi_url, path), additional_headers={"X-Twilio-Signature": signature}
        ) as ws:
            await ws.send(json.dumps({"event": "connected", "protocol": "Call", "version": "1.0.0"}))
            await ws.send(
                json.dumps(
                    {
                        "event": "start",
                        "sequenceNumber": "1",
                        "streamSid": "MZlive",
                        "start": {
                            "streamSid": "MZlive",
                            "accountSid": "AC1",
                            "callSid": "CAlive",
                            "tracks": ["inbound"],
                            "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1},
                            "customParameters": parameters,
                        },
                    }
                )
            )
            agent_end, pending = 0, []  # when the agent audio sent so far has played; marks not yet due
            for chunk, frame in enumerate(ulaw_frames(talk), start=1):
                media = {"track": "inbound", "chunk": str(chunk), "timestamp": str((chunk - 1) * 20)}
                media["payload"] = base64.b64encode(frame).decode()
                await ws.send(json.dumps({"event": "media", "streamSid": "MZlive", "media": media}))
                while True:  # take what the server sent so far
                    try:
                        message = json.loads(await asyncio.wait_for(ws.recv(), timeout=0.001))
                    except TimeoutError:
                        break
                    received.append(message)
                    if message["event"] == "media":
                        agent_end = max(agent_end, chunk) + 1
                    elif message["event"] == "mark":
                        pending.append((agent_end, message["mark"]))
                for due in [mark for at, mark in pending if at <= chunk]:  # played: Twilio echoes the mark
                    await ws.send(json.dumps({"event": "mark", "streamSid": "MZlive", "mark": due}))
                pending = [(at, mark) for at, mark in pending if at > chunk]
            await ws.send(json.dumps({"event": "stop", "streamSid": "MZlive", "stop": {"callSid": "CAlive"}}))
            async for raw in ws:  # until the server closes
                received.append(json.loads(raw))
        return received

    received = asyncio.run(twilio_side())
    opener_frames = len(opener.audio) // FRAME_BYTES + (len(opener.audio) % FRAME_BYTES > 0)
    assert [m["event"] for m in received[: opener_frames + 1]] == ["media"] * opener_frames + ["mark"]
    assert {"event": "mark", "streamSid": "MZlive", "mark": {"name": CONSENT_MARK}} in received
    call.refresh_from_db()
    assert call.status == CallStatus.COMPLETED
    assert call.consent_delivered_at is not None
    recording = Recording.objects.get(call=call)
    assert recording.status == RecordingStatus.STORED
    with recordings_storage().open(recording.storage_key, "rb") as handle, wave.open(handle, "rb") as wav:
        assert wav.getframerate() == 8000
        assert abs(wav.getnframes() - 8 * 8000) <= 0.02 * 8 * 8000


def test_a_real_client_without_a_signature_is_refused_with_403(live_asgi_url, twilio_token):  # noqa: F811
    async def connect():
        async with websockets.connect(ws_url(live_asgi_url, "/v1/media/twilio?agent_id=agent_x")):
            pass

    with pytest.raises(websockets.InvalidStatus) as refused:
        asyncio.run(connect())
    assert refused.value.response.status_code == 403
