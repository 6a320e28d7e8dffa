"""Campaign pages: the list; a new campaign from a CSV (preview of its header, upload and validation
progress: static/js/campaigns.js; a plain form post works too); a campaign's page with its controls, live
counts (static/js/live.js, `?campaign_id=` on /ws/calls), validation report, preflight forecast, settings
and contacts; the rejected rows and the results as CSV; and the demo button of the empty wallboard."""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Callable
from pathlib import PurePath

from django.contrib import messages
from django.core.cache import cache
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from redis.exceptions import RedisError

from agents.models import Agent
from calls.models import CallStatus
from campaigns import services
from campaigns.demo import demo_start
from campaigns.evidence import campaign_evidence_zip
from campaigns.forecast import campaign_forecast
from campaigns.importing import csv_preview
from campaigns.models import Campaign, CampaignStatus, ContactStatus, RetryOutcome, SkipReason
from campaigns.options import DEFAULTS, campaign_options_parse
from campaigns.selectors import (
    CONTACT_DONE_STATES,
    campaign_call_counts,
    campaign_calls,
    campaign_contact_counts,
    campaign_contacts,
    campaign_progress,
    campaign_summary,
    campaign_validation,
    campaigns_newest_first,
    campaigns_with_progress,
    rejected_contacts,
    rejected_rows,
    rejected_rows_header,
    results_header,
    results_rows,
)
from wordcab_admin.kernel.api_errors import error_body
from wordcab_admin.kernel.errors import DomainError
from wordcab_admin.kernel.fastpath.asgi_streaming import csv_response
from wordcab_admin.kernel.roles import Capability, require

log = logging.getLogger(__name__)

LIST_ROWS = 100
CONTACT_ROWS = 50
REJECTED_ROWS_SHOWN = 100  # on the page; the download has them all
PREVIEW_ROWS = 5
PROGRESS_SECONDS = 3600  # how long an import's progress is kept for the page that polls it
PROGRESS_TOKEN = re.compile(r"[A-Za-z0-9_-]{16,64}")
MOVES: dict[str, Callable[..., Campaign]] = {
    "start": services.campaign_start,
    "pause": services.campaign_pause,
    "resume": services.campaign_resume,
    "cancel": services.campaign_cancel,
}
MOVED = {"start": "started", "pause": "paused", "resume": "resumed", "cancel": "cancelled"}
FORECAST_BUCKETS = [
    ("now", "Now"),
    ("later_today", "Later today"),
    ("other_days", "Other days"),
    ("never", "Never (window closed for good)"),
]
CHART_WIDTH, BAR_HEIGHT = 100, 8


def campaign_for_page(campaign_id: str) -> Campaign:
    try:
        return Campaign.objects.select_related("agent").get(public_id=campaign_id)
    except Campaign.DoesNotExist:
        raise Http404(f"No campaign {campaign_id}") from None


