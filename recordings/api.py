"""`GET /v1/calls/{call_id}/recording`: the call's audio (audio/wav), with HTTP Range support.

Operators, compliance officers and admins (PLAYBACK). A viewer may see the call but not hear it: 403,
because the call itself is visible to them (the "invisible means absent" 404 of docs/media.md is for objects a user
may not see at all). 404 when the call has no stored recording (none, still uploading, or deleted); a recording that failed
is a 404 `recording_failed` whose message and `reason` say why.
Every playback and download is audited: a request from byte 0 (a new playback; the browser's later
range requests while seeking are not new listens) writes `recording.played`, or `recording.downloaded`
with `?download=1`, which also asks the browser to save the file."""

import re

from django.http import Http404, HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.request import Request
from rest_framework.views import APIView

from calls.models import Call
from recordings import services as recordings
from wordcab_admin.kernel.audit import audit_record
from wordcab_admin.kernel.errors import DomainError, NotFound
from wordcab_admin.kernel.fastpath.asgi_streaming import streaming_response
from wordcab_admin.kernel.roles import Capability

RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


class RecordingUnavailable(DomainError):
    status, code = 503, "recording_store_unavailable"


class RecordingFailedError(NotFound):
    """A 404 that says why: the recording was lost for good (docs/media.md lists the reasons)."""

    code = "recording_failed"


class RangeNotSatisfiable(Exception):
    """A Range header outside the recording: answered 416."""


def parse_range(header: str, size: int) -> tuple[int, int] | None:
    """(start, end) inclusive for a single `bytes=` range; None to send the whole file.

    Raises RangeNotSatisfiable for a range that is malformed or outside the file."""
    header = header.strip()
    if not header or not header.startswith("bytes="):
        return None  # another unit: RFC 9110 lets us ignore it
    if "," in header:
        return None  # several ranges: send the whole file rather than multipart
    match = RANGE.match(header.replace(" ", ""))
    if not match or match.groups() == ("", ""):
        raise RangeNotSatisfiable(header)
    first, last = match.groups()
    if first == "":  # the last N bytes
        length = int(last)
        if length == 0:
            raise RangeNotSatisfiable(header)
        return max(0, size - length), size - 1
    start = int(first)
    end = min(int(last), size - 1) if last else size - 1
    if start >= size or end < start:
        raise RangeNotSatisfiable(header)
    return start, end


class CallRecordingApi(APIView):
    read_capability = Capability.PLAYBACK

    @extend_schema(
        operation_id="calls_recording_retrieve",
        parameters=[
            OpenApiParameter("download", bool, description="Save as a file (audited as a download)"),
            OpenApiParameter("Range", str, OpenApiParameter.HEADER, description="bytes=start-end"),
        ],
        responses={
            (200, "audio/wav"): OpenApiResponse(OpenApiTypes.BINARY, description="The whole WAV"),
            (206, "audio/wav"): OpenApiResponse(OpenApiTypes.BINARY, description="The requested range"),
            416: OpenApiResponse(description="Range not satisfiable; Content-Range: bytes */size"),
        },
    )
    def get(self, request: Request, call_id: str) -> HttpResponse:
        call = Call.objects.select_related("recording").filter(public_id=call_id).first()
        if call is None:
            raise Http404(f"No call {call_id}")
        try:
            recording = recordings.stored_recording(call)
        except recordings.RecordingFailed as failed:
            raise RecordingFailedError(f"Recording failed: {failed.reason}", reason=failed.reason) from None
        except recordings.RecordingGone:
            raise Http404(f"{call_id} has no recording") from None
        size = recording.size_bytes or 0
        try:
            byte_range = parse_range(request.headers.get("Range", ""), size)
        except RangeNotSatisfiable:
            response = HttpResponse(status=416)
            response["Content-Range"] = f"bytes */{size}"
            return response
        start, end = byte_range or (0, size - 1)
        download = request.query_params.get("download") in {"1", "true", "yes"}
        if start == 0:
            audit_record(
                actor=request.user,
                action="recording.downloaded" if download else "recording.played",
                object_type="call",
                object_id=call.public_id,
                after={"sha256": recording.sha256, "range": request.headers.get("Range", "")},
            )
        try:
            chunks = recordings.recording_read(recording, start=start, end=end)
            first = next(chunks, b"")  # reach the store now, so that an outage is an error, not a cut stream
        except recordings.RecordingStoreUnavailable as exc:
            raise RecordingUnavailable("The recording store is unreachable; try again shortly") from exc
        response = streaming_response(
            request,
            _prepend(first, chunks),
            batch=1,
            status=206 if byte_range else 200,
            content_type="audio/wav",
        )
        response["Content-Length"] = str(end - start + 1)
        response["Accept-Ranges"] = "bytes"
        response["Cache-Control"] = "private, no-store"
        response["ETag"] = f'"{recording.sha256}"'
        if byte_range:
            response["Content-Range"] = f"bytes {start}-{end}/{size}"
        disposition = "attachment" if download else "inline"
        response["Content-Disposition"] = f'{disposition}; filename="{call.public_id}.wav"'
        return response


def _prepend(first: bytes, rest):
    if first:
        yield first
    yield from rest
