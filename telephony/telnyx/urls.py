from django.urls import path

from telephony.telnyx import api

urlpatterns = [
    path("telnyx/webhook", api.telnyx_webhook, name="telnyx-webhook"),
]
