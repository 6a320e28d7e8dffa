"""WS /ws/calls/<call_id>/supervise over a real Twilio-shaped media stream: the caller speaks 440 Hz, the
agent runtime answers 1000 Hz, the supervisor's microphone is 2000 Hz. A listener hears both sides;
a whisper reaches the runtime only; barge-in reaches the caller and the runtime; a take-over mutes the
runtime; roles and the audit trail; a slow listener never costs the call a frame."""

import asyncio
import base64
import json

import numpy as np
import pytest
from channels.testing import WebsocketCommunicator

from calls.models import CallEvent
from compliance.models import AuditEvent
from telephony.media.supervision import LISTEN_QUEUE_CHUNKS, CallSupervision, Mode
from telephony.runtime import AgentRuntime
from tests.factories import UserFactory
from tests.telephony.test_media_stream import FakeTwilio, a_call, streaming  # noqa: F401 -- a fixture
from wordcab_admin.asgi import application
from wordcab_admin.kernel.accounts import api_key_create
from wordcab_admin.kernel.audio import FRAME_BYTES, tone_ulaw, ulaw_to_pcm16
from wordcab_admin.kernel.roles import Role

pytestmark = pytest.mark.django_db(transaction=True)

CALLER_HZ, AGENT_HZ, SUPERVISOR_HZ = 440, 1000, 2000
CALLER_FRAME = tone_ulaw(frequency=CALLER_HZ, seconds=0.02)
AGENT_FRAME = tone_ulaw(frequency=AGENT_HZ, seconds=0.02)
SUPERVISOR_FRAME = tone_ulaw(frequency=SUPERVISOR_HZ, seconds=0.02)


class ToneRuntime(AgentRuntime):
    """Answers every caller frame with one 1000 Hz frame; keeps what it heard and the guidance it got."""

    heard: list[bytes] = []
    guidance_received: list[str] = []

    async def audio(self, frame: bytes) -> None:
        ToneRuntime.heard.append(frame)
        await self.outlet.send_audio(AGENT_FRAME)

    async def guidance(self, text: str) -> None:
        ToneRuntime.guidance_received.append(text)


@pytest.fixture
def tone_agent(settings, streaming):  # noqa: F811 -- the media stream fixture
    settings.AGENT_RUNTIME = "tests.live.test_supervise.ToneRuntime"
    ToneRuntime.heard, ToneRuntime.guidance_received = [], []


