from django.urls import path

from webhooks import views

app_name = "webhooks"

urlpatterns = [
    path("webhooks/", views.endpoint_list, name="list"),
    path("webhooks/<str:endpoint_id>/", views.endpoint_detail, name="detail"),
    path("webhooks/<str:endpoint_id>/enabled", views.endpoint_enabled_view, name="enabled"),
    path("webhooks/<str:endpoint_id>/delete", views.endpoint_delete_view, name="delete"),
    path("webhooks/<str:endpoint_id>/deliveries.csv", views.deliveries_export, name="export"),
    path("webhooks/<str:endpoint_id>/deliveries/<str:delivery_id>/", views.delivery_detail, name="delivery"),
    path(
        "webhooks/<str:endpoint_id>/deliveries/<str:delivery_id>/replay",
        views.delivery_replay_view,
        name="replay",
    ),
]
