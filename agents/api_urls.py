from django.urls import path

from agents import api

urlpatterns = [
    path("agents", api.AgentListApi.as_view(), name="api-agents"),
    path("agents/<str:agent_id>", api.AgentDetailApi.as_view(), name="api-agent"),
    path("agents/<str:agent_id>/disable", api.AgentDisableApi.as_view(), name="api-agent-disable"),
    path("agents/<str:agent_id>/enable", api.AgentEnableApi.as_view(), name="api-agent-enable"),
    path("numbers", api.NumberListApi.as_view(), name="api-numbers"),
    path("numbers/bulk", api.NumberBulkApi.as_view(), name="api-numbers-bulk"),
    path("numbers/<str:number_id>", api.NumberDetailApi.as_view(), name="api-number"),
    path("numbers/<str:number_id>/release", api.NumberReleaseApi.as_view(), name="api-number-release"),
]
