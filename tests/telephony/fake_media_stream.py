"""A carrier's side of a bidirectional media stream, played against our ASGI application, for the tests of
each carrier's media websocket (test_media_stream.py: Twilio, test_telnyx_media.py, test_plivo_media.py):
the caller's clock, the marks echoed by it and the message plumbing they share, the calls they stream, the
event loop they run on and the recording they read back (the opener they play is conftest.py's). A
subclass, next to its tests, frames its carrier's messages."""

from __future__ import annotations

import asyncio
import base64
import io
import json
import time
import wave
from abc import ABC, abstractmethod
from collections.abc import Callable, Coroutine
from typing import Any, ClassVar, NamedTuple, TypeVar

from channels.testing import WebsocketCommunicator

from calls.models import Call
from recordings.models import Recording, RecordingStatus
from recordings.services import recordings_storage
from tests.factories import AgentFactory, CallFactory
from wordcab_admin.asgi import application
from wordcab_admin.kernel.audio import FRAME_BYTES, ulaw_frames

Result = TypeVar("Result")

SILENCE = b"\xff" * FRAME_BYTES  # one 20 ms frame of μ-law silence


def run(coroutine: Coroutine[Any, Any, Result]) -> Result:
    """A scenario run to its end on an event loop of its own: the tests themselves stay synchronous, so the
    database fixtures and the checks after the scenario work as in any other test."""
    return asyncio.run(coroutine)


def media_call(*, provider: str, agent_id: str, agent_name: str, default_status: str, **fields) -> Call:
    """A `provider` call in US-CA, where conftest.py's `opener` applies, of `fields["agent"]` or else of a
    new agent `agent_id`; in `default_status` (the one its carrier's stream starts in) unless `fields` name
    another."""
    agent = fields.pop("agent", None) or AgentFactory(public_id=agent_id, name=agent_name)
    fields.setdefault("status", default_status)
    return CallFactory(agent=agent, provider=provider, jurisdiction="US-CA", **fields)


class StoredRecording(NamedTuple):
    recording: Recording
    data: bytes  # the WAV file as stored
    frames: int  # its sample frames, 8000 a second
    pcm: bytes  # its 16-bit stereo samples: the caller left, the agent right


def stored_recording(call: Call) -> StoredRecording:
    """The recording of `call`'s stream, read back from the store: stored, and an 8 kHz 16-bit stereo WAV
    whatever the carrier."""
    recording = Recording.objects.get(call=call)
    assert recording.status == RecordingStatus.STORED
    with recordings_storage().open(recording.storage_key, "rb") as stored:
        data = stored.read()
    with wave.open(io.BytesIO(data), "rb") as wav:
        assert (wav.getframerate(), wav.getnchannels(), wav.getsampwidth()) == (8000, 2, 2)
        frames = wav.getnframes()
        pcm = wav.readframes(frames)
    return StoredRecording(recording, data, frames, pcm)


