from django.urls import path

from telephony.twilio.media import TwilioMediaConsumer

websocket_urlpatterns = [
    path("v1/media/twilio", TwilioMediaConsumer.as_asgi()),
]
