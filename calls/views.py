"""Pages of the calls app: the calls list (filters, live rows, CSV), the call page with its timeline, and
the place-a-test-call form. Thin: the same filters, services and lifecycle as the API."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

from django.contrib import messages
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST
from rest_framework.exceptions import ValidationError

from agents.models import Agent
from agents.selectors import agent_get
from calls.api import CallCreateInput
from calls.filters import CallFilter
from calls.lifecycle import call_hangup
from calls.models import Call, CallStatus, Direction
from calls.outcomes import call_object_outcome
from calls.selectors import call_search_parse, calls_matching, calls_search_slice
from calls.serializers import call_object
from calls.services import call_create, call_get, calls_for_display
from calls.timeline import call_timeline
from wordcab_admin.kernel.api_errors import _first_validation_error
from wordcab_admin.kernel.errors import DomainError
from wordcab_admin.kernel.fastpath.asgi_streaming import csv_response
from wordcab_admin.kernel.filtering import filters_of, invalid_filters
from wordcab_admin.kernel.roles import Capability, require

PAGE_SIZE = 50
CSV_FIELDS = [
    "id", "agent_id", "campaign_id", "direction", "from_number", "phone_number", "status", "end_reason",
    "error_code", "error_message", "max_duration", "record", "jurisdiction", "consent_delivered_at",
    "created_at", "answered_at", "ended_at", "duration", "outcome",
]  # fmt: skip


def _filtered(request: HttpRequest) -> CallFilter:
    return filters_of(request, CallFilter, calls_for_display())


@require(Capability.VIEW)
@require_GET
def call_list(request: HttpRequest) -> HttpResponse:
    filters = _filtered(request)
    search = call_search_parse(request.GET.get("q", ""))
    calls: list[Call] = []
    older = searched_back_to = None
    if filters.is_valid():
        before = _before(request.GET.get("before", ""))
        if search is None:
            rows = filters.qs.order_by("-id")
            if before is not None:
                rows = rows.filter(pk__lt=before)
            floor, more_before = None, False
        else:
            searched = calls_search_slice(filters.qs, search, below=before)
            rows, floor, more_before = searched.calls.order_by("-id"), searched.floor, searched.more_before
        calls = list(rows[: PAGE_SIZE + 1])
        query = request.GET.copy()
        if len(calls) > PAGE_SIZE:
            calls = calls[:PAGE_SIZE]
            query["before"] = str(calls[-1].pk)
            older = query.urlencode()
        elif more_before:  # the search read its slice: offer the one before it
            query["before"] = str(floor)
            older = query.urlencode()
            searched_back_to = _created_at_of(floor)
    export = request.GET.copy()
    export.pop("before", None)
    context = {
        "calls": calls,
        "filters": filters,
        "errors": filters.errors,
        "older": older,
        "searched_back_to": searched_back_to,
        "search": search,
        "export_query": export.urlencode(),
        "statuses": CallStatus.choices,
        "directions": Direction.choices,
        "agents": Agent.objects.order_by("name").only("public_id", "name"),
        "campaigns": _campaign_choices(),
        "selected": request.GET,
        "filtered": search is not None or any(request.GET.get(k) for k in filters.filters),
    }
    return render(request, "calls/list.html", context)


def _created_at_of(call_pk: int):
    return Call.objects.filter(pk=call_pk).values_list("created_at", flat=True).first()


def _before(raw: str) -> int | None:
    """The `before=` of an older page: a call id, or None (the newest page) for anything else. Not
    `isdigit()`, which takes "²" that int() refuses, nor a number past a database integer; only the digits
    the page's own link carries."""
    if not (raw.isascii() and raw.isdecimal()) or len(raw) > 19:
        return None
    value = int(raw)
    return value if value < 2**63 else None


def _campaign_choices() -> QuerySet:
    """The campaign filter's choices, through Call's relation: campaigns stand above calls in the layers."""
    campaign_model = Call._meta.get_field("campaign").related_model
    return campaign_model.objects.order_by("-id").only("public_id", "name")[:200]


@require(Capability.VIEW)
@require_GET
def call_export(request: HttpRequest) -> HttpResponse:
    """The filtered (and searched) calls list as CSV, streamed, so a large export never sits in memory. Times are
    UTC, as in the API, whatever the viewer's time zone; `outcome` is the label the pages show."""
    filters = _filtered(request)
    if not filters.is_valid():
        return invalid_filters(filters)
    calls = filters.qs
    search = call_search_parse(request.GET.get("q", ""))
    if search is not None:
        calls = calls_matching(calls, search)

    def rows() -> Iterator[list]:
        for call in _newest_first_pages(calls):
            data = call_object(call)
            error = data["error"] or {}
            data.update(error_code=error.get("code", ""), error_message=error.get("message", ""))
            data["outcome"] = call_object_outcome(data)
            yield ["" if data[f] is None else data[f] for f in CSV_FIELDS]

    return csv_response(request, header=CSV_FIELDS, rows=rows(), filename="calls.csv")


