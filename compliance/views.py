import json
from collections.abc import Iterable, Iterator
from itertools import islice

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from compliance import openers
from compliance.audit_sentences import audit_names, audit_sentence_text, audit_sentences_attach
from compliance.filters import AuditFilter
from compliance.forms import JurisdictionForm, OpenerEditForm, OpenerForm
from compliance.jurisdictions import jurisdiction_get, jurisdiction_update
from compliance.models import AuditEvent, ConsentOpener, Jurisdiction
from wordcab_admin.kernel.audio import ulaw_to_wav_bytes
from wordcab_admin.kernel.errors import DomainError
from wordcab_admin.kernel.fastpath.asgi_streaming import csv_response
from wordcab_admin.kernel.filtering import filters_of, invalid_filters
from wordcab_admin.kernel.roles import Capability, can, require


def _opener_list():
    return ConsentOpener.objects.select_related("agent").defer("audio")


@require(Capability.VIEW)
def compliance_index(request: HttpRequest) -> HttpResponse:
    context = {
        "openers": _opener_list(),
        # The newest deployment default is the one that plays where nothing more specific exists.
        "default_opener": _opener_list().filter(jurisdiction="", agent__isnull=True).order_by("-id").first(),
        "jurisdictions": Jurisdiction.objects.count(),
        "jurisdictions_to_review": Jurisdiction.objects.filter(needs_review=True).count(),
        "retention_default_days": settings.RETENTION_DEFAULT_DAYS,
    }
    return render(request, "compliance/index.html", context)


@require(Capability.VIEW)
@require_GET
def jurisdiction_list(request: HttpRequest) -> HttpResponse:
    rows = Jurisdiction.objects.order_by("country", "code")
    if request.GET.get("review") == "1":
        rows = rows.filter(needs_review=True)
    return render(request, "compliance/jurisdictions.html", {"jurisdictions": rows, "selected": request.GET})


@require(Capability.VIEW)
def jurisdiction_detail(request: HttpRequest, code: str) -> HttpResponse:
    """A jurisdiction's rules; compliance officers edit them here (audited, compliance.jurisdictions)."""
    try:
        jurisdiction = jurisdiction_get(code)
    except DomainError:
        raise Http404(f"No jurisdiction {code}") from None
    form = JurisdictionForm(initial=JurisdictionForm.initial_for(jurisdiction))
    if request.method == "POST":
        if not can(request.user, Capability.COMPLIANCE):
            raise PermissionDenied("Your role may not change jurisdictions.")
        form = JurisdictionForm(request.POST)
        if form.is_valid():
            try:
                jurisdiction_update(actor=request.user, jurisdiction=jurisdiction, changes=form.changes())
            except DomainError as exc:
                form.add_error(exc.field if exc.field in form.fields else None, exc.message)
            else:
                messages.success(request, f"{jurisdiction.code} saved.")
                return redirect("compliance:jurisdiction", code=jurisdiction.code)
    status = 400 if form.is_bound else 200
    context = {"jurisdiction": jurisdiction, "form": form}
    return render(request, "compliance/jurisdiction.html", context, status=status)


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
        request, "compliance/openers.html", {"openers": _named(_opener_list()), "form": form}, status=status
    )


def _named(openers_: Iterable[ConsentOpener]) -> list[ConsentOpener]:
    """The openers, each with its jurisdiction's name (`jurisdiction_name`), in one more query."""
    rows = list(openers_)
    names = dict(
        Jurisdiction.objects.filter(code__in={o.jurisdiction for o in rows}).values_list("code", "name")
    )
    for opener in rows:
        opener.jurisdiction_name = names.get(opener.jurisdiction, "")
    return rows


