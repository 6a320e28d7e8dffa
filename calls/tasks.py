"""Celery tasks of the calls app: each takes ids, loads, and calls a service or the lifecycle."""

from __future__ import annotations

import logging

from celery import shared_task

from calls import lifecycle, services
from calls.providers import ProviderUnavailable

log = logging.getLogger(__name__)

PLACE_MAX_RETRIES = 6


@shared_task(name="calls.place", bind=True, acks_late=True, ignore_result=True, max_retries=PLACE_MAX_RETRIES)
def place(self, call_id: int) -> str | None:
    """Place a call; retried with exponential backoff while the provider is unavailable, then failed."""
    try:
        return services.call_place(call_id=call_id)
    except ProviderUnavailable as exc:
        if self.request.retries >= self.max_retries:
            lifecycle.call_place_failed(
                call_id=call_id,
                code="provider_unavailable",
                message=f"The telephony provider stayed unreachable: {exc}",
            )
            return None
        raise self.retry(exc=exc, countdown=min(2**self.request.retries, 60)) from exc


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
