from django.urls import path

from telephony.twilio import api as twilio

urlpatterns = [
    path("twilio/voice", twilio.TwilioVoiceWebhook.as_view(), name="twilio-voice"),
    path("twilio/status", twilio.twilio_status_callback, name="twilio-status"),
]
