"""The Webhooks pages: endpoints (with their recent success rate), add one (its secret shown once),
enable/disable, delete (asked first); an endpoint's deliveries (filter by status, CSV export), a delivery's
attempts and body, and Replay. For admins and operators, as the API."""

from collections.abc import Iterator

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from webhooks import services
from webhooks.models import DeliveryStatus, EventType
from wordcab_admin.kernel.confirm import confirm_page, confirmed
from wordcab_admin.kernel.errors import DomainError
from wordcab_admin.kernel.fastpath.asgi_streaming import csv_response
from wordcab_admin.kernel.roles import Capability, require

PAGE_ROWS = 50
EXPORT_HEADER = [
    "delivery_id", "event_id", "event_type", "status", "attempts", "last_status_code", "last_error",
    "created_at", "next_attempt_at", "delivered_at",
]  # fmt: skip


class EndpointForm(forms.Form):
    url = forms.CharField(
        max_length=services.MAX_URL_LENGTH,
        help_text="An http or https URL of yours that answers 2xx to accept a delivery.",
        widget=forms.URLInput(attrs={"placeholder": "https://example.com/wordcab/webhooks"}),
    )
    events = forms.MultipleChoiceField(choices=EventType.choices, widget=forms.CheckboxSelectMultiple)
    description = forms.CharField(max_length=services.MAX_DESCRIPTION_LENGTH, required=False)


def _list_page(request: HttpRequest, form: EndpointForm, *, status: int = 200) -> HttpResponse:
    endpoints = list(services.endpoints())
    rates = services.success_rates([e.pk for e in endpoints])
    for endpoint in endpoints:
        endpoint.rate = rates.get(endpoint.pk)
    context = {
        "section": "webhooks",
        "endpoints": endpoints,
        "form": form,
        "new_secret": request.session.pop("new_webhook_secret", None),
    }
    return render(request, "webhooks/list.html", context, status=status)


@require(Capability.OPERATE)
def endpoint_list(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return _list_page(request, EndpointForm(initial={"events": EventType.values}))
    form = EndpointForm(request.POST)
    if not form.is_valid():
        return _list_page(request, form, status=400)
    try:
        endpoint, secret = services.endpoint_create(actor=request.user, **form.cleaned_data)
    except DomainError as exc:
        form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        return _list_page(request, form, status=400)
    request.session["new_webhook_secret"] = {"endpoint": endpoint.public_id, "secret": secret}  # shown once
    messages.success(request, f"Endpoint {endpoint.url} added.")
    return redirect("webhooks:list")


@require(Capability.OPERATE)
@require_GET
def endpoint_detail(request: HttpRequest, endpoint_id: str) -> HttpResponse:
    endpoint = services.endpoint_get(endpoint_id)
    status = request.GET.get("status") or ""
    if status not in DeliveryStatus.values:
        status = ""
    deliveries = services.deliveries_of(endpoint, status=status or None)
    page = Paginator(deliveries, PAGE_ROWS).get_page(request.GET.get("page"))
    context = {
        "section": "webhooks",
        "endpoint": endpoint,
        "page": page,
        "status": status,
        "statuses": DeliveryStatus.values,
        "rate": services.success_rates([endpoint.pk]).get(endpoint.pk),
    }
    return render(request, "webhooks/detail.html", context)


@require(Capability.OPERATE)
@require_GET
def delivery_detail(request: HttpRequest, endpoint_id: str, delivery_id: str) -> HttpResponse:
    endpoint = services.endpoint_get(endpoint_id)
    delivery = services.delivery_get(endpoint, delivery_id)
    context = {
        "section": "webhooks",
        "endpoint": endpoint,
        "delivery": delivery,
        "attempts": delivery.attempts.all(),
    }
    return render(request, "webhooks/delivery.html", context)


@require(Capability.OPERATE)
@require_POST
def delivery_replay_view(request: HttpRequest, endpoint_id: str, delivery_id: str) -> HttpResponse:
    endpoint = services.endpoint_get(endpoint_id)
    delivery = services.delivery_replay(
        actor=request.user, delivery=services.delivery_get(endpoint, delivery_id)
    )
    messages.success(
        request, f"Replaying {delivery.event.type} {delivery.event.public_id}: a new attempt now."
    )
    return redirect("webhooks:delivery", endpoint.public_id, delivery.public_id)


@require(Capability.OPERATE)
@require_POST
def endpoint_enabled_view(request: HttpRequest, endpoint_id: str) -> HttpResponse:
    endpoint = services.endpoint_get(endpoint_id)
    enabled = request.POST.get("enabled") == "yes"
    services.endpoint_enabled_set(actor=request.user, endpoint=endpoint, enabled=enabled)
    messages.success(
        request,
        f"{endpoint.url} enabled: deliveries go out again."
        if enabled
        else f"{endpoint.url} disabled: its deliveries wait until it is enabled again.",
    )
    back = "webhooks:detail" if request.POST.get("next") == "detail" else None
    return redirect(back, endpoint.public_id) if back else redirect("webhooks:list")


@require(Capability.OPERATE)
@require_POST
def endpoint_delete_view(request: HttpRequest, endpoint_id: str) -> HttpResponse:
    endpoint = services.endpoint_get(endpoint_id)
    if not confirmed(request):
        return confirm_page(
            request, title="Delete a webhook endpoint", question=f"Delete the endpoint {endpoint.url}?",
            consequence="Nothing more is sent to it, including the retries still pending, and its delivery "
            "history is deleted with it. This cannot be undone: you would add it again, with a new secret.",
            action=request.path, fields={}, confirm_label="Delete it", cancel_url=reverse("webhooks:list"),
        )  # fmt: skip
    services.endpoint_delete(actor=request.user, endpoint=endpoint)
    messages.success(request, f"Endpoint {endpoint.url} deleted.")
    return redirect("webhooks:list")


@require(Capability.OPERATE)
@require_GET
def deliveries_export(request: HttpRequest, endpoint_id: str) -> HttpResponse:
    """The endpoint's deliveries (filtered by status) as CSV, streamed; times in UTC, as in the API."""
    endpoint = services.endpoint_get(endpoint_id)
    status = request.GET.get("status") or None
    if status not in (None, *DeliveryStatus.values):
        status = None

    def rows() -> Iterator[list]:
        for d in services.deliveries_of(endpoint, status=status).iterator(chunk_size=2000):
            yield [
                d.public_id, d.event.public_id, d.event.type, d.status, d.attempts_count,
                d.last_status_code or "", d.last_error, _iso(d.created_at), _iso(d.next_attempt_at),
                _iso(d.delivered_at),
            ]  # fmt: skip

    return csv_response(
        request, header=EXPORT_HEADER, rows=rows(), filename=f"{endpoint.public_id}-deliveries.csv"
    )


def _iso(value) -> str:
    return value.isoformat().replace("+00:00", "Z") if value else ""
