"""Speech-to-text for the caller's side of a call, pluggable: the SPEECH_TO_TEXT setting names a
`SpeechToText` class by dotted path (empty: no caller transcript).

The default, `transcripts.stt.pocketsphinx_engine.PocketSphinxSpeechToText`, runs offline on the English
model that ships inside the pocketsphinx wheel: nothing is downloaded at run time. A better engine (for
example faster-whisper, with a model directory the operator supplies) plugs in by subclassing
`SpeechToText` in any package and naming it in SPEECH_TO_TEXT; docs/transcripts.md shows one.

An engine takes one utterance of telephone audio (μ-law, 8 kHz, mono: what every media stream carries)
and answers a `Transcription`. It runs in a Celery worker (transcripts/tasks.py), never on a media
stream's event loop: decoding is CPU-bound and pocketsphinx holds the GIL while it decodes."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from django.conf import settings
from django.utils.module_loading import import_string

SAMPLE_RATE = 8000


@dataclass(frozen=True)
class Transcription:
    text: str  # "" when nothing was recognised
    confidence: float | None  # 0..1 when the engine can tell


class SpeechToText:
    """One instance per worker process, reused for every utterance; `transcribe` may be called from
    several threads at once (the worker's thread pool), so an engine keeps per-thread state itself."""

    def transcribe(self, ulaw: bytes) -> Transcription:
        raise NotImplementedError


@cache
def _engine(dotted_path: str) -> SpeechToText:
    return import_string(dotted_path)()


def speech_to_text() -> SpeechToText | None:
    """The configured engine, loaded once per process; None when SPEECH_TO_TEXT is empty."""
    dotted_path = settings.SPEECH_TO_TEXT
    return _engine(dotted_path) if dotted_path else None
