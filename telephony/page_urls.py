"""telephony's pages: the providers' settings and each provider's own pages (its page_urls.py)."""

from django.urls import path

from telephony import credentials_views
from telephony.registry import provider_page_urlpatterns

urlpatterns: list = [
    path("settings/providers/", credentials_views.provider_credentials_page, name="provider_credentials"),
    path(
        "settings/providers/<str:provider>/<str:key>/set",
        credentials_views.provider_credential_set_view,
        name="provider_credential_set",
    ),
    path(
        "settings/providers/<str:provider>/<str:key>/clear",
        credentials_views.provider_credential_clear_view,
        name="provider_credential_clear",
    ),
    *provider_page_urlpatterns(),
]
