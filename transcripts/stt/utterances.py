"""Cutting the caller's audio into utterances, as it arrives: what the speech-to-text is given.

An energy gate, cheap enough for every 20 ms frame of every call on a stream's event loop (one `audioop.rms`
in C per frame): a frame louder than VOICE_RMS is voice. An utterance opens at the first voiced frame (with
PRE_ROLL_SECONDS of what came before, so a soft first consonant is kept) and closes after
HANGOVER_SECONDS of quiet, or at MAX_SECONDS (a caller who never pauses is cut there, so the transcript
keeps up). One shorter than MIN_VOICED_SECONDS of voice (a click, a cough) is dropped."""

from __future__ import annotations

from dataclasses import dataclass

from transcripts.stt import SAMPLE_RATE
from wordcab_admin.kernel.audio import audioop, ulaw_to_pcm16

VOICE_RMS = 400  # of 32767: above a quiet line's hiss, below soft speech
PRE_ROLL_SECONDS = 0.2
HANGOVER_SECONDS = 0.7
MIN_VOICED_SECONDS = 0.2
MAX_SECONDS = 15.0


@dataclass(frozen=True)
class Utterance:
    start: float  # seconds from the stream's start
    end: float
    ulaw: bytes


class UtteranceDetector:
    def __init__(self) -> None:
        self._pre_roll: list[tuple[float, bytes]] = []
        self._frames: list[bytes] = []
        self._start = 0.0
        self._voiced = 0.0
        self._quiet = 0.0
        self._length = 0.0

    @property
    def open(self) -> bool:
        return bool(self._frames)

    def feed(self, ulaw: bytes, *, at: float) -> Utterance | None:
        """One frame of the caller's audio starting `at` seconds into the stream; the utterance it ends,
        if any."""
        seconds = len(ulaw) / SAMPLE_RATE
        voiced = audioop.rms(ulaw_to_pcm16(ulaw), 2) >= VOICE_RMS
        if not self._frames:
            if not voiced:
                self._keep_pre_roll(ulaw, at, seconds)
                return None
            self._start = self._pre_roll[0][0] if self._pre_roll else at
            self._frames = [frame for _at, frame in self._pre_roll]
            self._length = sum(len(frame) for frame in self._frames) / SAMPLE_RATE
            self._pre_roll = []
        self._frames.append(ulaw)
        self._length += seconds
        if voiced:
            self._voiced += seconds
            self._quiet = 0.0
        else:
            self._quiet += seconds
        if self._quiet >= HANGOVER_SECONDS or self._length >= MAX_SECONDS:
            return self.flush()
        return None

    def flush(self) -> Utterance | None:
        """End the open utterance now (the stream stopped); None when nothing worth hearing was open."""
        frames, voiced, start, length, quiet = (
            self._frames,
            self._voiced,
            self._start,
            self._length,
            self._quiet,
        )
        self._frames, self._voiced, self._quiet, self._length = [], 0.0, 0.0, 0.0
        if not frames or voiced < MIN_VOICED_SECONDS:
            return None
        return Utterance(start=round(start, 3), end=round(start + length - quiet, 3), ulaw=b"".join(frames))

    def _keep_pre_roll(self, ulaw: bytes, at: float, seconds: float) -> None:
        self._pre_roll.append((at, ulaw))
        while len(self._pre_roll) * seconds > PRE_ROLL_SECONDS:
            self._pre_roll.pop(0)
