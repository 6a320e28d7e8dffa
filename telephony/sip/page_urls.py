"""The SIP number pages' actions, mounted at the site root (telephony.registry.provider_page_urlpatterns)."""

from django.urls import path

from telephony.sip import views

urlpatterns = [
    path("numbers/<str:number_id>/sip-test", views.sip_test_call, name="sip_test_call"),
    path(
        "numbers/<str:number_id>/sip-test/<str:call_id>",
        views.sip_test_call_outcome,
        name="sip_test_call_outcome",
    ),
]
