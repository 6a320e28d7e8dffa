from django.urls import path

from calls.media import TwilioMediaConsumer

websocket_urlpatterns: list = [
    path("v1/media/twilio", TwilioMediaConsumer.as_asgi()),
    # /ws/calls (live monitoring) and /v1/media/twilio (media streams) are added by their issues.
]
