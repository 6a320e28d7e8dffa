from django.urls import include, path

from calls import views

call_patterns = (
    [
        path("", views.call_list, name="list"),
        path("export.csv", views.call_export, name="export"),
        path("place/<str:agent_id>", views.call_place_view, name="place"),
        path("<str:call_id>/", views.call_detail, name="detail"),
        path("<str:call_id>/partial", views.call_detail_partial, name="detail_partial"),
        path("<str:call_id>/row", views.call_row, name="row"),
        path("<str:call_id>/hangup", views.call_hangup_view, name="hangup"),
    ],
    "calls",
)

urlpatterns = [
    path("calls/", include(call_patterns)),
]
