"""The browser leg (telephony/webrtc) end to end: an aiortc peer in the test plays the browser (a tone from a
generated track) against the real signalling endpoint on a real server (uvicorn), over real UDP with host
candidates only. PCMU both ways is lossless for μ-law audio, so what each side hears is compared byte for
byte with what the other sent."""

import asyncio
import fractions
import time
import wave
from collections.abc import Callable
from dataclasses import dataclass, field

import av
import httpx
import pytest
from aiortc import RTCConfiguration, RTCPeerConnection, RTCRtpSender, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from django.conf import settings as django_settings

from calls.lifecycle import call_hangup, calls_max_duration_sweep
from calls.models import Call, CallEvent, CallStatus, EndReason
from compliance.openers import opener_create
from recordings.models import Recording, RecordingStatus
from recordings.services import recordings_storage
from telephony.runtime import AgentRuntime
from telephony.webrtc import leg as webrtc_leg
from telephony.webrtc.leg import leg_hangup_broadcast, legs_here
from telephony.webrtc.tracks import CallerAudio
from tests.factories import AgentFactory
from tests.helpers import wait_for
from wordcab_admin.kernel.accounts import api_key_create
from wordcab_admin.kernel.audio import FRAME_BYTES, SAMPLE_RATE, tone_ulaw, ulaw_frames, ulaw_to_pcm16

try:
    import audioop
except ImportError:  # pragma: no cover -- Python 3.13+
    import audioop_lts as audioop

# --- the agent runtime these tests run: it only keeps what it heard ------------------------------------------

HEARD: dict[str, list[tuple[float, bytes]]] = {}  # call id → (monotonic time, caller frame), in order


class HearingRuntime(AgentRuntime):
    """Says nothing; keeps every caller frame it gets, with when it got it (the benchmark reads the times)."""

    async def start(self) -> None:
        HEARD[self.call.call_id] = []

    async def audio(self, frame: bytes) -> None:
        HEARD[self.call.call_id].append((time.monotonic(), frame))


HEARING_RUNTIME = "tests.telephony.test_webrtc.HearingRuntime"


# --- the browser, played by aiortc ------------------------------------------------------------------------


class UlawTrack(MediaStreamTrack):
    """A microphone that says `frames` (160-byte μ-law each, in turn, then silence), paced at 20 ms;
    `sent_at[i]` is when frame i left for the encoder."""

    kind = "audio"

    def __init__(self, frames: list[bytes]) -> None:
        super().__init__()
        self.frames = frames
        self.sent_at: list[float] = []
        self._start: float | None = None
        self._index = 0

    async def recv(self) -> av.AudioFrame:
        if self._start is None:
            self._start = time.monotonic()
        wait = self._start + self._index * 0.02 - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        ulaw = self.frames[self._index] if self._index < len(self.frames) else b"\xff" * FRAME_BYTES
        frame = av.AudioFrame(format="s16", layout="mono", samples=FRAME_BYTES)
        frame.planes[0].update(ulaw_to_pcm16(ulaw))
        frame.sample_rate = SAMPLE_RATE
        frame.pts = self._index * FRAME_BYTES
        frame.time_base = fractions.Fraction(1, SAMPLE_RATE)
        if self._index < len(self.frames):
            self.sent_at.append(time.monotonic())
        self._index += 1
        return frame


@dataclass
class Browser:
    """What the test's browser heard and how its connection went."""

    pc: RTCPeerConnection
    mic: UlawTrack
    heard: list[bytes] = field(default_factory=list)
    answer: dict = field(default_factory=dict)
    status_code: int = 0


def pcmu_first(pc: RTCPeerConnection) -> None:
    """As the page does (static/js/webrtc_call.js): μ-law first, so nothing is resampled."""
    codecs = RTCRtpSender.getCapabilities("audio").codecs
    for transceiver in pc.getTransceivers():
        transceiver.setCodecPreferences(sorted(codecs, key=lambda c: c.mimeType != "audio/PCMU"))


