"""`{% audit_history "phone_number" n.public_id as history %}`: an object's audit trail on its own page.
The audit log belongs to compliance, above the apps whose pages show it (agents)."""

from django import template
from django.db.models import QuerySet

from compliance.models import AuditEvent

register = template.Library()


@register.simple_tag
def audit_history(object_type: str, object_id: str, limit: int = 50) -> QuerySet[AuditEvent]:
    return AuditEvent.objects.filter(object_type=object_type, object_id=object_id)[:limit]
