from django.urls import path

from recordings import views

urlpatterns = [
    path("calls/<str:call_id>/evidence/", views.call_evidence_page, name="call_evidence"),
]
