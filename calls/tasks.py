"""Celery tasks of the calls app: each takes ids, loads, and calls a service or the lifecycle."""

from __future__ import annotations

import logging

from celery import shared_task

from calls import lifecycle, services
from calls.providers import ProviderUnavailable

log = logging.getLogger(__name__)


@shared_task(name="calls.place", acks_late=True, ignore_result=True)
def place(call_id: int) -> str | None:
    """Place a call (the outbox's fast path); a failed attempt is retried by `calls.place_sweep`."""
    return services.call_place(call_id=call_id)


@shared_task(name="calls.place_many", acks_late=True, ignore_result=True)
def place_many(call_ids: list[int]) -> int:
    """Place a batch of calls (a campaign's dispatch run: the outbox's fast path); what fails stays due for
    `calls.place_sweep`."""
    return services.calls_place_many(call_ids=call_ids)


@shared_task(name="calls.place_sweep", acks_late=True, ignore_result=True)
def place_sweep() -> int:
    return services.calls_place_sweep()


@shared_task(
    name="calls.provider_hangup",
    acks_late=True,
    ignore_result=True,
    autoretry_for=(ProviderUnavailable,),
    retry_backoff=True,
    retry_backoff_max=60,
    max_retries=8,
)
def provider_hangup(call_id: int) -> None:
    services.call_provider_hangup(call_id=call_id)


@shared_task(name="calls.max_duration_sweep", acks_late=True)
def max_duration_sweep() -> int:
    return lifecycle.calls_max_duration_sweep()


@shared_task(name="calls.stale_sweep", acks_late=True)
def stale_sweep() -> int:
    return lifecycle.calls_stale_sweep()


@shared_task(name="calls.idempotency_keys_prune", acks_late=True)
def idempotency_keys_prune() -> int:
    return services.idempotency_keys_prune()
