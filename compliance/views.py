from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from calls.audio import ulaw_to_wav_bytes
from compliance import openers
from compliance.forms import OpenerForm
from compliance.models import AuditEvent, ConsentOpener
from wordcab_admin.api.errors import DomainError
from wordcab_admin.roles import Capability, can, require


def _opener_list():
    return ConsentOpener.objects.select_related("agent").defer("audio")


@require(Capability.VIEW)
def compliance_index(request: HttpRequest) -> HttpResponse:
    return render(request, "compliance/index.html", {"openers": _opener_list()})


@require(Capability.VIEW)
def opener_list(request: HttpRequest) -> HttpResponse:
    form = OpenerForm()
    if request.method == "POST":
        if not can(request.user, Capability.COMPLIANCE):
            raise PermissionDenied("Your role may not change consent openers.")
        form = OpenerForm(request.POST, request.FILES)
        if form.is_valid():
            data = form.cleaned_data
            try:
                opener = openers.opener_create(
                    actor=request.user,
                    jurisdiction=data["jurisdiction"],
                    agent=data["agent"],
                    language=data["language"],
                    text=data["text"],
                    upload=data["audio"],
                )
            except DomainError as exc:
                form.add_error(exc.field if exc.field in form.fields else None, exc.message)
            else:
                how = "uploaded audio" if data["audio"] else "spoken by the built-in voice"
                messages.success(request, f"Opener saved ({how}, {opener.duration_seconds:.1f} s).")
                return redirect("compliance:openers")
    status = 400 if form.is_bound else 200
    return render(
        request, "compliance/openers.html", {"openers": _opener_list(), "form": form}, status=status
    )


@require(Capability.VIEW)
def opener_audio(request: HttpRequest, pk: int) -> HttpResponse:
    opener = get_object_or_404(ConsentOpener, pk=pk)
    response = HttpResponse(ulaw_to_wav_bytes(bytes(opener.audio)), content_type="audio/wav")
    response["Content-Disposition"] = f'inline; filename="opener-{opener.pk}.wav"'
    return response


@require_POST
@require(Capability.COMPLIANCE)
def opener_resynthesize(request: HttpRequest, pk: int) -> HttpResponse:
    opener = get_object_or_404(ConsentOpener, pk=pk)
    try:
        openers.opener_resynthesize(actor=request.user, opener=opener)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "The opener is now spoken by the built-in voice.")
    return redirect("compliance:openers")


@require_POST
@require(Capability.COMPLIANCE)
def opener_delete(request: HttpRequest, pk: int) -> HttpResponse:
    opener = get_object_or_404(ConsentOpener, pk=pk)
    openers.opener_delete(actor=request.user, opener=opener)
    messages.success(request, "Opener deleted. Calls that already played it keep their snapshot.")
    return redirect("compliance:openers")


@require(Capability.VIEW)
def audit_list(request: HttpRequest) -> HttpResponse:
    events = AuditEvent.objects.all()
    for name in ("action", "object_id"):
        if value := request.GET.get(name, "").strip():
            events = events.filter(**{name: value})
    if actor := request.GET.get("actor", "").strip():
        events = events.filter(actor_label=actor)
    return render(request, "compliance/audit.html", {"events": events[:200], "filters": request.GET})
