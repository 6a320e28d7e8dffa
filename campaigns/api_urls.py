from django.urls import path

from campaigns import api

urlpatterns = [
    path("campaigns", api.CampaignListApi.as_view(), name="api-campaigns"),
    path("campaigns/<str:campaign_id>", api.CampaignDetailApi.as_view(), name="api-campaign"),
    path("campaigns/<str:campaign_id>/start", api.CampaignStartApi.as_view(), name="api-campaign-start"),
    path("campaigns/<str:campaign_id>/pause", api.CampaignPauseApi.as_view(), name="api-campaign-pause"),
    path("campaigns/<str:campaign_id>/resume", api.CampaignResumeApi.as_view(), name="api-campaign-resume"),
    path("campaigns/<str:campaign_id>/cancel", api.CampaignCancelApi.as_view(), name="api-campaign-cancel"),
    path(
        "campaigns/<str:campaign_id>/contacts",
        api.CampaignContactsApi.as_view(),
        name="api-campaign-contacts",
    ),
    path(
        "campaigns/<str:campaign_id>/forecast",
        api.CampaignForecastApi.as_view(),
        name="api-campaign-forecast",
    ),
]
