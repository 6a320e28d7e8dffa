"""What each event's `data` holds (docs/webhooks.md lists them).

`call.ended` carries the call object with its `analysis` and its `transcript` (`{"segments": [...]}`), made
once the post-call analysis is stored (transcripts stands below webhooks)."""

from __future__ import annotations

from calls.api import CallApiOutput
from calls.models import CallStatus
from calls.services import calls_for_display
from campaigns.models import Campaign
from campaigns.selectors import campaign_object
from recordings.models import Recording
from transcripts.announce import segment_object
from transcripts.models import TranscriptSegment
from wordcab_admin.kernel.public_url import public_url


def call_data(call: dict) -> dict:
    return dict(call)


def ended_call_objects(call_ids: list[str]) -> list[dict]:
    """The call objects (with `analysis`) of these ended calls, as the API renders them."""
    calls = calls_for_display().filter(public_id__in=call_ids, status__in=CallStatus.terminal())
    return [CallApiOutput(call).data for call in calls]


def call_ended_data(call: dict) -> dict:
    """The call object with its `analysis` and its `transcript` as GET /v1/calls/{id}/transcript has it."""
    segments = TranscriptSegment.objects.filter(call__public_id=call["id"])  # in order: the model's ordering
    return {**call, "transcript": {"segments": [segment_object(segment) for segment in segments]}}


def recording_ready_data(call: dict) -> dict:
    """The recording's facts, its absolute download URL (Bearer-authenticated, as the API) and the call."""
    recording = (
        Recording.objects.filter(call__public_id=call["id"])
        .values("duration_seconds", "size_bytes", "sha256", "stored_at")
        .first()
    ) or {}
    stored_at = recording.get("stored_at")
    return {
        "call_id": call["id"],
        "recording_url": public_url(call["recording_url"]) if call.get("recording_url") else None,
        "duration_seconds": recording.get("duration_seconds"),
        "size_bytes": recording.get("size_bytes"),
        "sha256": recording.get("sha256") or None,
        "stored_at": stored_at.isoformat().replace("+00:00", "Z") if stored_at else None,
        "call": call,
    }


def campaign_completed_data(campaign: Campaign) -> dict:
    return campaign_object(campaign)