def level(ulaw: bytes, frequency: float) -> float:
    """The amplitude of `frequency` in `ulaw` (0..1 of full scale): one DFT bin per 20 ms frame (each test
    frame starts its tone afresh), averaged over the frames."""
    samples = np.frombuffer(ulaw_to_pcm16(ulaw), dtype="<i2").astype(float) / 32768
    frames = samples[: len(samples) // FRAME_BYTES * FRAME_BYTES].reshape(-1, FRAME_BYTES)
    if not len(frames):
        return 0.0
    phase = np.exp(-2j * np.pi * frequency * np.arange(FRAME_BYTES) / 8000)
    return float(np.mean(2 * np.abs(frames @ phase) / FRAME_BYTES))


def holds(ulaw: bytes, frequency: float) -> bool:
    return level(ulaw, frequency) > 0.05


def bearer(role: Role) -> list[tuple[bytes, bytes]]:
    user = UserFactory(username=f"sup-{role.value}", role=role)
    return [(b"authorization", f"Bearer {api_key_create(user=user, name='supervise')[1]}".encode())]


class Listener:
    def __init__(self, call_id: str, headers: list):
        self.ws = WebsocketCommunicator(application, f"/ws/calls/{call_id}/supervise", headers=headers)
        self.audio = bytearray()
        self.texts: list[dict] = []
        self.close_code: int | None = None

    async def open(self) -> dict:
        connected, _ = await self.ws.connect(timeout=5)
        assert connected
        output = await self.ws.receive_output(timeout=5)
        if output["type"] == "websocket.close":
            self.close_code = output.get("code")
            return {}
        return json.loads(output["text"])

    async def command(self, **command) -> None:
        await self.ws.send_to(text_data=json.dumps(command))

    async def until_closed(self, timeout: float = 5) -> None:
        deadline = asyncio.get_running_loop().time() + timeout
        while self.close_code is None and asyncio.get_running_loop().time() < deadline:
            await self.drain()
            await asyncio.sleep(0.02)

    async def drain(self) -> None:
        while not await self.ws.receive_nothing(timeout=0.01, interval=0.005):
            output = await self.ws.receive_output(timeout=5)
            if output["type"] == "websocket.close":
                self.close_code = output.get("code")
                return
            if output.get("bytes"):
                self.audio += output["bytes"]
            elif output.get("text"):
                self.texts.append(json.loads(output["text"]))


async def caller_talks(
    twilio: FakeTwilio, listeners: list[Listener], *, frames: int, supervisor=None
) -> None:
    """The caller speaks `frames` 440 Hz frames in real time (the supervisor's too, when given)."""
    for _ in range(frames):
        if supervisor is not None:
            await supervisor.ws.send_to(bytes_data=SUPERVISOR_FRAME)
        await twilio.speak(CALLER_FRAME)
        await asyncio.sleep(0.02)
        for listener in listeners:
            await listener.drain()


async def call_started(call) -> FakeTwilio:
    twilio = FakeTwilio(call.agent.public_id)
    assert (await twilio.connect())[0]
    await twilio.start(call)
    await asyncio.sleep(0.3)  # the session joins its control group
    return twilio


async def supervising(call, headers: dict) -> tuple[FakeTwilio, Listener]:
    """The call streaming, a supervisor listening to it, and a first stretch of the caller's talk heard."""
    twilio = await call_started(call)
    supervisor = Listener(call.public_id, headers)
    await supervisor.open()
    await caller_talks(twilio, [supervisor], frames=10)
    return twilio, supervisor


async def mode_set(twilio: FakeTwilio, supervisor: Listener, mode: str) -> int:
    """The supervisor switches `mode`; returns where the caller's side stands once the session has it."""
    await supervisor.command(type="mode", mode=mode)
    await asyncio.sleep(0.5)  # the commands behind the supervisor's audio reach the session
    await twilio.pump()  # what was sent before the command is not counted after it
    return media_count(twilio)


def outbound_from(twilio: FakeTwilio, first: int) -> bytes:
    media = [m for m in twilio.outbound if m["event"] == "media"]
    return b"".join(base64.b64decode(m["media"]["payload"]) for m in media[first:])


def media_count(twilio: FakeTwilio) -> int:
    return sum(1 for m in twilio.outbound if m["event"] == "media")


def test_a_listener_hears_both_sides_and_several_may_listen(tone_agent):
    call = a_call()
    headers = {role: bearer(role) for role in (Role.OPERATOR, Role.COMPLIANCE)}

    async def scenario():
        twilio = await call_started(call)
        listeners = [Listener(call.public_id, h) for h in headers.values()]
        statuses = [await listener.open() for listener in listeners]
        await caller_talks(twilio, listeners, frames=60)
        await asyncio.sleep(0.3)
        for listener in listeners:
            await listener.drain()
        await twilio.stop()
        for listener in listeners:
            await listener.until_closed()
        return statuses, listeners

    statuses, listeners = asyncio.run(scenario())
    assert [s["state"] for s in statuses] == ["listening", "listening"]
    assert [s["may_speak"] for s in statuses] == [True, False]  # compliance listens, never speaks
    for listener in listeners:
        assert len(listener.audio) >= 30 * FRAME_BYTES
        assert holds(bytes(listener.audio), CALLER_HZ)
        assert holds(bytes(listener.audio), AGENT_HZ)
        assert listener.texts[-1]["state"] == "ended"  # the stream's end closes the socket
        assert listener.close_code == 1000
    actions = list(AuditEvent.objects.filter(object_id=call.public_id).values_list("action", flat=True))
    assert actions.count("call.listen_started") == 2
    assert actions.count("call.listen_stopped") == 2
    stopped = AuditEvent.objects.filter(action="call.listen_stopped").first()
    assert {"from", "to", "seconds"} <= set(stopped.after)
    notes = CallEvent.objects.filter(call=call, source="supervisor").values_list("payload__note", flat=True)
    assert "sup-operator started listening" in list(notes)


def test_a_whisper_reaches_the_runtime_and_never_the_callers_side(tone_agent):
    call = a_call()
    headers = bearer(Role.OPERATOR)

    async def scenario():
        twilio, supervisor = await supervising(call, headers)
        before = media_count(twilio)
        await supervisor.command(type="whisper", text="offer the Tuesday slot")
        await caller_talks(twilio, [supervisor], frames=20)
        after_whisper = outbound_from(twilio, before)
        await twilio.stop()
        await supervisor.drain()
        return after_whisper

    after_whisper = asyncio.run(scenario())
    assert ToneRuntime.guidance_received == ["offer the Tuesday slot"]
    frames = {after_whisper[i : i + FRAME_BYTES] for i in range(0, len(after_whisper), FRAME_BYTES)}
    assert frames == {AGENT_FRAME}  # the caller hears the agent, nothing of the whisper
    audit = AuditEvent.objects.get(action="call.whispered")
    assert audit.after == {"text": "offer the Tuesday slot"}
    assert CallEvent.objects.filter(
        call=call, source="supervisor", payload__text="offer the Tuesday slot"
    ).exists()


def test_barge_in_reaches_the_callers_side_and_the_runtime(tone_agent):
    call = a_call()
    headers = bearer(Role.ADMIN)

    async def scenario():
        twilio, supervisor = await supervising(call, headers)
        before = await mode_set(twilio, supervisor, "barge")
        heard_before = len(ToneRuntime.heard)
        await caller_talks(twilio, [supervisor], frames=40, supervisor=supervisor)
        barged = outbound_from(twilio, before)
        await twilio.stop()
        return barged, b"".join(ToneRuntime.heard[heard_before:])

    barged, runtime_heard = asyncio.run(scenario())
    assert holds(barged, SUPERVISOR_HZ)  # mixed: both voices reach the caller
    assert holds(barged, AGENT_HZ)
    assert holds(runtime_heard, SUPERVISOR_HZ)  # and the runtime hears the supervisor beside the caller
    assert holds(runtime_heard, CALLER_HZ)
    assert AuditEvent.objects.filter(action="call.supervisor_mode", after__mode="barge").exists()


def test_take_over_mutes_the_runtime_and_the_supervisor_talks_with_the_caller(tone_agent):
    call = a_call()
    headers = bearer(Role.OPERATOR)

    async def scenario():
        twilio, supervisor = await supervising(call, headers)
        before, heard_before = await mode_set(twilio, supervisor, "takeover"), len(ToneRuntime.heard)
        await caller_talks(twilio, [supervisor], frames=40, supervisor=supervisor)
        taken = outbound_from(twilio, before)
        back = await mode_set(twilio, supervisor, "none")
        await caller_talks(twilio, [supervisor], frames=10)
        handed_back = outbound_from(twilio, back)
        runtime_heard = b"".join(ToneRuntime.heard[heard_before:])
        await twilio.stop()
        return taken, handed_back, runtime_heard

    taken, handed_back, runtime_heard = asyncio.run(scenario())
    assert holds(taken, SUPERVISOR_HZ)
    assert not holds(taken, AGENT_HZ)  # the runtime is muted
    assert holds(runtime_heard, CALLER_HZ)  # it still hears the caller
    assert not holds(runtime_heard, SUPERVISOR_HZ)
    assert holds(handed_back, AGENT_HZ)
    modes = list(
        AuditEvent.objects.filter(action="call.supervisor_mode")
        .order_by("id")
        .values_list("after__mode", flat=True)
    )
    assert modes == ["takeover", "none"]


def test_a_viewer_may_not_listen_and_compliance_may_not_barge(tone_agent):
    call = a_call()
    headers = {role: bearer(role) for role in (Role.VIEWER, Role.COMPLIANCE)}

    async def scenario():
        await call_started(call)
        viewer = Listener(call.public_id, headers[Role.VIEWER])
        await viewer.open()
        stranger = Listener(call.public_id, [])
        await stranger.open()
        compliance = Listener(call.public_id, headers[Role.COMPLIANCE])
        await compliance.open()
        await compliance.command(type="mode", mode="barge")
        await asyncio.sleep(0.5)  # the commands behind the supervisor's audio reach the session
        await compliance.drain()
        return viewer.close_code, stranger.close_code, compliance.texts

    viewer_code, stranger_code, compliance_texts = asyncio.run(scenario())
    assert (viewer_code, stranger_code) == (4403, 4401)
    assert compliance_texts[-1]["type"] == "error"
    assert not AuditEvent.objects.filter(action="call.supervisor_mode").exists()


def test_a_call_that_is_not_live_is_refused(tone_agent):
    call = a_call(status="completed")
    headers = bearer(Role.ADMIN)

    async def scenario():
        listener = Listener(call.public_id, headers)
        await listener.open()
        return listener.close_code

    assert asyncio.run(scenario()) == 4404


def test_a_slow_listener_path_drops_the_listeners_copy_never_the_calls_frames():
    async def scenario():
        sent: list[bytes] = []

        async def to_caller(ulaw: bytes) -> None:
            sent.append(ulaw)

        whispered: list[str] = []

        async def guidance(text: str) -> None:
            whispered.append(text)

        tap = CallSupervision(call_id="call_slow", send_to_caller=to_caller, guidance=guidance)
        tap.listeners["listener.1"] = asyncio.get_running_loop().time() + 1e9  # listening, never drained
        heard = [await tap.caller_frame(CALLER_FRAME) for _ in range((LISTEN_QUEUE_CHUNKS + 20) * 5)]
        return tap, heard

    tap, heard = asyncio.run(scenario())
    assert heard == [CALLER_FRAME] * len(heard)  # every frame went on to the runtime, unchanged
    assert tap.mode == Mode.NONE
    assert tap.listen_dropped == 20  # the listeners' chunks beyond the queue, counted
