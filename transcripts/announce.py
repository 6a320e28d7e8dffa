"""Transcript lines, announced once they are committed.

transcripts stands below live, so it sends a Django signal rather than calling the broadcaster; live
connects its receiver in `LiveConfig.ready()`. Sent from `transaction.on_commit`, in the order the lines
were stored, so a rolled-back line reaches nobody.

- `transcript_segments_added(segments=[{"call_id", "agent_id", "campaign_id", "segment": {…}}, …])`: the
  public ids the live filters look at, and the segment as GET /v1/calls/{id}/transcript renders it.
- `call_analysed(call_ids=[…])`: a call's analysis was stored; webhooks then send `call.ended` with the
  transcript and the analysis."""

from django.db import transaction
from django.dispatch import Signal

from transcripts.models import TranscriptSegment

transcript_segments_added = Signal()
# call_analysed(call_ids=[public id, …]): a call's post-call analysis was stored (again, when re-run).
call_analysed = Signal()


def segment_object(segment: TranscriptSegment) -> dict:
    """One line as the API and /ws/calls render it (DESIGN.md)."""
    return {
        "speaker": segment.speaker,
        "start": round(segment.start, 3),
        "end": round(segment.end, 3),
        "text": segment.text,
        "confidence": segment.confidence,
    }


def segment_added_on_commit(segment: TranscriptSegment) -> None:
    call = segment.call
    announced = {
        "call_id": call.public_id,
        "agent_id": call.agent.public_id,
        "campaign_id": call.campaign.public_id if call.campaign_id else None,
        "segment": segment_object(segment),
    }
    transaction.on_commit(
        lambda: transcript_segments_added.send(sender=TranscriptSegment, segments=[announced]), robust=True
    )


def call_analysed_on_commit(call_public_id: str) -> None:
    transaction.on_commit(
        lambda: call_analysed.send(sender=TranscriptSegment, call_ids=[call_public_id]), robust=True
    )
