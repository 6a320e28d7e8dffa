from django.urls import path

from calls import api

urlpatterns = [
    path("agents/<str:agent_id>/calls", api.AgentCallCreateApi.as_view(), name="api-agent-calls"),
    path("calls", api.CallListApi.as_view(), name="api-calls"),
    path("calls/<str:call_id>", api.CallDetailApi.as_view(), name="api-call"),
    path("calls/<str:call_id>/events", api.CallEventsApi.as_view(), name="api-call-events"),
    path("calls/<str:call_id>/hangup", api.CallHangupApi.as_view(), name="api-call-hangup"),
]
