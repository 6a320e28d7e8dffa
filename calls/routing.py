from django.urls import path

from calls.consumers import CallsConsumer
from calls.media import TwilioMediaConsumer

websocket_urlpatterns: list = [
    path("ws/calls", CallsConsumer.as_asgi()),
    path("v1/media/twilio", TwilioMediaConsumer.as_asgi()),
    # /ws/calls (live monitoring) and /v1/media/twilio (media streams) are added by their issues.
]
