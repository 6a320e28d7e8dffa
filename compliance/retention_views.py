"""Pages for compliance officers: retention policies, legal holds and the retention sweep's dry run.

All need the compliance role (or admin), to read as to change: holds name matters in litigation. The
services are compliance/retention.py and compliance/holds.py; the dry run is computed by recordings, which
stands above compliance, through its `{% retention_sweep_plan %}` tag."""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.views.decorators.http import require_POST

from agents.links import agent_link, number_readable
from compliance import holds, retention
from compliance.models import Jurisdiction, LegalHold, RetentionPolicy
from compliance.retention_forms import LegalHoldForm, RetentionDaysForm, RetentionPolicyForm
from wordcab_admin.kernel.errors import DomainError
from wordcab_admin.kernel.roles import Capability, require


def _form_error(form, exc: DomainError) -> None:
    form.add_error(exc.field if exc.field in form.fields else None, exc.message)


def _scope(policy: RetentionPolicy) -> SafeString:
    """Whose recordings a policy keeps, as people read it: "Recordings of Sales (linked) in California"."""
    place = Jurisdiction.objects.filter(code=policy.jurisdiction).values_list("name", flat=True).first()
    where = f"{place} ({policy.jurisdiction})" if place else policy.jurisdiction
    if policy.agent_id and policy.jurisdiction:
        return format_html("Recordings of {} in {}", agent_link(policy.agent), where)
    if policy.agent_id:
        return format_html("Recordings of {}", agent_link(policy.agent))
    return format_html("Recordings in {}", where)


@require(Capability.COMPLIANCE)
def retention_policy_list(request: HttpRequest) -> HttpResponse:
    form = RetentionPolicyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            policy = retention.retention_policy_create(
                actor=request.user, agent=data["agent"], jurisdiction=data["jurisdiction"], days=data["days"]
            )
        except DomainError as exc:
            _form_error(form, exc)
        else:
            messages.success(
                request,
                format_html(
                    "{} are kept {} days; expiries are being recomputed.", _scope(policy), policy.days
                ),
            )
            return redirect("compliance:retention")
    context = {
        "policies": RetentionPolicy.objects.select_related("agent").order_by("jurisdiction", "agent__name"),
        "form": form,
        "default_days": retention.retention_table().default_days,
    }
    return render(request, "compliance/retention.html", context, status=400 if form.errors else 200)


@require_POST
@require(Capability.COMPLIANCE)
def retention_policy_days(request: HttpRequest, policy_id: str) -> HttpResponse:
    policy = get_object_or_404(RetentionPolicy.objects.select_related("agent"), public_id=policy_id)
    form = RetentionDaysForm(request.POST)
    if not form.is_valid():
        messages.error(request, format_html("{}: {}", _scope(policy), " ".join(form.errors.get("days", []))))
        return redirect("compliance:retention")
    try:
        retention.retention_policy_update(
            actor=request.user, policy=policy, changes={"days": form.cleaned_data["days"]}
        )
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, format_html("{} are now kept {} days.", _scope(policy), policy.days))
    return redirect("compliance:retention")


@require_POST
@require(Capability.COMPLIANCE)
def retention_policy_delete(request: HttpRequest, policy_id: str) -> HttpResponse:
    policy = get_object_or_404(RetentionPolicy.objects.select_related("agent"), public_id=policy_id)
    scope = _scope(policy)
    retention.retention_policy_delete(actor=request.user, policy=policy)
    messages.success(
        request, format_html("{}: policy deleted; they follow the next most specific rule.", scope)
    )
    return redirect("compliance:retention")


@require(Capability.COMPLIANCE)
def legal_hold_list(request: HttpRequest) -> HttpResponse:
    form = LegalHoldForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            hold = holds.legal_hold_place(
                actor=request.user, kind=data["kind"], target=data["target"], reason=data["reason"]
            )
        except DomainError as exc:
            _form_error(form, exc)
        else:
            messages.success(
                request,
                format_html("Legal hold placed on {}: “{}”. {}", _hold_target(hold), hold.reason, KEPT),
            )
            return redirect("compliance:holds")
    rows = [_hold_row(hold) for hold in holds.legal_holds().order_by("-created_at")]
    context = {
        "active": [row for row in rows if row["hold"].released_at is None],
        "released": [row for row in rows if row["hold"].released_at is not None],
        "form": form,
    }
    return render(request, "compliance/retention_holds.html", context, status=400 if form.errors else 200)


KEPT = "Its recordings are kept until it is released, whatever their retention."


def _hold_target(hold: LegalHold) -> SafeString:
    """What a hold keeps, as people read it: "every call of Reminder bot" (linked), "call call_…"."""
    kind, value = holds.hold_target(hold)
    if kind == holds.HoldTarget.AGENT:
        return format_html("every call of {}", agent_link(hold.agent))
    if kind == holds.HoldTarget.PHONE_NUMBER:
        return format_html("every call with {}", number_readable(value))
    return format_html("{} {}", kind.label.lower(), value)


def _hold_row(hold: LegalHold) -> dict:
    kind, value = holds.hold_target(hold)
    return {"hold": hold, "target": kind.label.lower(), "value": value}


@require_POST
@require(Capability.COMPLIANCE)
def legal_hold_release(request: HttpRequest, hold_id: str) -> HttpResponse:
    hold = get_object_or_404(LegalHold.objects.select_related("agent"), public_id=hold_id)
    hold = holds.legal_hold_release(actor=request.user, hold=hold)
    messages.success(
        request,
        format_html(
            "Legal hold on {} released; the sweep may delete what it kept once expired.", _hold_target(hold)
        ),
    )
    return redirect("compliance:holds")


@require(Capability.COMPLIANCE)
def retention_dry_run(request: HttpRequest) -> HttpResponse:
    return render(request, "compliance/retention_sweep.html")
