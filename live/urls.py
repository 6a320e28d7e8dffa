"""The wallboard (the home page) and its resync endpoint."""

from django.urls import path

from live import views

app_name = "live"

urlpatterns = [
    path("dashboard/board", views.wallboard_board, name="board"),
]
