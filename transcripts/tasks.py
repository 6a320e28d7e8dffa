"""Celery tasks for transcripts: the caller's speech-to-text, one task per utterance, and the post-call
analysis.

Why a task per utterance rather than a thread in the web process: decoding is CPU-bound and pocketsphinx
holds the GIL while it decodes (measured: a ticking thread got 24 of ~22,000 ticks during a decode), so in
the web process it would stall every media stream on that event loop. In a worker it runs on its own
core(s), scales with the workers, and a stream only pays for sending the message (off its loop too:
telephony/runtime `AgentRuntime.caller_utterance`). The audio travels base64-encoded (μ-law, 8 kHz: an
utterance of at most 15 s is at most 120 kB)."""

import base64
import logging
from datetime import timedelta

from celery import shared_task

from transcripts import services
from transcripts.stt import speech_to_text
from wordcab_admin.kernel.errors import DomainError

log = logging.getLogger(__name__)


@shared_task(name="transcripts.caller_utterance_transcribe")
def caller_utterance_transcribe(call_id: str, start: float, end: float, audio: str) -> str:
    """The caller's words of one utterance (μ-law 8 kHz, base64), stored as a caller line of the call."""
    engine = speech_to_text()
    if engine is None:
        return ""
    heard = engine.transcribe(base64.b64decode(audio))
    try:
        services.transcript_segment_add(
            call_id=call_id,
            speaker="caller",
            start=start,
            end=end,
            text=heard.text,
            confidence=heard.confidence,
        )
    except DomainError as exc:  # the call was deleted meanwhile
        log.warning("call %s: the caller's line was not stored: %s", call_id, exc.message)
    return heard.text


@shared_task(name="transcripts.call_analyse", acks_late=True)
def call_analyse(call_id: str, force: bool = False) -> None:
    """The post-call analysis of an ended call (services.call_analysis_run)."""
    try:
        services.call_analysis_run(call_id=call_id, force=force)
    except DomainError as exc:  # gone, or not ended (an announcement of a call that was then reopened)
        log.warning("call %s: not analysed: %s", call_id, exc.message)


@shared_task(name="transcripts.analysis_sweep", acks_late=True)
def analysis_sweep() -> int:
    """Analyse the recently ended calls whose analysis task was lost (wordcab_admin/schedules.py)."""
    call_ids = services.calls_awaiting_analysis(settled_for=timedelta(minutes=2))
    for call_id in call_ids:
        call_analyse(call_id)
    return len(call_ids)
