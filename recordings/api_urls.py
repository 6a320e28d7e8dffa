from django.urls import path

from recordings.api import CallRecordingApi
from recordings.evidence_api import CallEvidenceApi
from recordings.retention_api import CallRetentionApi, RetentionSweepApi

urlpatterns = [
    path("calls/<str:call_id>/recording", CallRecordingApi.as_view(), name="api-call-recording"),
    path("calls/<str:call_id>/evidence", CallEvidenceApi.as_view(), name="api-call-evidence"),
    path("calls/<str:call_id>/retention", CallRetentionApi.as_view(), name="api-call-retention"),
    path("retention/sweep", RetentionSweepApi.as_view(), name="api-retention-sweep"),
]
