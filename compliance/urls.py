from django.urls import include, path

from compliance import views

compliance_patterns = ([path("", views.compliance_index, name="index")], "compliance")
audit_patterns = ([path("", views.audit_list, name="list")], "audit")

urlpatterns = [
    path("compliance/", include(compliance_patterns)),
    path("audit/", include(audit_patterns)),
]
