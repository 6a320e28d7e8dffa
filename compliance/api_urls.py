from django.urls import path

from compliance.api import OpenerDetailApi, OpenerListApi

urlpatterns = [
    path("consent-openers", OpenerListApi.as_view(), name="api-consent-openers"),
    path("consent-openers/<int:opener_id>", OpenerDetailApi.as_view(), name="api-consent-opener"),
]
