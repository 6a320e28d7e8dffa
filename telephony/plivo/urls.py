from django.urls import path

from telephony.plivo import api

urlpatterns = [
    path("plivo/answer", api.plivo_answer_webhook, name="plivo-answer"),
    path("plivo/status", api.plivo_status_callback, name="plivo-status"),
]
