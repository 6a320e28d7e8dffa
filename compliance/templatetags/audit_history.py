"""`{% audit_history "phone_number" n.public_id as history %}`: an object's audit trail on its own page, each
event with its sentence (`e.sentence`). The audit log belongs to compliance, above the apps whose pages show
it (agents)."""

from django import template

from compliance.audit_sentences import audit_sentences_attach
from compliance.models import AuditEvent

register = template.Library()


@register.simple_tag
def audit_history(object_type: str, object_id: str, limit: int = 50) -> list[AuditEvent]:
    events = AuditEvent.objects.filter(object_type=object_type, object_id=object_id)
    return audit_sentences_attach(events[:limit])
