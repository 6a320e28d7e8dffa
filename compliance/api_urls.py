from django.urls import path

from compliance.api import JurisdictionDetailApi, JurisdictionListApi, OpenerDetailApi, OpenerListApi
from compliance.audit_api import AuditEventListApi
from compliance.do_not_call_api import DoNotCallDetailApi, DoNotCallImportApi, DoNotCallListApi
from compliance.holds_api import LegalHoldDetailApi, LegalHoldListApi
from compliance.retention_api import RetentionPolicyDetailApi, RetentionPolicyListApi

urlpatterns = [
    path("audit-events", AuditEventListApi.as_view(), name="api-audit-events"),
    path("consent-openers", OpenerListApi.as_view(), name="api-consent-openers"),
    path("consent-openers/<int:opener_id>", OpenerDetailApi.as_view(), name="api-consent-opener"),
    path("jurisdictions", JurisdictionListApi.as_view(), name="api-jurisdictions"),
    path("jurisdictions/<str:code>", JurisdictionDetailApi.as_view(), name="api-jurisdiction"),
    path("retention-policies", RetentionPolicyListApi.as_view(), name="api-retention-policies"),
    path(
        "retention-policies/<str:policy_id>", RetentionPolicyDetailApi.as_view(), name="api-retention-policy"
    ),
    path("legal-holds", LegalHoldListApi.as_view(), name="api-legal-holds"),
    path("legal-holds/<str:hold_id>", LegalHoldDetailApi.as_view(), name="api-legal-hold"),
    path("do-not-call", DoNotCallListApi.as_view(), name="api-do-not-call"),
    path("do-not-call/import", DoNotCallImportApi.as_view(), name="api-do-not-call-import"),  # not a {number}
    path("do-not-call/<str:number>", DoNotCallDetailApi.as_view(), name="api-do-not-call-entry"),
]
