"""Writing transcripts and analyses: the only code that creates TranscriptSegment and CallAnalysis rows.

- `transcript_segment_add`: one line of a call's transcript, numbered after the call's last one, announced
  to live viewers after commit (transcripts/announce.py). Called by the agent runtime seam
  (telephony/runtime: `AgentRuntime.transcript`) for the agent's lines and by the caller's speech-to-text
  task (transcripts/tasks.py) for the caller's.
- `call_analysis_run`: the post-call analysis (transcripts/analysis/), stored as the call's one
  CallAnalysis row: running it again replaces the result, never adds a row."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from calls.models import Call, CallStatus
from transcripts.analysis import AnalysisInput, analyser_load
from transcripts.announce import call_analysed_on_commit, segment_added_on_commit
from transcripts.models import CallAnalysis, Speaker, TranscriptSegment
from wordcab_admin.kernel.errors import DomainError, NotFound

log = logging.getLogger(__name__)

MAX_TEXT_CHARS = 4000
# Two writers numbering the same call's next line at once (agent and caller): the loser of the unique
# (call, seq) constraint reads the new last line and tries again.
SEQ_ATTEMPTS = 5


class CallNotEnded(DomainError):
    status, code = 409, "call_not_ended"


def _call_for(call_id: str) -> Call:
    try:
        return Call.objects.select_related("agent", "campaign").get(public_id=call_id)
    except Call.DoesNotExist:
        raise NotFound(f"No call {call_id}.", code="call_not_found") from None


def transcript_segment_add(
    *, call_id: str, speaker: str, start: float, end: float, text: str, confidence: float | None = None
) -> TranscriptSegment | None:
    """Store one line of the call `call_id` (public id); None when the text is blank (nothing was said)."""
    text = " ".join(text.split())[:MAX_TEXT_CHARS]
    if not text:
        return None
    if speaker not in Speaker.values:
        raise DomainError(f"speaker must be one of {', '.join(Speaker.values)}", field="speaker")
    call = _call_for(call_id)
    start = max(0.0, float(start))
    end = max(start, float(end))
    for attempt in range(SEQ_ATTEMPTS):
        try:
            with transaction.atomic():
                last = call.transcript_segments.aggregate(last=Max("seq"))["last"]
                segment = TranscriptSegment.objects.create(
                    call=call,
                    seq=(last or 0) + 1,
                    speaker=speaker,
                    start=start,
                    end=end,
                    text=text,
                    confidence=confidence,
                )
                segment_added_on_commit(segment)
                return segment
        except IntegrityError:
            if attempt == SEQ_ATTEMPTS - 1:
                raise
    return None  # unreachable: the loop returns or raises


def transcript_for_call(*, call: Call) -> list[TranscriptSegment]:
    return list(call.transcript_segments.order_by("start", "seq"))


def call_analysis_run(*, call_id: str, force: bool = False) -> CallAnalysis | None:
    """Analyse the ended call `call_id` with the CALL_ANALYSER and store the result as its one analysis.

    Without `force`, a call already analysed is left as it is (the automatic run after the call's end may
    be announced more than once); with it (the re-run button, POST /v1/calls/{id}/analysis) the analysis
    is made again and replaces the old one. Raises CallNotEnded for a call still going on."""
    call = _call_for(call_id)
    if call.status not in CallStatus.terminal():
        raise CallNotEnded(f"The call {call_id} has not ended yet.")
    if not force and CallAnalysis.objects.filter(call=call).exists():
        return None
    segments = transcript_for_call(call=call)
    analyser = analyser_load(settings.CALL_ANALYSER)
    result = analyser.analyse(
        AnalysisInput(
            status=call.status,
            end_reason=call.end_reason,
            duration=call.duration,
            lines=[(segment.speaker, segment.text) for segment in segments],
        )
    )
    analysis, _created = CallAnalysis.objects.update_or_create(
        call=call,
        defaults={
            "summary": result.summary,
            "outcome": result.outcome,
            "sentiment": result.sentiment,
            "analyser": settings.CALL_ANALYSER,
        },
    )
    call_analysed_on_commit(call.public_id)
    return analysis


# The sweep looks back this far: older calls without an analysis stay so (a deployment that turned
# analysis on later does not analyse its whole history at once; POST /v1/calls/{id}/analysis does one).
SWEEP_LOOKBACK = timedelta(days=1)
SWEEP_BATCH = 200


def calls_awaiting_analysis(*, settled_for: timedelta) -> list[str]:
    """Public ids of calls that ended more than `settled_for` ago (within SWEEP_LOOKBACK) and have no
    analysis: those whose task was lost (broker away when they ended, a worker that died)."""
    now = timezone.now()
    return list(
        Call.objects.filter(
            status__in=CallStatus.terminal(),
            ended_at__lte=now - settled_for,
            ended_at__gte=now - SWEEP_LOOKBACK,
            analysis__isnull=True,
        )
        .order_by("ended_at")
        .values_list("public_id", flat=True)[:SWEEP_BATCH]
    )