def _wants_json(request: HttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def _is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


# --- the list -----------------------------------------------------------------------------------------------


@require_GET
@require(Capability.VIEW)
def campaign_list(request: HttpRequest) -> HttpResponse:
    campaigns = campaigns_with_progress(campaigns_newest_first()[:LIST_ROWS])
    return render(request, "campaigns/list.html", {"campaigns": campaigns})


# --- a campaign's page --------------------------------------------------------------------------------------


CONTROL_LABELS = {"start": "Start", "pause": "Pause", "resume": "Resume", "cancel": "Cancel campaign"}


def controls_for(campaign: Campaign) -> list[dict]:
    """The buttons of the moves the campaign's status allows (campaigns/services.py TRANSITIONS)."""
    controls = []
    for verb, moves in services.TRANSITIONS.items():
        if not any(campaign.status in sources for sources in moves.values()):
            continue
        control = {
            "verb": verb,
            "label": CONTROL_LABELS[verb],
            "url": reverse(f"campaigns:{verb}", args=[campaign.public_id]),
        }
        if verb == "cancel":
            control["confirm"] = (
                f"Cancel {campaign.name}? Its contacts not yet called will be skipped; this cannot be undone."
            )
        controls.append(control)
    return controls


def board_context(campaign: Campaign) -> dict:
    """The live part of the page (`_board.html`): status, controls, progress, counts and the latest calls."""
    contact_counts, call_counts = campaign_contact_counts(campaign), campaign_call_counts(campaign)
    return {
        "campaign": campaign,
        "summary": campaign_summary(campaign, contact_counts=contact_counts, call_counts=call_counts),
        "progress": campaign_progress(
            contact_counts, call_counts, rejected=campaign_validation(campaign)["rejected"]
        ),
        "contact_tiles": [(s.value, s.label, contact_counts[s.value]) for s in ContactStatus],
        "call_tiles": [(s.value, s.label, call_counts[s.value]) for s in CallStatus],
        "contact_done_states": " ".join(CONTACT_DONE_STATES),
        "controls": controls_for(campaign),
        "calls": campaign_calls(campaign),
    }


def forecast_chart(forecast: dict) -> dict:
    """Geometry of the forecast's SVG (no inline style: the Content-Security-Policy refuses it): one stacked
    bar of the pending contacts by when they may be called, and one bar per reason contacts are blocked."""
    pending = sum(forecast.get(key, 0) for key, _ in FORECAST_BUCKETS)
    segments, x = [], 0.0
    for key, label in FORECAST_BUCKETS:
        n = forecast.get(key, 0)
        width = round(n / pending * CHART_WIDTH, 2) if pending else 0
        segments.append({"key": key, "label": label, "n": n, "x": round(x, 2), "width": width})
        x += width
    blocked = sorted((forecast.get("blocked") or {}).items(), key=lambda item: (-item[1], item[0]))
    peak = max([n for _, n in blocked] + [1])
    labels = dict(SkipReason.choices)
    reasons = [
        {
            "reason": reason,
            "label": labels.get(reason, reason),
            "n": n,
            "width": round(n / peak * CHART_WIDTH, 2),
        }
        for reason, n in blocked
    ]
    return {
        "pending": pending,
        "segments": segments,
        "blocked": reasons,
        "width": CHART_WIDTH,
        "height": BAR_HEIGHT,
    }


def settings_summary(campaign: Campaign) -> list[tuple[str, str]]:
    def when(value) -> str:
        return f"{value:%Y-%m-%d %H:%M} UTC" if value else ""

    retry = ", ".join(RetryOutcome(o).label for o in campaign.retry_outcomes or []) or "none"
    record = {None: "the agent's setting", True: "yes", False: "no"}[campaign.record]
    window = (
        f"{campaign.window_start:%H:%M}–{campaign.window_end:%H:%M} (the contact's local time)"
        if campaign.window_start and campaign.window_end
        else "the jurisdictions' calling hours"
    )
    return [
        ("Starts", when(campaign.start_at) or "when started"),
        ("Ends", when(campaign.end_at) or "when every contact is done"),
        ("Concurrent calls", f"at most {campaign.max_concurrent_calls}"),
        ("Pacing", f"{campaign.calls_per_minute} calls a minute"),
        ("Attempts", f"up to {campaign.max_attempts} per contact, {campaign.retry_delay_seconds} s apart"),
        ("Retried outcomes", retry),
        ("Record", record),
        ("Max duration", f"{campaign.max_duration} s" if campaign.max_duration else "the agent's"),
        ("Calling window", window),
        ("Phone column", campaign.phone_column or "—"),
    ]


def contacts_context(request: HttpRequest, campaign: Campaign) -> dict:
    status = request.GET.get("status", "")
    skip_reason = request.GET.get("skip_reason", "")
    number = request.GET.get("q", "").strip()
    contacts = campaign_contacts(
        campaign,
        statuses=[status] if status in ContactStatus.values else [],
        skip_reasons=[skip_reason] if skip_reason in SkipReason.values else [],
        number=number,
    )
    page = Paginator(contacts, CONTACT_ROWS).get_page(request.GET.get("page"))
    return {
        "contacts_page": page,
        "contacts": [(contact, contact.attempt_set.all()) for contact in page.object_list],
        "contact_filters": {"status": status, "skip_reason": skip_reason, "q": number},
        "contact_statuses": ContactStatus.choices,
        "skip_reasons": SkipReason.choices,
    }


@require_GET
@require(Capability.VIEW)
def campaign_detail(request: HttpRequest, campaign_id: str) -> HttpResponse:
    campaign = campaign_for_page(campaign_id)
    if _is_htmx(request):  # the contacts table's filters and pages
        return render(
            request, "campaigns/_contacts.html", {"campaign": campaign, **contacts_context(request, campaign)}
        )
    context = {
        **board_context(campaign),
        **contacts_context(request, campaign),
        "validation": campaign_validation(campaign),
        "rejected": list(rejected_contacts(campaign)[:REJECTED_ROWS_SHOWN]),
        "settings": settings_summary(campaign),
    }
    if campaign.status not in CampaignStatus.finished():
        context["forecast"] = forecast_chart(campaign_forecast(campaign))
    return render(request, "campaigns/detail.html", context)


@require_GET
@require(Capability.VIEW)
def campaign_board(request: HttpRequest, campaign_id: str) -> HttpResponse:
    """The page's live part alone, fetched by live.js on every (re)connect and status change."""
    return render(request, "campaigns/_board.html", board_context(campaign_for_page(campaign_id)))


@require_POST
@require(Capability.OPERATE)
def campaign_control(request: HttpRequest, campaign_id: str, verb: str) -> HttpResponse:
    """Start, pause, resume or cancel; a move the status does not allow is said on the page."""
    campaign = campaign_for_page(campaign_id)
    try:
        MOVES[verb](actor=request.user, campaign=campaign)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Campaign {campaign.name} {MOVED[verb]}.")
    return redirect("campaigns:detail", campaign.public_id)


@require_GET
@require(Capability.VIEW)
def campaign_rejected_rows(request: HttpRequest, campaign_id: str) -> HttpResponse:
    """Every row the import refused, as the file had it, with the error's code and message: to fix and
    upload again."""
    campaign = campaign_for_page(campaign_id)
    return csv_response(
        request,
        header=rejected_rows_header(campaign),
        rows=rejected_rows(campaign),
        filename=f"{campaign.public_id}-rejected-rows.csv",
    )


@require_GET
@require(Capability.VIEW)
def campaign_results(request: HttpRequest, campaign_id: str) -> HttpResponse:
    """One line per contact: its row and cells, then its number, state, attempts, calls and last outcome."""
    campaign = campaign_for_page(campaign_id)
    return csv_response(
        request,
        header=results_header(campaign),
        rows=results_rows(campaign),
        filename=f"{campaign.public_id}-results.csv",
    )


@require_GET
@require(Capability.COMPLIANCE)
def campaign_evidence(request: HttpRequest, campaign_id: str) -> FileResponse:
    """Every call's evidence record, zipped (campaigns/evidence.py)."""
    campaign = campaign_for_page(campaign_id)
    name = f"{campaign.public_id}-evidence.zip"
    return FileResponse(campaign_evidence_zip(campaign), as_attachment=True, filename=name)


# --- a new campaign -----------------------------------------------------------------------------------------


def _progress_key(request: HttpRequest, token: str) -> str:
    return f"campaigns:import_progress:{request.user.pk}:{token}"


def progress_recorder(request: HttpRequest, token: str) -> Callable[[int], None] | None:
    """Where the import tells how many rows it has read, for the page polling `import-progress/<token>`."""
    if not PROGRESS_TOKEN.fullmatch(token):
        return None
    key = _progress_key(request, token)

    def record(rows: int) -> None:
        try:
            cache.set(key, rows, PROGRESS_SECONDS)
        except (RedisError, OSError):  # the progress bar stalls; the import goes on
            log.warning("campaign import progress not kept: the cache is unreachable", exc_info=True)

    return record


def new_form_context(*, values: dict | None = None, errors: dict | None = None) -> dict:
    """The new-campaign form with what was typed (or the defaults) and the errors by field."""
    values = dict(values or {})
    for name, default in DEFAULTS.items():
        values.setdefault(name, str(default))
    checked = values.pop("retry_outcomes_checked", None)
    return {
        "agents": Agent.objects.filter(is_active=True).order_by("name"),
        "values": values,
        "errors": errors or {},
        "retry_outcomes": RetryOutcome.choices,
        "checked_outcomes": checked if checked is not None else ["no_answer", "busy"],
        "progress_token": secrets.token_urlsafe(24),
    }


def _typed(request: HttpRequest) -> dict:
    values = {name: request.POST.get(name, "") for name in request.POST if name != "csrfmiddlewaretoken"}
    outcomes = ",".join(request.POST.getlist("retry_outcomes"))
    values["retry_outcomes_checked"] = [o.strip() for o in outcomes.split(",") if o.strip()]
    return values


def _refused(
    request: HttpRequest, errors: dict[str, str], *, status: int = 400, code: str = "invalid"
) -> HttpResponse:
    """The form again with its errors (a plain post), or the errors as JSON (the page's upload)."""
    if _wants_json(request):
        field, message = next(iter(errors.items()))
        return JsonResponse(
            {**error_body(code, message, None if field == "form" else field), "errors": errors}, status=status
        )
    return render(
        request, "campaigns/new.html", new_form_context(values=_typed(request), errors=errors), status=status
    )


@require_http_methods(["GET", "POST"])
@require(Capability.OPERATE)
def campaign_new(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        return render(request, "campaigns/new.html", new_form_context())
    errors: dict[str, str] = {}
    upload = request.FILES.get("file")
    if upload is None:
        errors["file"] = "Choose a CSV file of contacts."
    agent = Agent.objects.filter(public_id=request.POST.get("agent_id", ""), is_active=True).first()
    if agent is None:
        errors["agent_id"] = "Choose the agent that will make the calls."
    name = request.POST.get("name", "").strip() or (PurePath(upload.name).stem if upload else "")
    if upload is not None and not name:
        errors["name"] = "Give the campaign a name."
    try:
        options = campaign_options_parse(request.POST)
    except DomainError as exc:
        errors[exc.field or "form"] = exc.message
    if errors:
        return _refused(request, errors)
    record = progress_recorder(request, request.POST.get("progress_token", ""))
    try:
        campaign, report = services.campaign_create(
            actor=request.user,
            name=name[:200],
            agent=agent,
            upload=upload.file,
            file_name=upload.name or "",
            size=upload.size,
            phone_column=request.POST.get("phone_column", "").strip(),
            options=options,
            progress=record,
        )
    except DomainError as exc:
        field = exc.field if exc.field in {"agent_id", "name", "phone_column"} else "file"
        return _refused(request, {field: exc.message}, status=exc.status, code=exc.code)
    if record is not None:
        record(report.rows)
    messages.success(
        request,
        f"Campaign {campaign.name} created as a draft: {report.accepted} of {report.rows} rows ready to call, "
        f"{report.rejected} rejected. Check the forecast, then start it.",
    )
    url = reverse("campaigns:detail", args=[campaign.public_id])
    if _wants_json(request):
        return JsonResponse(
            {"id": campaign.public_id, "redirect": url, "validation": report.counts()}, status=201
        )
    return redirect(url)


@require_POST
@require(Capability.OPERATE)
def campaign_preview(request: HttpRequest) -> JsonResponse:
    """The header, a few rows and the guessed phone column of the file's start (the page sends only that)."""
    upload = request.FILES.get("file")
    if upload is None:
        return JsonResponse(error_body("required", "Choose a CSV file of contacts.", "file"), status=400)
    try:
        preview = csv_preview(upload.file, rows=PREVIEW_ROWS)
    except DomainError as exc:
        return JsonResponse(error_body(exc.code, exc.message, exc.field or "file"), status=exc.status)
    return JsonResponse(
        {
            "columns": preview.columns,
            "sample": preview.sample,
            "phone_column": preview.phone_column,
            "encoding": preview.encoding,
            "delimiter": preview.delimiter,
        }
    )


@require_GET
@require(Capability.OPERATE)
def campaign_import_progress(request: HttpRequest, token: str) -> JsonResponse:
    """How many rows the import of the page's upload has read so far (null once forgotten or unknown)."""
    rows = None
    if PROGRESS_TOKEN.fullmatch(token):
        try:
            rows = cache.get(_progress_key(request, token))
        except (RedisError, OSError):
            log.warning("campaign import progress not read: the cache is unreachable", exc_info=True)
    return JsonResponse({"rows": rows})


# --- the demo -----------------------------------------------------------------------------------------------


@require_POST
@require(Capability.OPERATE)
def demo_start_view(request: HttpRequest) -> HttpResponse:
    result = demo_start(actor=request.user)
    if result.calls:
        messages.success(
            request, f"Demo started: {len(result.calls)} simulated calls in campaign {result.campaign.name}."
        )
    else:
        messages.error(request, "The demo placed no call: " + "; ".join(result.refused))
    return redirect("dashboard")