EXPORT_PAGE = 2000
EXPORT_FIRST_PAGE = 500  # the first CSV chunk's rows (CSV_CHUNK_ROWS): the first byte waits for no more


def _newest_first_pages(calls: QuerySet[Call]) -> Iterator[Call]:
    """Every call of `calls`, newest first, read a page at a time below the last id seen. A held cursor
    (`.iterator()`) on PostgreSQL runs the whole query before its first row (the sort over every match), so a
    million calls cost seconds before the first byte; a page below an id is an index range read, and each
    page is its own short query, so no transaction stays open while the client downloads. A page's ids are
    read first, then its rows with their joins (agent, campaign, recording, analysis) by id: with the joins
    and a limit of thousands the planner would rather hash-join the whole table than walk the index."""
    below, size = None, EXPORT_FIRST_PAGE
    while True:
        newest = calls.order_by("-id")
        if below is not None:
            newest = newest.filter(pk__lt=below)
        ids = list(newest.values_list("pk", flat=True)[:size])
        yield from calls.filter(pk__in=ids).order_by("-id")
        if len(ids) < size:
            return
        below, size = ids[-1], EXPORT_PAGE


def _detail_context(call: Call) -> dict:
    return {"call": call, "timeline": call_timeline(list(call.events.order_by("received_at", "id")[:1000]))}


@require(Capability.VIEW)
@require_GET
def call_detail(request: HttpRequest, call_id: str) -> HttpResponse:
    return render(request, "calls/detail.html", _detail_context(_page_call(call_id)))


@require(Capability.VIEW)
@require_GET
def call_detail_partial(request: HttpRequest, call_id: str) -> HttpResponse:
    return render(request, "calls/_call_detail.html", _detail_context(_page_call(call_id)))


@require(Capability.VIEW)
@require_GET
def call_row(request: HttpRequest, call_id: str) -> HttpResponse:
    return render(request, "calls/_call_row.html", {"call": _page_call(call_id)})


def _page_call(call_id: str) -> Call:
    try:
        return call_get(call_id=call_id)
    except DomainError:
        raise Http404(f"No call {call_id}") from None


@require(Capability.OPERATE)
@require_POST
def call_hangup_view(request: HttpRequest, call_id: str) -> HttpResponse:
    call = _page_call(call_id)
    try:
        call_hangup(call=call, actor=request.user)
    except DomainError as exc:
        messages.error(request, exc.message)
    if request.headers.get("HX-Request"):
        return render(request, "calls/_call_detail.html", _detail_context(_page_call(call_id)))
    return redirect("calls:detail", call_id=call_id)


@require(Capability.OPERATE)
@require_POST
def call_place_view(request: HttpRequest, agent_id: str) -> HttpResponse:
    """The agent page's "place a test call" form: the same validation and service as the API."""
    try:
        agent = agent_get(agent_id, code="agent_not_found")
    except DomainError:
        raise Http404(f"No agent {agent_id}") from None
    data = {
        "phone_number": request.POST.get("phone_number", "").strip(),
        "context": request.POST.get("context", ""),
        "record": "true" if request.POST.get("record") else "false",
        "idempotency_key": request.POST.get("idempotency_key") or str(uuid.uuid4()),
    }
    if request.POST.get("from_number", "").strip():
        data["from_number"] = request.POST["from_number"].strip()
    if request.POST.get("max_duration", "").strip():
        data["max_duration"] = request.POST["max_duration"].strip()
    error_field, error = None, ""
    try:
        serializer = CallCreateInput(data=data)
        serializer.is_valid(raise_exception=True)
        valid = serializer.validated_data
        call, created = call_create(
            agent=agent,
            to_number=valid["phone_number"],
            context=valid["context"],
            max_duration=valid.get("max_duration"),
            record=valid.get("record"),
            idempotency_key=valid["idempotency_key"],
            actor=request.user,
            from_number=valid.get("from_number"),
        )
    except ValidationError as exc:
        error_field, error, _code = _first_validation_error(exc.detail)
    except DomainError as exc:
        error_field, error = exc.field, exc.message
    if error:
        if request.headers.get("HX-Request"):
            context = {"agent": agent, "error": error, "error_field": error_field, "values": request.POST}
            return render(request, "calls/_place_call_form.html", context)
        messages.error(request, f"Call not placed: {error}")
        return redirect(request.headers.get("Referer") or reverse("calls:list"))
    url = reverse("calls:detail", kwargs={"call_id": call.public_id})
    if request.headers.get("HX-Request"):
        response = HttpResponse(status=204)
        response["HX-Redirect"] = url
        return response
    return redirect(url)
