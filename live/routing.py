from django.urls import path

from live.consumers import CallsConsumer

websocket_urlpatterns: list = [
    path("ws/calls", CallsConsumer.as_asgi()),
]
