from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView

from wordcab_admin.api.errors import json_404

urlpatterns = [
    path("schema", SpectacularAPIView.as_view(), name="schema"),
    path("", include("agents.api_urls")),
    path("", include("calls.api_urls")),
    path("", include("compliance.api_urls")),
]

handler404 = json_404
