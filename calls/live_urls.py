"""Pages of live monitoring: the wallboard's resync endpoint, the demo button, the campaign page."""

from django.urls import path

from calls import campaign_views, live_views

app_name = "live"

urlpatterns = [
    path("dashboard/board", live_views.wallboard_board, name="board"),
    path("dashboard/demo", live_views.demo_start_view, name="demo"),
    path("campaigns/<str:campaign_id>/", campaign_views.campaign_detail, name="campaign"),
    path("campaigns/<str:campaign_id>/board", campaign_views.campaign_board, name="campaign-board"),
]
