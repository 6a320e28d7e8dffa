"""The built-in demo runtime: a scripted greeting spoken by the local TTS, then it echoes the caller.

Heard on a call: the consent opener (played by the media endpoint), the greeting, then the caller's own
voice back, and the digit read out when they press a key. Enough to try a number end to end without any
speech service.

Its transcript: each line it speaks is an agent line, timed where it plays (after the consent opener and
whatever it queued before); the caller's audio is cut into utterances (transcripts.stt.utterances) and each
one goes to the speech-to-text (SPEECH_TO_TEXT; none when it is set to `none`)."""

import asyncio
import logging
from functools import lru_cache

from django.conf import settings

from compliance.tts import synthesize
from telephony.runtime import AgentRuntime
from transcripts.stt import SAMPLE_RATE
from transcripts.stt.utterances import UtteranceDetector

log = logging.getLogger(__name__)

GREETING_MARK = "greeting"


@lru_cache(maxsize=64)
def _speech(text: str, language: str) -> bytes:
    return synthesize(text, language=language)


def greeting_text(*, agent_name: str, context: dict) -> str:
    name = str(context.get("customer_name") or context.get("name") or "").strip()
    hello = f"Hello {name}." if name else "Hello."
    return f"{hello} This is {agent_name}, a demo line. From now on I repeat what you say."


class DemoRuntime(AgentRuntime):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.echoing = False
        self.agent_audio_until = self.call.opener_seconds  # where what it sends next starts playing
        self.caller_seconds = 0.0  # the caller's audio heard so far
        self.utterances = UtteranceDetector() if settings.SPEECH_TO_TEXT else None

    async def say(self, text: str) -> None:
        audio = await asyncio.to_thread(_speech, text, self.call.language)
        start = max(self.elapsed(), self.agent_audio_until)
        self.agent_audio_until = start + len(audio) / SAMPLE_RATE
        await self.outlet.send_audio(audio)
        await self.transcript(
            speaker="agent", start=start, end=self.agent_audio_until, text=text, confidence=1.0
        )

    async def start(self) -> None:
        await self.say(greeting_text(agent_name=self.call.agent_name, context=self.call.context))
        await self.outlet.send_mark(GREETING_MARK)

    async def mark(self, name: str) -> None:
        if name == GREETING_MARK:
            self.echoing = True  # from now on the caller hears themselves

    async def audio(self, frame: bytes) -> None:
        at, self.caller_seconds = self.caller_seconds, self.caller_seconds + len(frame) / SAMPLE_RATE
        if self.utterances is not None and (utterance := self.utterances.feed(frame, at=at)):
            self.caller_utterance(utterance)
        if self.echoing:
            await self.outlet.send_audio(frame)

    async def dtmf(self, digit: str) -> None:
        self.echoing = False
        await self.outlet.clear()
        self.agent_audio_until = self.elapsed()  # what was queued is dropped
        await self.say(f"You pressed {digit}.")
        await self.outlet.send_mark(GREETING_MARK)

    async def stop(self) -> None:
        if self.utterances is not None and (utterance := self.utterances.flush()):
            self.caller_utterance(utterance)


class EchoRuntime(AgentRuntime):
    """Every caller frame straight back, from the first one: for latency checks and the media benchmark."""

    async def audio(self, frame: bytes) -> None:
        await self.outlet.send_audio(frame)
