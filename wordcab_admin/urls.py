from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from live import views as live_views
from wordcab_admin import views
from wordcab_admin.health import healthz
from wordcab_admin.kernel.api_errors import json_404, json_500

urlpatterns = [
    path("", live_views.dashboard, name="dashboard"),
    path("healthz", healthz, name="healthz"),
    path("favicon.ico", views.favicon),
    path("login/", auth_views.LoginView.as_view(template_name="accounts/login.html"), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("settings/", views.settings_page, name="settings"),
    path("settings/api-keys/create", views.api_key_create_view, name="api_key_create"),
    path("settings/api-keys/<int:key_id>/revoke", views.api_key_revoke_view, name="api_key_revoke"),
    path("settings/password/", views.PasswordChangeView.as_view(), name="password_change"),
    path("settings/time-zone", views.time_zone_view, name="time_zone"),
    path("settings/users/", views.users_page, name="users"),
    path("settings/users/create", views.user_create_view, name="user_create"),
    path("settings/users/<int:user_id>/role", views.user_role_view, name="user_role"),
    path("settings/users/<int:user_id>/active", views.user_active_view, name="user_active"),
    path(
        "settings/users/<int:user_id>/one-time-password",
        views.user_one_time_password_view,
        name="user_one_time_password",
    ),
    path("v1/", include("wordcab_admin.api.urls")),
    path("", include("agents.urls")),
    path("", include("recordings.urls")),
    path("", include("calls.urls")),
    path("", include("campaigns.urls")),
    path("", include("analytics.urls")),
    path("", include("webhooks.urls")),
    path("", include("live.urls")),
    path("", include("compliance.urls")),
    path("", include("telephony.page_urls")),
    path("django-admin/", admin.site.urls),
]

handler404 = json_404
handler500 = json_500
