from django.urls import include, path

from compliance import do_not_call_views, retention_views, views

compliance_patterns = (
    [
        path("", views.compliance_index, name="index"),
        path("openers/", views.opener_list, name="openers"),
        path("openers/<int:pk>/", views.opener_edit, name="opener-edit"),
        path("openers/<int:pk>/audio.wav", views.opener_audio, name="opener-audio"),
        path("openers/<int:pk>/resynthesize", views.opener_resynthesize, name="opener-resynthesize"),
        path("openers/<int:pk>/delete", views.opener_delete, name="opener-delete"),
        path("retention/", retention_views.retention_policy_list, name="retention"),
        path("retention/<str:policy_id>/days", retention_views.retention_policy_days, name="retention-days"),
        path(
            "retention/<str:policy_id>/delete",
            retention_views.retention_policy_delete,
            name="retention-delete",
        ),
        path("retention/sweep/dry-run", retention_views.retention_dry_run, name="retention-dry-run"),
        path("holds/", retention_views.legal_hold_list, name="holds"),
        path("holds/<str:hold_id>/release", retention_views.legal_hold_release, name="hold-release"),
        path("jurisdictions/", views.jurisdiction_list, name="jurisdictions"),
        path("jurisdictions/<str:code>/", views.jurisdiction_detail, name="jurisdiction"),
    ],
    "compliance",
)
do_not_call_patterns = (
    [
        path("", do_not_call_views.do_not_call_list, name="list"),
        path("add", do_not_call_views.do_not_call_add, name="add"),
        path("import", do_not_call_views.do_not_call_import, name="import"),
        path("import/<str:token>/rejected.csv", do_not_call_views.do_not_call_rejected_rows, name="rejected"),
        path("export.csv", do_not_call_views.do_not_call_export, name="export"),
        path("<str:number>/remove", do_not_call_views.do_not_call_remove, name="remove"),
    ],
    "do_not_call",
)
audit_patterns = (
    [path("", views.audit_list, name="list"), path("export.csv", views.audit_export, name="export")],
    "audit",
)

urlpatterns = [
    path("compliance/do-not-call/", include(do_not_call_patterns)),
    path("compliance/", include(compliance_patterns)),
    path("audit/", include(audit_patterns)),
]
