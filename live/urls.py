"""The wallboard (the home page): its TV mode, its resync endpoint and its metrics' refresh."""

from django.urls import path

from live import views

app_name = "live"

urlpatterns = [
    path("dashboard/board", views.wallboard_board, name="board"),
    path("dashboard/metrics", views.wallboard_metrics, name="metrics"),
    path("tv/", views.wallboard_tv, name="tv"),
]
