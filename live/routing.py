from django.urls import path

from live.consumers import CallsConsumer
from live.listen import SuperviseConsumer

websocket_urlpatterns: list = [
    path("ws/calls", CallsConsumer.as_asgi()),
    path("ws/calls/<str:call_id>/supervise", SuperviseConsumer.as_asgi()),
]