class FakeMediaStream(ABC):
    """Plays a carrier's side of one stream: sends the caller's frames in real order (their count is the
    caller's clock, in 20 ms frames), collects what we send, and echoes each of our marks once the audio
    queued before it has "played" by that clock, as the carriers do. A subclass names the events and frames
    the messages of its carrier's protocol."""

    media_event: ClassVar[str] = "media"  # what the carrier calls our audio, our mark and our clear
    mark_event: ClassVar[str] = "mark"
    clear_event: ClassVar[str] = "clear"
    sequence_key: ClassVar[str] = "sequenceNumber"  # the field that numbers the carrier's own messages

    def __init__(self, path: str, *, headers: list[tuple[bytes, bytes]] | None = None) -> None:
        self.ws = WebsocketCommunicator(application, path, headers=headers)
        self.sequence = 0
        self.chunk = 0  # caller frames sent: the clock, in 20 ms frames
        self.agent_end = 0  # the frame at which the agent audio sent so far has played
        self.pending_marks: list[tuple[int, str]] = []  # (the frame it plays at, its name)
        self.echoed_marks: list[str] = []
        self.outbound: list[dict] = []

    @abstractmethod
    def media_message(self, frame: bytes, track: str) -> dict:
        """The carrier's message carrying one frame of the caller's audio, at the clock's frame."""

    @abstractmethod
    def mark_echo_message(self, name: str) -> dict:
        """The carrier's message that our mark `name` has played."""

    @abstractmethod
    def stop_message(self) -> dict:
        """The carrier's message that the stream ends."""

    def mark_name(self, message: dict) -> str:
        """The name of one of our marks."""
        return message["mark"]["name"]

    def sequence_number(self) -> object:
        """The number of the message sent now, as the carrier writes it."""
        return str(self.sequence)

    async def connect(self) -> tuple[bool, object]:
        return await self.ws.connect(timeout=5)

    async def send(self, message: dict) -> None:
        """Send `message`, numbered in order unless it carries its own number."""
        self.sequence += 1
        message.setdefault(self.sequence_key, self.sequence_number())
        await self.ws.send_to(text_data=json.dumps(message))

    async def echo_mark(self, name: str) -> None:
        await self.send(self.mark_echo_message(name))

    def _take(self, message: dict) -> dict:
        """Collect one message of ours: audio pushes back the frame at which the agent's audio ends, a mark
        plays at that frame, a clear brings it back to now."""
        self.outbound.append(message)
        if message["event"] == self.media_event:
            self.agent_end = max(self.agent_end, self.chunk) + 1
        elif message["event"] == self.mark_event:
            self.pending_marks.append((self.agent_end, self.mark_name(message)))
        elif message["event"] == self.clear_event:
            self.agent_end = self.chunk
        return message

    async def _echo_due_marks(self) -> None:
        due = [name for at, name in self.pending_marks if at <= self.chunk]
        self.pending_marks = [(at, name) for at, name in self.pending_marks if at > self.chunk]
        for name in due:
            self.echoed_marks.append(name)
            await self.echo_mark(name)

    async def pump(self, wait: float = 0) -> None:
        """Take whatever we were sent (waiting up to `wait` for the first), echo marks now due."""
        await asyncio.sleep(0)
        while not await self.ws.receive_nothing(timeout=wait, interval=0.005):
            self._take(json.loads(await self.ws.receive_from(timeout=5)))
        await self._echo_due_marks()

    async def speak(self, ulaw: bytes, *, track: str = "inbound") -> None:
        """The caller's audio as 20 ms media messages, each one a tick of the clock."""
        for frame in ulaw_frames(ulaw):
            self.chunk += 1
            await self.send(self.media_message(frame, track))
            await self.pump()

    async def until(self, predicate: Callable[[dict], bool], timeout: float = 10) -> dict:
        """Read our messages until one satisfies `predicate`."""
        while True:
            message = self._take(json.loads(await self.ws.receive_from(timeout=timeout)))
            if predicate(message):
                return message

    async def until_mark(self, name: str) -> dict:
        return await self.until(lambda m: m["event"] == self.mark_event and self.mark_name(m) == name)

    async def talk_until_echoed(self, name: str, *, timeout: float = 15) -> int:
        """The caller keeps talking (silence) until the carrier has played up to mark `name`; returns the
        clock then.

        The fake caller sends faster than real time, so the limit is wall-clock time, not frames: on a quiet
        machine thousands of frames go by while the runtime synthesizes its greeting in a thread."""
        deadline = time.monotonic() + timeout
        while name not in self.echoed_marks:
            assert time.monotonic() < deadline, f"{name} never played within {timeout:.0f} s"
            await self.speak(SILENCE)
        return self.chunk

    async def stop(self) -> None:
        """The carrier's stop; what we send until we close the socket is collected."""
        await self.send(self.stop_message())
        output = await self.ws.receive_output(timeout=10)
        while output["type"] != "websocket.close":
            if output.get("text"):
                self._take(json.loads(output["text"]))
            output = await self.ws.receive_output(timeout=10)

    def sent(self, event: str) -> list[dict]:
        """Our messages of one kind, in order."""
        return [m for m in self.outbound if m["event"] == event]

    def media_audio(self) -> bytes:
        """All the agent audio we sent, as the caller hears it."""
        return b"".join(base64.b64decode(m["media"]["payload"]) for m in self.sent(self.media_event))
