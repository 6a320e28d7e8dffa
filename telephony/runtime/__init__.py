"""The agent runtime seam: what speaks to the caller on a media stream.

A runtime gets the caller's audio as 20 ms μ-law 8 kHz frames and answers through its `outlet` with
audio, marks and clears; a speech-to-text → LLM → text-to-speech pipeline plugs in here by subclassing
`AgentRuntime` and naming the class in the AGENT_RUNTIME setting. The media endpoint plays the call's
consent opener itself before `start()`, so no runtime can skip it or talk over it: a runtime's first
audio is queued behind the opener.

A runtime reports back through the seam too: when the caller asks not to be called again ("take me off
your list"), it calls `self.opt_out(said=...)`, which puts the number of the person on the line on the
do-not-call list with the call's id (telephony/runtime/opt_out.py; `opt_out_requested` is a keyword check
for the words).

And it writes the call's transcript (transcripts/, docs/transcripts.md):

- `await self.transcript(speaker="agent"|"caller", start=, end=, text=, confidence=None)` stores one line
  (start and end in seconds from the stream's start, which is the recording's timeline: `self.elapsed()`
  is that clock now, and `self.call.opener_seconds` is how long the consent opener plays before anything
  the runtime sends) and shows it live on `/ws/calls` as a `transcript.segment` message;
- `self.caller_utterance(utterance)` hands one utterance of the caller's audio
  (transcripts.stt.utterances: cut from the frames by `UtteranceDetector`) to the speech-to-text, which
  runs in a Celery worker and stores the caller's line when it is done; it returns at once, so the stream
  never waits on it. A runtime that has its own speech-to-text calls `transcript(speaker="caller", …)`
  with its text instead."""

from __future__ import annotations

import asyncio
import base64
import logging
import time
from dataclasses import dataclass, field
from typing import Protocol

from channels.db import database_sync_to_async
from django.conf import settings
from django.utils.module_loading import import_string

from compliance.models import DoNotCall
from telephony.runtime.opt_out import call_opt_out
from transcripts.services import transcript_segment_add
from transcripts.stt.utterances import Utterance
from transcripts.tasks import caller_utterance_transcribe
from wordcab_admin.kernel.errors import DomainError

log = logging.getLogger(__name__)


class MediaOutlet(Protocol):
    """Where a runtime's audio goes: the carrier's stream (and the recording)."""

    async def send_audio(self, ulaw: bytes) -> None:
        """μ-law 8 kHz audio of any length; played after whatever was sent before."""

    async def send_mark(self, name: str) -> None:
        """Ask to be told (`AgentRuntime.mark`) when everything sent so far has played."""

    async def clear(self) -> None:
        """Drop audio sent but not yet played (barge-in)."""


@dataclass(frozen=True)
class CallInfo:
    call_id: str
    agent_id: str
    agent_name: str
    language: str
    direction: str
    context: dict = field(default_factory=dict)
    instructions: str = ""
    opener_seconds: float = 0.0  # the consent opener queued before the runtime starts (0: none)


class AgentRuntime:
    """Subclass and override what you need; every method is called from the stream's event loop, one at
    a time, so a runtime needs no locks. Keep them quick: run blocking work in a thread."""

    def __init__(self, *, call: CallInfo, outlet: MediaOutlet):
        self.call = call
        self.outlet = outlet
        self._began = time.monotonic()  # the stream's start, near enough: made right after the stream began
        self._sending: set[asyncio.Future] = set()

    def elapsed(self) -> float:
        """Seconds since the stream started: the clock of the transcript's start and end."""
        return time.monotonic() - self._began

    async def start(self) -> None:
        """The stream is up (after the consent opener was queued)."""

    async def audio(self, frame: bytes) -> None:
        """One 20 ms frame (160 bytes μ-law) of the caller."""

    async def mark(self, name: str) -> None:
        """The carrier played everything up to the mark named `name`."""

    async def dtmf(self, digit: str) -> None:
        """The caller pressed a key."""

    async def stop(self) -> None:
        """The stream ended; release what you hold."""

    async def guidance(self, text: str) -> None:
        """A supervisor's whisper ("offer the Tuesday slot"), for the agent only: the caller never hears
        it (docs/supervise.md). A runtime with a language model adds it to its context; this one logs it."""
        log.info("call %s: a supervisor whispered: %s", self.call.call_id, text)

    # --- what a runtime reports (call these; no need to override them) -----------------------------------

    async def opt_out(self, *, said: str = "") -> DoNotCall | None:
        """The caller asked not to be called again ("take me off your list"; `said`: their words). Their
        number (the callee of an outbound call, the caller of an inbound one) goes on the do-not-call list
        with this call's id, audited. The entry, or None when the call has no number to list (an anonymous
        caller): logged, and the call goes on either way."""
        try:
            return await database_sync_to_async(call_opt_out)(call_id=self.call.call_id, said=said)
        except DomainError as exc:
            log.warning(
                "call %s: the caller's opt-out could not be listed: %s", self.call.call_id, exc.message
            )
            return None

    async def transcript(
        self, *, speaker: str, start: float, end: float, text: str, confidence: float | None = None
    ) -> None:
        """Store one line of the call's transcript and show it live (transcripts.services). A line that
        cannot be stored is logged; the call goes on."""
        try:
            await database_sync_to_async(transcript_segment_add)(
                call_id=self.call.call_id,
                speaker=speaker,
                start=start,
                end=end,
                text=text,
                confidence=confidence,
            )
        except DomainError as exc:
            log.warning("call %s: a transcript line was not stored: %s", self.call.call_id, exc.message)

    def caller_utterance(self, utterance: Utterance) -> None:
        """Send one utterance of the caller to the speech-to-text (the transcripts.caller_utterance_transcribe
        task), from a thread: the broker's round trip never holds the stream's event loop."""
        kwargs = {
            "call_id": self.call.call_id,
            "start": utterance.start,
            "end": utterance.end,
            "audio": base64.b64encode(utterance.ulaw).decode(),
        }
        sending = asyncio.get_running_loop().run_in_executor(None, _utterance_send, kwargs)
        self._sending.add(sending)  # keep it referenced until it is done
        sending.add_done_callback(self._sending.discard)


def _utterance_send(kwargs: dict) -> None:
    """Queue the speech-to-text of one utterance; with the broker away the line is lost (logged, without
    the audio): `retry=False`, so a broker outage costs the stream nothing."""
    try:
        caller_utterance_transcribe.apply_async(kwargs=kwargs, retry=False, ignore_result=True)
    except Exception as exc:  # noqa: BLE001 -- any broker failure: this line of the transcript is lost
        log.warning(
            "call %s: a caller utterance was not transcribed (broker unavailable: %s)", kwargs["call_id"], exc
        )


def runtime_for(*, call: CallInfo, outlet: MediaOutlet) -> AgentRuntime:
    runtime_class = import_string(settings.AGENT_RUNTIME)
    return runtime_class(call=call, outlet=outlet)
