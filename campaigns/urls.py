from django.urls import include, path

from campaigns import views

campaign_patterns = (
    [
        path("", views.campaign_list, name="list"),
        path("<str:campaign_id>/", views.campaign_detail, name="detail"),
        path("<str:campaign_id>/board", views.campaign_board, name="board"),
        path("<str:campaign_id>/evidence.zip", views.campaign_evidence, name="evidence"),
    ],
    "campaigns",
)

urlpatterns = [
    path("campaigns/", include(campaign_patterns)),
    path("dashboard/demo", views.demo_start_view, name="demo"),
]
