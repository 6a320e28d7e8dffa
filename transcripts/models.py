"""What was said on a call and what it came to.

- `TranscriptSegment`: one line of a call's transcript, the agent's (from the runtime's own text) or the
  caller's (from speech-to-text), with its place in the call in seconds from the stream's start (the
  recording's timeline, so the call page's player can seek to it). `seq` is the order lines were stored
  in, unique per call; the transcript reads in `start` order (a caller's line is stored once speech-to-text
  is done with it, after agent lines that came later).
- `CallAnalysis`: the post-call analysis (summary, outcome, sentiment), at most one per call. Its reverse
  accessor `call.analysis` is how calls renders it without importing this app."""

from django.db import models

from calls.models import Call


class Speaker(models.TextChoices):
    AGENT = "agent"
    CALLER = "caller"


class Outcome(models.TextChoices):
    APPOINTMENT_CONFIRMED = "appointment_confirmed"
    RESCHEDULED = "rescheduled"
    CALLBACK_REQUESTED = "callback_requested"
    NOT_INTERESTED = "not_interested"
    VOICEMAIL = "voicemail"
    NO_CONVERSATION = "no_conversation"
    OTHER = "other"


class TranscriptSegment(models.Model):
    call = models.ForeignKey(Call, on_delete=models.CASCADE, related_name="transcript_segments")
    seq = models.PositiveIntegerField()
    speaker = models.CharField(max_length=8, choices=Speaker.choices)
    start = models.FloatField()
    end = models.FloatField()
    text = models.TextField()
    confidence = models.FloatField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["call", "start", "seq"]
        constraints = [models.UniqueConstraint(fields=["call", "seq"], name="transcript_segment_seq_unique")]
        # The PostgreSQL full-text index (a GIN over to_tsvector('english', text)) is made by the migration
        # on PostgreSQL only: transcripts/migrations/0001_initial.py.

    def __str__(self) -> str:
        return f"{self.call_id}#{self.seq} {self.speaker}: {self.text[:40]}"


class CallAnalysis(models.Model):
    call = models.OneToOneField(Call, on_delete=models.CASCADE, related_name="analysis")
    summary = models.TextField()
    outcome = models.CharField(max_length=32, choices=Outcome.choices)
    sentiment = models.FloatField()  # -1 (negative) .. 1 (positive)
    analyser = models.CharField(max_length=200)  # the dotted path that produced it
    analysed_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.call_id}: {self.outcome} ({self.sentiment:+.2f})"
