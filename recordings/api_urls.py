from django.urls import path

from recordings.api import CallRecordingApi

urlpatterns = [
    path("calls/<str:call_id>/recording", CallRecordingApi.as_view(), name="api-call-recording"),
]
