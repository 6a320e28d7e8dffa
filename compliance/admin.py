"""The Django admin (`/django-admin/`, staff only) shows the audit log read-only: nobody, a superuser
included, may add, change or delete an event there, and the bulk delete action is gone. The model refuses
updates and deletes too (compliance/models.py); this keeps the admin from offering them at all."""

from django.contrib import admin
from django.http import HttpRequest

from compliance.models import AuditEvent
from wordcab_admin.kernel.roles import Capability, can


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = ["created_at", "actor_label", "action", "object_type", "object_id", "request_id"]
    list_filter = ["action", "object_type"]
    search_fields = ["=object_id", "=request_id", "=actor_label"]  # exact matches: ids, not prose
    actions = None  # no bulk delete (nor any other bulk action)

    def has_view_permission(self, request: HttpRequest, obj: AuditEvent | None = None) -> bool:
        return can(request.user, Capability.COMPLIANCE)  # the audit log's readers, as everywhere else

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: AuditEvent | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: AuditEvent | None = None) -> bool:
        return False
