"""The printable evidence page of a call (recordings/evidence.py), for compliance officers and admins."""

import json

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from calls.services import call_get
from recordings.evidence import call_evidence
from wordcab_admin.kernel.errors import DomainError
from wordcab_admin.kernel.roles import Capability, require


@require_GET
@require(Capability.COMPLIANCE)
def call_evidence_page(request: HttpRequest, call_id: str) -> HttpResponse:
    try:
        call = call_get(call_id=call_id)
    except DomainError:
        raise Http404(f"No call {call_id}") from None
    evidence = call_evidence(call)
    context = {"call": call, "evidence": evidence, "evidence_json": json.dumps(evidence, indent=2)}
    return render(request, "recordings/evidence.html", context)
