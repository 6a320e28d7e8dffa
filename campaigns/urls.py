from django.urls import include, path

from campaigns import views

campaign_patterns = (
    [
        path("", views.campaign_list, name="list"),
        path("new", views.campaign_new, name="new"),
        path("preview", views.campaign_preview, name="preview"),
        path("import-progress/<str:token>", views.campaign_import_progress, name="import_progress"),
        path("<str:campaign_id>/", views.campaign_detail, name="detail"),
        path("<str:campaign_id>/board", views.campaign_board, name="board"),
        path("<str:campaign_id>/start", views.campaign_control, {"verb": "start"}, name="start"),
        path("<str:campaign_id>/pause", views.campaign_control, {"verb": "pause"}, name="pause"),
        path("<str:campaign_id>/resume", views.campaign_control, {"verb": "resume"}, name="resume"),
        path("<str:campaign_id>/cancel", views.campaign_control, {"verb": "cancel"}, name="cancel"),
        path("<str:campaign_id>/rejected.csv", views.campaign_rejected_rows, name="rejected"),
        path("<str:campaign_id>/export.csv", views.campaign_results, name="export"),
        path("<str:campaign_id>/evidence.zip", views.campaign_evidence, name="evidence"),
    ],
    "campaigns",
)

urlpatterns = [
    path("campaigns/", include(campaign_patterns)),
    path("dashboard/demo", views.demo_start_view, name="demo"),
]
