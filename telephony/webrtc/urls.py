from django.urls import path

from telephony.webrtc import api

urlpatterns = [
    path("webrtc/calls", api.WebrtcCallCreateApi.as_view(), name="webrtc-calls"),
    path("webrtc/calls/<str:call_id>/hangup", api.WebrtcCallHangupApi.as_view(), name="webrtc-call-hangup"),
]
