from django.urls import path

from analytics import api

urlpatterns = [path("analytics/calls", api.AnalyticsCallsApi.as_view(), name="api-analytics-calls")]
