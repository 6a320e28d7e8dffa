from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from compliance.models import AuditEvent
from wordcab_admin.roles import Capability, require


@require(Capability.VIEW)
def compliance_index(request: HttpRequest) -> HttpResponse:
    return render(request, "compliance/index.html")


@require(Capability.VIEW)
def audit_list(request: HttpRequest) -> HttpResponse:
    events = AuditEvent.objects.all()
    for name in ("action", "object_id"):
        if value := request.GET.get(name, "").strip():
            events = events.filter(**{name: value})
    if actor := request.GET.get("actor", "").strip():
        events = events.filter(actor_label=actor)
    return render(request, "compliance/audit.html", {"events": events[:200], "filters": request.GET})
