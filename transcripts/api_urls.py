from django.urls import path

from transcripts.api import CallAnalysisApi, CallTranscriptApi, TranscriptSearchApi

urlpatterns = [
    path("calls/<str:call_id>/transcript", CallTranscriptApi.as_view(), name="api-call-transcript"),
    path("calls/<str:call_id>/analysis", CallAnalysisApi.as_view(), name="api-call-analysis"),
    path("transcripts/search", TranscriptSearchApi.as_view(), name="api-transcripts-search"),
]
