from django.urls import path

from webhooks.api import DeliveryListApi, DeliveryReplayApi, EndpointDetailApi, EndpointListApi

urlpatterns = [
    path("webhook-endpoints", EndpointListApi.as_view(), name="api-webhook-endpoints"),
    path("webhook-endpoints/<str:endpoint_id>", EndpointDetailApi.as_view(), name="api-webhook-endpoint"),
    path(
        "webhook-endpoints/<str:endpoint_id>/deliveries",
        DeliveryListApi.as_view(),
        name="api-webhook-deliveries",
    ),
    path(
        "webhook-endpoints/<str:endpoint_id>/deliveries/<str:delivery_id>/replay",
        DeliveryReplayApi.as_view(),
        name="api-webhook-delivery-replay",
    ),
]
