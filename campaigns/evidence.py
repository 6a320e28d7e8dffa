"""A campaign's evidence: one zip holding every call's evidence record (recordings/evidence.py) as JSON,
and an index (CSV) a person can open first. Written to a temporary file that spills to disk past a few
megabytes, so a large campaign is never held whole in memory."""

from __future__ import annotations

import csv
import io
import json
import tempfile
import zipfile
from typing import IO

from calls.models import Call
from campaigns.models import Campaign
from recordings.evidence import call_evidence

SPOOL_IN_MEMORY_BYTES = 8 * 1024 * 1024
INDEX_COLUMNS = ["call_id", "phone_number", "status", "end_reason", "cleared", "opener_delivered_at",
                 "recording_status", "recording_sha256", "expires_at", "deleted_at", "file"]  # fmt: skip


def campaign_evidence_zip(campaign: Campaign) -> IO[bytes]:
    """The zip, rewound and ready to send."""
    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY_BYTES)  # noqa: SIM115 -- handed to the response
    index = io.StringIO()
    rows = csv.DictWriter(index, fieldnames=INDEX_COLUMNS)
    rows.writeheader()
    calls = Call.objects.filter(campaign=campaign).select_related("agent", "campaign").order_by("id")
    with zipfile.ZipFile(spool, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for call in calls.iterator(chunk_size=500):
            evidence = call_evidence(call)
            name = f"calls/{call.public_id}.json"
            archive.writestr(name, json.dumps(evidence, indent=2, ensure_ascii=False))
            rows.writerow(_index_row(evidence, name))
        archive.writestr("index.csv", index.getvalue())
    spool.seek(0)
    return spool


def _index_row(evidence: dict, name: str) -> dict:
    call, recording, decision = evidence["call"], evidence["recording"] or {}, evidence["decision"] or {}
    return {
        "call_id": call["id"],
        "phone_number": call["phone_number"],
        "status": call["status"],
        "end_reason": call["end_reason"],
        "cleared": decision.get("cleared", ""),
        "opener_delivered_at": evidence["consent"]["delivered_at"] or "",
        "recording_status": recording.get("status", ""),
        "recording_sha256": recording.get("sha256") or "",
        "expires_at": recording.get("expires_at") or "",
        "deleted_at": recording.get("deleted_at") or "",
        "file": name,
    }
