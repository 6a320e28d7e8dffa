"""The transcripts API (DESIGN.md):

- `GET /v1/calls/{id}/transcript`: `{"segments": [{"speaker", "start", "end", "text", "confidence"}]}`, in
  the order they were said; anyone who may read the call (404 `call_not_found` otherwise).
- `POST /v1/calls/{id}/analysis`: run the post-call analysis again now (operators and admins); the answer
  is the call object with its new `analysis`; 409 `call_not_ended` while the call goes on.
- `GET /v1/transcripts/search?q=…`: calls whose transcript matches, newest first, paginated like every list,
  each `{"call": <call object>, "segment": <its first matching line>}`; 400 without `q`."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.generics import ListAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from calls.api import CallApiOutput
from calls.models import Call
from calls.services import call_get
from transcripts import selectors
from transcripts.announce import segment_object
from transcripts.services import call_analysis_run, transcript_for_call
from wordcab_admin.kernel.errors import DomainError

SEGMENT = inline_serializer(
    "TranscriptSegment",
    {
        "speaker": serializers.ChoiceField(choices=["agent", "caller"]),
        "start": serializers.FloatField(),
        "end": serializers.FloatField(),
        "text": serializers.CharField(),
        "confidence": serializers.FloatField(allow_null=True),
    },
)


class CallTranscriptApi(APIView):
    @extend_schema(
        operation_id="calls_transcript_retrieve",
        responses=inline_serializer("CallTranscript", {"segments": serializers.ListField(child=SEGMENT)}),
    )
    def get(self, request: Request, call_id: str) -> Response:
        call = call_get(call_id=call_id)
        return Response({"segments": [segment_object(segment) for segment in transcript_for_call(call=call)]})


class CallAnalysisApi(APIView):
    @extend_schema(
        operation_id="calls_analysis_run",
        request=None,
        responses=CallApiOutput,
        description="Run the post-call analysis again (it replaces the previous one); 409 `call_not_ended` "
        "while the call goes on.",
    )
    def post(self, request: Request, call_id: str) -> Response:
        call = call_get(call_id=call_id)
        call_analysis_run(call_id=call.public_id, force=True)
        return Response(CallApiOutput(call_get(call_id=call.public_id)).data)


class TranscriptSearchApi(ListAPIView):
    @extend_schema(
        operation_id="transcripts_search",
        parameters=[OpenApiParameter("q", str, required=True, description="words to find in what was said")],
        responses=inline_serializer("TranscriptMatch", {"call": CallApiOutput(), "segment": SEGMENT}),
    )
    def get(self, request: Request, *args, **kwargs) -> Response:
        return super().get(request, *args, **kwargs)

    def query(self) -> str:
        q = " ".join(str(self.request.query_params.get("q", "")).split())
        if not q:
            raise DomainError("Say what to search for: ?q=…", field="q", code="required")
        if len(q) > selectors.MAX_QUERY_CHARS or "\x00" in q:
            raise DomainError(f"At most {selectors.MAX_QUERY_CHARS} characters.", field="q")
        return q

    def get_queryset(self):
        if getattr(
            self, "swagger_fake_view", False
        ):  # drf-spectacular reading the view: no request to search
            return Call.objects.none()
        return selectors.calls_with_transcript_matching(self.query())

    def list(self, request: Request, *args, **kwargs) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        matches = selectors.first_matches(self.query(), page)
        results = [
            {"call": CallApiOutput(call).data, "segment": segment_object(matches[call.pk])}
            for call in page
            if call.pk in matches
        ]
        return self.get_paginated_response(results)
