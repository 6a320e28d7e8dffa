"""Endpoints and replays: the only code that changes them, each change audited in its transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.db.models import Count, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from webhooks import signing
from webhooks.emit import deliveries_enqueue
from webhooks.models import DeliveryStatus, EventType, WebhookDelivery, WebhookEndpoint
from webhooks.net_guard import url_problem
from webhooks.secret_store import endpoint_secret_seal
from wordcab_admin.kernel.audit import audit_record
from wordcab_admin.kernel.errors import DomainError

AUDIT_OBJECT_TYPE = "webhook_endpoint"
MAX_URL_LENGTH = 2000
MAX_DESCRIPTION_LENGTH = 300
SUCCESS_RATE_WINDOW = timedelta(days=7)


def url_checked(url: str) -> str:
    url = (url or "").strip()
    if not url:
        raise DomainError("Give the URL to deliver to.", field="url", code="required")
    if len(url) > MAX_URL_LENGTH:
        raise DomainError(f"At most {MAX_URL_LENGTH} characters.", field="url", code="max_length")
    problem = url_problem(url)
    if problem:
        raise DomainError(problem, field="url", code="invalid_url")
    return url


def events_checked(events: Any) -> list[str]:
    """A non-empty list of known event types, in the documented order, each once."""
    if not isinstance(events, list | tuple) or not events:
        raise DomainError(
            f"Name at least one event: {', '.join(EventType.values)}.", field="events", code="required"
        )
    unknown = [e for e in events if not isinstance(e, str) or e not in EventType.values]
    if unknown:
        raise DomainError(
            f"Unknown event type {unknown[0]!r}; known: {', '.join(EventType.values)}.",
            field="events",
            code="invalid_choice",
        )
    return [e for e in EventType.values if e in events]


def _state(endpoint: WebhookEndpoint) -> dict:
    return {
        "url": endpoint.url,
        "events": endpoint.events,
        "description": endpoint.description,
        "enabled": endpoint.enabled,
    }


def endpoint_create(
    *, actor: Any, url: str, events: Any, description: str = "", enabled: bool = True
) -> tuple[WebhookEndpoint, str]:
    """A new endpoint and its secret (`whsec_…`): the only time the secret is given out."""
    secret = signing.secret_new()
    endpoint = WebhookEndpoint(
        url=url_checked(url),
        events=events_checked(events),
        description=(description or "").strip()[:MAX_DESCRIPTION_LENGTH],
        enabled=enabled,
        secret_sealed=endpoint_secret_seal(secret),
        created_by=actor if getattr(actor, "pk", None) else None,
    )
    with transaction.atomic():
        endpoint.save()
        audit_record(
            actor=actor,
            action="webhook_endpoint.created",
            object_type=AUDIT_OBJECT_TYPE,
            object_id=endpoint.public_id,
            after=_state(endpoint),
        )
    return endpoint, secret


def endpoint_enabled_set(*, actor: Any, endpoint: WebhookEndpoint, enabled: bool) -> WebhookEndpoint:
    if endpoint.enabled == enabled:
        return endpoint
    with transaction.atomic():
        before = _state(endpoint)
        endpoint.enabled = enabled
        endpoint.save(update_fields=["enabled", "updated_at"])
        audit_record(
            actor=actor,
            action="webhook_endpoint.enabled" if enabled else "webhook_endpoint.disabled",
            object_type=AUDIT_OBJECT_TYPE,
            object_id=endpoint.public_id,
            before=before,
            after=_state(endpoint),
        )
    if enabled:  # what waited while it was off goes out now, not at the next sweep
        due = list(
            endpoint.deliveries.filter(status=DeliveryStatus.PENDING, next_attempt_at__lte=timezone.now())
            .order_by("next_attempt_at")
            .values_list("pk", flat=True)[:500]
        )
        transaction.on_commit(lambda: deliveries_enqueue(due))
    return endpoint


def endpoint_delete(*, actor: Any, endpoint: WebhookEndpoint) -> None:
    """Delete the endpoint with its deliveries and their attempts (the events stay for other endpoints)."""
    with transaction.atomic():
        audit_record(
            actor=actor,
            action="webhook_endpoint.deleted",
            object_type=AUDIT_OBJECT_TYPE,
            object_id=endpoint.public_id,
            before=_state(endpoint),
        )
        endpoint.delete()


def delivery_replay(*, actor: Any, delivery: WebhookDelivery) -> WebhookDelivery:
    """A new attempt of the same event (same event id) now, whatever the delivery's status; if it fails,
    retries follow from the start of the schedule."""
    now = timezone.now()
    with transaction.atomic():
        locked = WebhookDelivery.objects.select_for_update().select_related("event").get(pk=delivery.pk)
        before = {"status": locked.status, "attempts": locked.attempts_count}
        locked.status = DeliveryStatus.PENDING
        locked.next_attempt_at = now
        locked.failures_in_row = 0
        locked.replay_requested = True
        locked.save(
            update_fields=["status", "next_attempt_at", "failures_in_row", "replay_requested", "updated_at"]
        )
        audit_record(
            actor=actor,
            action="webhook_delivery.replayed",
            object_type="webhook_delivery",
            object_id=locked.public_id,
            before=before,
            after={
                "status": locked.status,
                "event_id": locked.event.public_id,
                "event_type": locked.event.type,
                "endpoint_id": delivery.endpoint.public_id,
            },
        )
        transaction.on_commit(lambda: deliveries_enqueue([locked.pk]))
    return locked


# --- reads ------------------------------------------------------------------------------------------------


def endpoints() -> QuerySet[WebhookEndpoint]:
    return WebhookEndpoint.objects.order_by("-id")


def endpoint_get(endpoint_id: str) -> WebhookEndpoint:
    try:
        return WebhookEndpoint.objects.get(public_id=endpoint_id)
    except WebhookEndpoint.DoesNotExist:
        raise Http404(f"No webhook endpoint {endpoint_id}") from None


def deliveries_of(endpoint: WebhookEndpoint, *, status: str | None = None) -> QuerySet[WebhookDelivery]:
    found = endpoint.deliveries.select_related("event", "endpoint").order_by("-id")
    if status:
        found = found.filter(status=status)
    return found


def delivery_get(endpoint: WebhookEndpoint, delivery_id: str) -> WebhookDelivery:
    try:
        return endpoint.deliveries.select_related("event", "endpoint").get(public_id=delivery_id)
    except WebhookDelivery.DoesNotExist:
        raise Http404(f"No delivery {delivery_id} of {endpoint.public_id}") from None


def status_checked(raw: str | None) -> str | None:
    if not raw:
        return None
    if raw not in DeliveryStatus.values:
        raise DomainError(
            f"status: one of {', '.join(DeliveryStatus.values)}", field="status", code="invalid_choice"
        )
    return raw


@dataclass(frozen=True)
class Rate:
    succeeded: int
    settled: int  # succeeded + failed

    @property
    def percent(self) -> int | None:
        return round(100 * self.succeeded / self.settled) if self.settled else None


def success_rates(endpoint_ids: list[int]) -> dict[int, Rate]:
    """Per endpoint, its settled deliveries of the last 7 days and how many succeeded: one query."""
    since = timezone.now() - SUCCESS_RATE_WINDOW
    rows = (
        WebhookDelivery.objects.filter(endpoint_id__in=endpoint_ids, created_at__gte=since)
        .values("endpoint_id")
        .annotate(
            succeeded=Count("id", filter=Q(status=DeliveryStatus.SUCCEEDED)),
            settled=Count("id", filter=~Q(status=DeliveryStatus.PENDING)),
        )
    )
    return {row["endpoint_id"]: Rate(row["succeeded"], row["settled"]) for row in rows}
