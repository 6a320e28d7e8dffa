from django.urls import path

from telephony.twilio import api

urlpatterns = [
    path("twilio/voice", api.TwilioVoiceWebhook.as_view(), name="twilio-voice"),
    path("twilio/status", api.twilio_status_callback, name="twilio-status"),
]
