from django.urls import include, path

from calls import views

call_patterns = ([path("", views.call_list, name="list")], "calls")
campaign_patterns = ([path("", views.campaign_list, name="list")], "campaigns")

urlpatterns = [
    path("calls/", include(call_patterns)),
    path("campaigns/", include(campaign_patterns)),
]
