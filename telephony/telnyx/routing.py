from django.urls import path

from telephony.telnyx.media import TelnyxMediaConsumer

websocket_urlpatterns = [
    path("v1/media/telnyx", TelnyxMediaConsumer.as_asgi()),
]
