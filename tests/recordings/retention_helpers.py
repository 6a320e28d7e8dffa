"""Stored recordings made quickly for the retention tests: a call, its object in the recordings store (local
files or SeaweedFS, whichever the test's fixture configured) and its row, stored `days_ago` days ago with
the expiry the policies give it."""

import hashlib
from datetime import timedelta

from django.core.files.base import ContentFile
from django.utils import timezone

from calls.models import Call, CallStatus
from recordings import services as recordings
from recordings.models import Recording, RecordingStatus
from tests.factories import AgentFactory, CallFactory

CALLEE = "+14155550123"
CALLER = "+14155559876"


def stored_recording(
    *,
    days_ago: float = 40,
    agent=None,
    jurisdiction: str = "US-CA",
    to_number: str = CALLEE,
    from_number: str = CALLER,
    campaign=None,
) -> Recording:
    call = CallFactory(
        agent=agent or AgentFactory(),
        jurisdiction=jurisdiction,
        to_number=to_number,
        from_number=from_number,
        campaign=campaign,
        status=CallStatus.COMPLETED,
        record=True,
    )
    audio = b"RIFF" + call.public_id.encode() * 8
    key = recordings.recordings_storage().save(f"calls/retention/{call.public_id}.wav", ContentFile(audio))
    recording = Recording(
        call=call,
        status=RecordingStatus.STORED,
        storage_key=key,
        size_bytes=len(audio),
        sha256=hashlib.sha256(audio).hexdigest(),
        stored_at=timezone.now() - timedelta(days=days_ago),
    )
    recording.expires_at = recordings.recording_expiry(recording)
    recording.save()
    return recording


def in_store(recording: Recording) -> bool:
    return recordings.recordings_storage().exists(recording.storage_key)


def fresh(recording: Recording) -> Recording:
    return Recording.objects.select_related("call").get(pk=recording.pk)


def status_of(recording: Recording) -> str:
    return Recording.objects.values_list("status", flat=True).get(pk=recording.pk)


def call_of(recording: Recording) -> Call:
    return Call.objects.select_related("agent", "campaign", "recording").get(pk=recording.call_id)