@require(Capability.COMPLIANCE)
def opener_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """Change an opener in place (audited, before → after); calls that already played it keep their snapshot."""
    opener = get_object_or_404(ConsentOpener.objects.select_related("agent"), pk=pk)
    form = OpenerEditForm(initial=OpenerEditForm.initial_for(opener))
    if request.method == "POST":
        form = OpenerEditForm(request.POST, request.FILES)
        if form.is_valid():
            data = form.cleaned_data
            changes = {name: data[name] for name in ("jurisdiction", "language", "text", "agent")}
            try:
                openers.opener_update(
                    actor=request.user, opener=opener, changes=changes, upload=data["audio"]
                )
            except DomainError as exc:
                form.add_error(exc.field if exc.field in form.fields else None, exc.message)
            else:
                messages.success(request, "Opener saved. Calls that already played it keep what they played.")
                return redirect(reverse("compliance:openers") + f"#opener-{opener.pk}")
    status = 400 if form.is_bound else 200
    return render(request, "compliance/opener_edit.html", {"opener": opener, "form": form}, status=status)


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


AUDIT_PAGE_ROWS = 200
AUDIT_CSV_FIELDS = [
    "created_at", "actor", "action", "object_type", "object_id", "before", "after", "request_id", "summary",
]  # fmt: skip
AUDIT_CSV_CHUNK = 2000


def _audit_filtered(request: HttpRequest) -> AuditFilter:
    return filters_of(request, AuditFilter, AuditEvent.objects.all())


# The distinct actions of the log, one probe of the action index per action (a "loose index scan"): a plain
# SELECT DISTINCT reads the whole log, and the log only grows (bench_history: the audit page at a million
# events). Standard SQL, so SQLite runs it too.
_AUDIT_ACTIONS_SQL = """
WITH RECURSIVE actions(action) AS (
    SELECT MIN(action) FROM {table}
    UNION ALL
    SELECT (SELECT MIN(action) FROM {table} WHERE action > actions.action) FROM actions
    WHERE actions.action IS NOT NULL
)
SELECT action FROM actions WHERE action IS NOT NULL
"""


def audit_actions() -> list[str]:
    """Every action the audit log holds, in order: the audit page's action filter."""
    with connection.cursor() as cursor:
        cursor.execute(_AUDIT_ACTIONS_SQL.format(table=connection.ops.quote_name(AuditEvent._meta.db_table)))
        return [action for (action,) in cursor.fetchall()]


@require(Capability.COMPLIANCE)  # the audit log: compliance officers and admins
def audit_list(request: HttpRequest) -> HttpResponse:
    filters = _audit_filtered(request)
    rows = list(filters.qs[: AUDIT_PAGE_ROWS + 1]) if filters.is_valid() else []
    context = {
        "events": audit_sentences_attach(rows[:AUDIT_PAGE_ROWS]),
        "more": len(rows) > AUDIT_PAGE_ROWS,
        "page_rows": AUDIT_PAGE_ROWS,
        "filters": request.GET,
        "errors": filters.errors,
        "actions": audit_actions(),
        "export_query": filters.data.urlencode(),
    }
    return render(request, "compliance/audit.html", context)


@require(Capability.COMPLIANCE)
@require_GET
def audit_export(request: HttpRequest) -> HttpResponse:
    """The filtered audit log as CSV, every matching row, oldest first (the order things happened), streamed."""
    filters = _audit_filtered(request)
    if not filters.is_valid():
        return invalid_filters(filters)

    def rows() -> Iterator[list]:
        events = filters.qs.order_by("id").iterator(chunk_size=AUDIT_CSV_CHUNK)
        for chunk in iter(lambda: list(islice(events, AUDIT_CSV_CHUNK)), []):
            names = audit_names(chunk)  # a few queries per chunk: the names of the summary sentences
            for event in chunk:
                yield [
                    event.created_at.isoformat(),
                    event.actor_label,
                    event.action,
                    event.object_type,
                    event.object_id,
                    "" if event.before is None else json.dumps(event.before, ensure_ascii=False),
                    "" if event.after is None else json.dumps(event.after, ensure_ascii=False),
                    event.request_id,
                    audit_sentence_text(event, names),
                ]

    return csv_response(request, header=AUDIT_CSV_FIELDS, rows=rows(), filename="audit-log.csv")
