from django.urls import include, path, re_path

from wordcab_admin.api import accounts
from wordcab_admin.api.schema import SchemaView
from wordcab_admin.kernel.api_errors import api_not_found

urlpatterns = [
    path("schema", SchemaView.as_view(), name="schema"),
    path("me", accounts.MeApi.as_view(), name="api-me"),
    path("api-keys", accounts.ApiKeyListApi.as_view(), name="api-keys"),
    path("api-keys/<int:key_id>", accounts.ApiKeyDetailApi.as_view(), name="api-key"),
    path("", include("agents.api_urls")),
    path("", include("calls.api_urls")),
    path("", include("recordings.api_urls")),
    path("", include("transcripts.api_urls")),
    path("", include("campaigns.api_urls")),
    path("", include("analytics.api_urls")),
    path("", include("webhooks.api_urls")),
    path("", include("compliance.api_urls")),
    path("", include("telephony.api_urls")),
    re_path(r"^(?P<path>.*)$", api_not_found),  # last: unknown /v1/ paths answer the error shape
]
