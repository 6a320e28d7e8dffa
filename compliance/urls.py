from django.urls import include, path

from compliance import views

compliance_patterns = (
    [
        path("", views.compliance_index, name="index"),
        path("openers/", views.opener_list, name="openers"),
        path("openers/<int:pk>/audio.wav", views.opener_audio, name="opener-audio"),
        path("openers/<int:pk>/resynthesize", views.opener_resynthesize, name="opener-resynthesize"),
        path("openers/<int:pk>/delete", views.opener_delete, name="opener-delete"),
    ],
    "compliance",
)
audit_patterns = (
    [path("", views.audit_list, name="list"), path("export.csv", views.audit_export, name="export")],
    "audit",
)

urlpatterns = [
    path("compliance/", include(compliance_patterns)),
    path("audit/", include(audit_patterns)),
]
