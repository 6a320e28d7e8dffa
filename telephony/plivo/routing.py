from django.urls import path

from telephony.plivo.media import PlivoMediaConsumer

websocket_urlpatterns = [
    path("v1/media/plivo", PlivoMediaConsumer.as_asgi()),
]
