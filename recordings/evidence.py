"""A call's evidence record, for a compliance officer who must answer for any call: why we were allowed to
place it (its "cleared to call" decision), what the caller heard first and the proof it was heard (the
opener and the echo of its mark), where its recording is (store, key, sha256), and when it will be, or
when it was, deleted (its retention rule, the holds that keep it, its deletion receipt).

Served as `GET /v1/calls/{id}/evidence`, as a printable page, and (campaigns) zipped for every call of a
campaign. It reads what the call, its recording and the retention records already hold: a record of
facts, never recomputed (the decision is the one stored when the call was created)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.utils import timezone

from calls.models import Call
from calls.serializers import call_object
from recordings.models import Recording, RecordingStatus
from recordings.object_delete import batch_deleter_for
from recordings.retention import RecordingRetention, recording_retention
from recordings.services import recordings_storage

EVIDENCE_VERSION = 1


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat().replace("+00:00", "Z") if moment else None


def call_evidence(call: Call, *, now: datetime | None = None) -> dict[str, Any]:
    """The evidence record of `call` (loaded with its agent and campaign), as JSON-able data."""
    facts = call_object(call)
    recording = Recording.objects.select_related("call__campaign").filter(call=call).first()
    return {
        "version": EVIDENCE_VERSION,
        "generated_at": _iso(now or timezone.now()),
        "call": {key: facts[key] for key in _CALL_FACTS},
        "decision": call.decision,
        "consent": _consent(call),
        "recording": _recording(recording) if recording else None,
    }


_CALL_FACTS = (
    "id", "agent_id", "campaign_id", "direction", "from_number", "phone_number", "status", "end_reason",
    "error", "jurisdiction", "record", "max_duration", "created_at", "answered_at", "ended_at", "duration",
)  # fmt: skip


def _consent(call: Call) -> dict[str, Any]:
    delivered = call.consent_delivered_at
    return {
        "opener": call.consent_opener,  # the snapshot played first: jurisdiction, text, audio hash
        "delivered_at": _iso(delivered),
        "proof": "The media stream's mark after the opener was echoed back: the caller's side played it."
        if delivered
        else "No proof: the opener's mark never came back (the call ended first, or no opener played).",
    }


def _recording(recording: Recording) -> dict[str, Any]:
    retention = recording_retention(recording)
    stored = recording.status == RecordingStatus.STORED
    return {
        "status": recording.status,
        "sha256": recording.sha256 or None,
        "size_bytes": recording.size_bytes,
        "duration_seconds": recording.duration_seconds,
        "store": batch_deleter_for(recordings_storage()).store if stored else None,
        "storage_key": recording.storage_key or None,
        "stored_at": _iso(recording.stored_at),
        "expires_at": _iso(recording.expires_at),
        "deleted_at": _iso(recording.deleted_at),
        "failure_reason": recording.failure_reason or None,
        "retention": _retention(retention),
        "legal_holds": [
            _hold(hold, why) for hold, why in zip(retention.holds, retention.why_kept, strict=True)
        ],
        "deletion_receipt": _receipt(retention),
    }


def _retention(retention: RecordingRetention) -> dict[str, Any]:
    choice = retention.retention
    return {
        "days": choice.days,
        "scope": choice.scope,
        "policy_id": choice.policy.public_id if choice.policy else None,
    }


def _hold(hold, why: str) -> dict[str, Any]:
    return {
        "id": hold.public_id,
        "why": why,
        "reason": hold.reason,
        "placed_by": hold.placed_by.get_username() if hold.placed_by else None,
        "placed_at": _iso(hold.created_at),
    }


def _receipt(retention: RecordingRetention) -> dict[str, Any] | None:
    receipt = retention.receipt
    if receipt is None:
        return None
    return {
        "id": receipt.public_id,
        "store": receipt.store,
        "storage_key": receipt.storage_key,
        "sha256": receipt.sha256,
        "size_bytes": receipt.size_bytes,
        "deleted_at": _iso(receipt.deleted_at),
        "retention_days": receipt.retention_days,
        "retention_scope": receipt.retention_scope,
        "retention_policy_id": receipt.retention_policy_id or None,
        "requested_by": receipt.requested_by,
    }