async def browser_call(base_url: str, key: str, agent_id: str, mic_frames: list[bytes]) -> Browser:
    """Offer, post, take the answer: the call is up (or refused: `status_code`)."""
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    browser = Browser(pc=pc, mic=UlawTrack(mic_frames))
    pc.addTrack(browser.mic)
    pcmu_first(pc)

    @pc.on("track")
    def on_track(track: MediaStreamTrack) -> None:
        async def listen() -> None:
            caller = CallerAudio()  # the same μ-law cutter, used here as a browser's speaker
            while True:
                try:
                    browser.heard.extend(caller.frames(await track.recv()))
                except MediaStreamError:
                    return

        asyncio.ensure_future(listen())

    await pc.setLocalDescription(await pc.createOffer())
    async with httpx.AsyncClient(timeout=20) as http:
        response = await http.post(
            f"{base_url}/v1/webrtc/calls",
            json={"agent_id": agent_id, "sdp": pc.localDescription.sdp, "type": "offer"},
            headers={"Authorization": f"Bearer {key}"},
        )
    browser.status_code, browser.answer = response.status_code, response.json()
    if response.status_code == 201:
        await pc.setRemoteDescription(RTCSessionDescription(sdp=browser.answer["sdp"], type="answer"))
    return browser


async def until(condition: Callable[[], object], *, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        await asyncio.sleep(0.05)


async def talking_browser(base_url: str, key: str, agent_id: str) -> Browser:
    """A browser call that is up: the runtime has heard half a second of it."""
    browser = await browser_call(base_url, key, agent_id, TONE)
    call_id = browser.answer["call_id"]
    await until(lambda: len(HEARD.get(call_id, [])) >= 25, timeout=10, what="the call to talk")
    return browser


def call_status(call_id: str) -> str:
    return Call.objects.filter(public_id=call_id).values_list("status", flat=True).first()


def loud(ulaw: bytes) -> bool:
    return audioop.rms(ulaw_to_pcm16(ulaw), 2) > 300


# --- fixtures ---------------------------------------------------------------------------------------------


@pytest.fixture
def hearing_runtime(settings):
    settings.AGENT_RUNTIME = HEARING_RUNTIME
    HEARD.clear()


@pytest.fixture
def opener(transactional_db):
    """The deployment's default consent opener: every call plays it first."""
    return opener_create(
        actor=None, jurisdiction="", language="en-US", text="This call is recorded for quality."
    )


@pytest.fixture
def talking_agent(opener, recording_store, uploads_in_place):
    """An agent that records (its recordings uploaded at once, no worker needed)."""
    return AgentFactory(public_id="agent_webrtc", name="Browser bot", record=True)


@pytest.fixture
def alice_key(alice) -> str:
    return api_key_create(user=alice, name="webrtc")[1]


TONE = list(ulaw_frames(tone_ulaw(frequency=440, seconds=6)))


def agent_channel_rms(storage_key: str, *, seconds: float) -> int:
    """RMS of the agent's side (the right channel) over the recording's first `seconds`."""
    with recordings_storage().open(storage_key, "rb") as handle, wave.open(handle, "rb") as wav:
        stereo = wav.readframes(int(seconds * wav.getframerate()))
    return audioop.rms(audioop.tomono(stereo, 2, 0, 1), 2)


# --- the call ---------------------------------------------------------------------------------------------


def test_a_browser_call_hears_the_opener_first_reaches_the_runtime_and_is_recorded(
    live_asgi_url, talking_agent, hearing_runtime, alice_key
):
    async def talk() -> Browser:
        browser = await browser_call(live_asgi_url, alice_key, talking_agent.public_id, TONE)
        assert browser.status_code == 201, browser.answer
        call_id = browser.answer["call_id"]
        await until(lambda: len(browser.heard) >= 150, timeout=15, what="3 s of the agent's audio")
        await until(lambda: len(HEARD.get(call_id, [])) >= 100, timeout=10, what="the runtime to hear 2 s")
        async with httpx.AsyncClient() as http:
            hangup = await http.post(
                f"{live_asgi_url}/v1/webrtc/calls/{call_id}/hangup",
                headers={"Authorization": f"Bearer {alice_key}"},
            )
        assert hangup.status_code == 200, hangup.text
        await until(lambda: browser.pc.connectionState == "closed", timeout=10, what="the peer to close")
        return browser

    browser = asyncio.run(talk())
    call = Call.objects.get(public_id=browser.answer["call_id"])
    assert (call.provider, call.status, call.end_reason) == ("webrtc", CallStatus.COMPLETED, EndReason.HANGUP)
    assert call.answered_at is not None
    assert call.stream_started_at is not None
    first_two_seconds = browser.heard[:100]
    assert sum(loud(frame) for frame in first_two_seconds) >= 50, "the first seconds heard were silence"
    # The runtime heard the browser's tone, frame for frame, in order.
    heard = [frame for _, frame in HEARD[call.public_id]]
    assert len(heard) >= 100
    start = TONE.index(heard[0])
    assert heard[:100] == TONE[start : start + 100]
    wait_for(
        lambda: Recording.objects.filter(call=call, status=RecordingStatus.STORED).exists(),
        timeout=15,
        what="the recording to be stored",
    )
    recording = Recording.objects.get(call=call)
    assert agent_channel_rms(recording.storage_key, seconds=2) > 300, "the recording starts with silence"
    wait_for(lambda: legs_here() == 0, timeout=10, what="the server's leg to end")


def test_the_browser_hears_the_consent_opener_byte_for_byte_and_consent_is_marked_delivered(
    live_asgi_url, talking_agent, hearing_runtime, alice_key, opener
):
    async def talk() -> Browser:
        browser = await browser_call(live_asgi_url, alice_key, talking_agent.public_id, TONE)
        seconds = len(opener.audio) / SAMPLE_RATE
        await until(
            lambda: len(browser.heard) >= seconds * 50 + 25, timeout=20, what="the whole opener to play"
        )
        await browser.pc.close()  # the browser leaves without its Hang up: the peer closes
        return browser

    browser = asyncio.run(talk())
    heard = b"".join(browser.heard)
    assert opener.audio[: 50 * FRAME_BYTES] in heard[: 100 * FRAME_BYTES], "the opener did not come first"
    call_id = browser.answer["call_id"]
    wait_for(lambda: call_status(call_id) == CallStatus.COMPLETED, timeout=15, what="the call to complete")
    call = Call.objects.get(public_id=call_id)
    assert call.consent_delivered_at is not None
    ended_by = CallEvent.objects.get(call=call, status=CallStatus.COMPLETED, applied=True)
    assert (ended_by.source, ended_by.provider_status) == ("provider", "peer-closed")


def test_an_operator_hanging_up_elsewhere_closes_the_browsers_peer(
    live_asgi_url, talking_agent, hearing_runtime, alice_key, alice
):
    loop = asyncio.new_event_loop()
    try:
        browser = loop.run_until_complete(talking_browser(live_asgi_url, alice_key, talking_agent.public_id))
        call = Call.objects.get(public_id=browser.answer["call_id"])
        assert call.status == CallStatus.IN_PROGRESS
        call_hangup(call=call, actor=alice)  # as the call page's Hang up does, on another request
        loop.run_until_complete(
            until(
                lambda: browser.pc.connectionState == "closed", timeout=10, what="the browser's peer to close"
            )
        )
        loop.run_until_complete(browser.pc.close())
    finally:
        loop.close()
    wait_for(lambda: legs_here() == 0, timeout=10, what="the server's leg to end")
    call.refresh_from_db()
    assert (call.status, call.end_reason) == (CallStatus.COMPLETED, EndReason.HANGUP)
    wait_for(
        lambda: Recording.objects.filter(call=call, status=RecordingStatus.STORED).exists(),
        timeout=15,
        what="the recording to be stored",
    )


def test_a_hangup_sent_through_the_channel_layer_closes_the_leg_in_the_web_process(
    live_asgi_url, talking_agent, hearing_runtime, alice_key
):
    """What a Celery worker's WebrtcProvider.hangup sends when the leg lives in another process."""
    loop = asyncio.new_event_loop()
    try:
        browser = loop.run_until_complete(talking_browser(live_asgi_url, alice_key, talking_agent.public_id))
        call = Call.objects.get(public_id=browser.answer["call_id"])
        assert call.status == CallStatus.IN_PROGRESS
        leg_hangup_broadcast(call.provider_call_id)
        loop.run_until_complete(
            until(
                lambda: browser.pc.connectionState == "closed", timeout=10, what="the browser's peer to close"
            )
        )
        loop.run_until_complete(browser.pc.close())
    finally:
        loop.close()
    wait_for(lambda: legs_here() == 0, timeout=10, what="the server's leg to end")


# --- refusals (no peer needed: they fail before one is made) -------------------------------------------------

OFFER_WITHOUT_AUDIO = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"


def test_a_viewer_may_not_start_a_browser_call(api, bob, agent):
    response = api(bob).post(
        "/v1/webrtc/calls", {"agent_id": agent.public_id, "sdp": "v=0", "type": "offer"}, format="json"
    )
    assert response.status_code == 403
    assert not Call.objects.exists()


def test_a_disabled_agent_refuses_a_browser_call_with_409(api, alice, agent):
    agent.is_active = False
    agent.save()
    response = api(alice).post(
        "/v1/webrtc/calls", {"agent_id": agent.public_id, "sdp": "v=0", "type": "offer"}, format="json"
    )
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "agent_disabled"
    assert not Call.objects.exists()


@pytest.mark.parametrize("sdp", ["not sdp at all", OFFER_WITHOUT_AUDIO])
def test_an_unusable_offer_is_a_400_and_makes_no_call(api, alice, agent, sdp):
    response = api(alice).post(
        "/v1/webrtc/calls", {"agent_id": agent.public_id, "sdp": sdp, "type": "offer"}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_sdp"
    assert response.json()["error"]["field"] == "sdp"
    assert not Call.objects.exists()


def test_an_answer_instead_of_an_offer_is_a_400(api, alice, agent):
    response = api(alice).post(
        "/v1/webrtc/calls", {"agent_id": agent.public_id, "sdp": "v=0", "type": "answer"}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["error"]["field"] == "type"


def test_the_webrtc_provider_owns_no_numbers_and_places_no_calls(db):
    from calls.providers import provider_for
    from wordcab_admin.kernel.telephony_providers import number_provider_names

    provider = provider_for("webrtc")
    assert (provider.label, provider.owns_numbers, provider.outbound) == ("Browser (WebRTC)", False, False)
    assert "webrtc" not in number_provider_names()
    assert django_settings.AGENT_RUNTIME  # the seam our calls run through


def test_a_browser_call_past_the_agents_max_duration_is_ended_by_the_sweep_and_its_peer_closed(
    live_asgi_url, talking_agent, hearing_runtime, alice_key
):
    talking_agent.max_duration = 1
    talking_agent.save(update_fields=["max_duration"])
    loop = asyncio.new_event_loop()
    try:
        browser = loop.run_until_complete(talking_browser(live_asgi_url, alice_key, talking_agent.public_id))
        call_id = browser.answer["call_id"]
        loop.run_until_complete(until(lambda: len(HEARD[call_id]) >= 75, timeout=10, what="1.5 s of talk"))
        assert calls_max_duration_sweep() == 1  # as beat runs it, in a worker
        loop.run_until_complete(
            until(
                lambda: browser.pc.connectionState == "closed", timeout=10, what="the browser's peer to close"
            )
        )
        loop.run_until_complete(browser.pc.close())
    finally:
        loop.close()
    call = Call.objects.get(public_id=call_id)
    assert (call.status, call.end_reason) == (CallStatus.COMPLETED, EndReason.MAX_DURATION)
    wait_for(lambda: legs_here() == 0, timeout=10, what="the server's leg to end")


def test_a_browser_that_never_connects_fails_its_call_without_it_ever_going_in_progress(
    live_asgi_url, talking_agent, hearing_runtime, alice_key, monkeypatch
):
    monkeypatch.setattr(webrtc_leg, "CONNECT_TIMEOUT_SECONDS", 1)  # the product waits 20 s

    async def offer_and_vanish() -> str:
        pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        pc.addTrack(UlawTrack(TONE))
        await pc.setLocalDescription(await pc.createOffer())
        async with httpx.AsyncClient(timeout=20) as http:
            response = await http.post(
                f"{live_asgi_url}/v1/webrtc/calls",
                json={"agent_id": talking_agent.public_id, "sdp": pc.localDescription.sdp, "type": "offer"},
                headers={"Authorization": f"Bearer {alice_key}"},
            )
        await pc.close()  # before it ever takes the answer: no ICE, no DTLS
        return response.json()["call_id"]

    call_id = asyncio.run(offer_and_vanish())
    wait_for(lambda: call_status(call_id) == CallStatus.FAILED, timeout=10, what="the call to fail")
    call = Call.objects.get(public_id=call_id)
    assert call.error_code == "webrtc_failed"
    assert call.answered_at is None
    assert not CallEvent.objects.filter(call=call, status=CallStatus.IN_PROGRESS).exists()
    wait_for(lambda: legs_here() == 0, timeout=10, what="the server's leg to end")
