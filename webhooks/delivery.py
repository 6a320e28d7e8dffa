"""Sending a delivery: claim it, POST the signed event to the endpoint's checked address, store the
attempt, and schedule the next one or settle it.

At least once: a delivery stays `pending` until a 2xx answer, with the same event id (in the body and the
`Wordcab-Event-Id` header) on every attempt, so a receiver drops what it already took. One attempt at a
time per delivery: an attempt first claims the row with one conditional UPDATE (pending, due, and no
unexpired claim), which PostgreSQL serialises on the row lock and SQLite on its write lock; the claim is a
lease, so the attempt of a worker that died is made again once it expires. The database row is the truth:
the task sent after commit is the fast path, `deliveries_due_sweep` finds whatever a lost task left due."""

from __future__ import annotations

import json
import logging
import random
import secrets
import time
from dataclasses import dataclass
from datetime import timedelta

import httpx
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from webhooks import signing
from webhooks.emit import deliveries_enqueue
from webhooks.models import DeliveryStatus, WebhookAttempt, WebhookDelivery
from webhooks.net_guard import Refused, Target, target_checked
from webhooks.secret_store import endpoint_secret

log = logging.getLogger(__name__)

# The wait after the 1st, 2nd, … failed attempt in a row; jitter adds up to a fifth to each so that an
# endpoint's backlog does not come back all at once. The waits add up to more than 32 hours (at least 24
# were promised), then the delivery is `failed`: 9 attempts in all.
RETRY_DELAYS = [
    timedelta(seconds=10),
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=6),
    timedelta(hours=12),
    timedelta(hours=12),
]
JITTER = 0.2
TIMEOUT_SECONDS = 10.0
LEASE = timedelta(seconds=90)  # longer than an attempt may take (connect + send + read, 10 s each at most)
BODY_KEPT = 2048  # bytes of the answer stored with the attempt
USER_AGENT = "Wordcab-Webhooks/1"
SOON_ENOUGH_FOR_A_TASK = timedelta(minutes=1)  # a later retry is left to the sweep (no long ETAs in Redis)


@dataclass(frozen=True)
class Outcome:
    status_code: int | None = None
    body: str = ""
    error: str = ""
    connected_to: str = ""

    @property
    def accepted(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def retry_delay(failures_in_row: int) -> timedelta | None:
    """The wait before the next attempt after this many failures in a row; None: give up."""
    if failures_in_row > len(RETRY_DELAYS):
        return None
    base = RETRY_DELAYS[failures_in_row - 1]
    return base * (1 + random.uniform(0, JITTER))  # noqa: S311 -- spreading retries, not a secret


def delivery_claim(delivery_id: int, *, now=None) -> str | None:
    """Take the one attempt in flight of this delivery, if it is due and nobody holds it: the claim's token."""
    now = now or timezone.now()
    token = secrets.token_hex(16)
    claimed = (
        WebhookDelivery.objects.filter(
            pk=delivery_id, status=DeliveryStatus.PENDING, next_attempt_at__lte=now
        )
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        .update(claimed_until=now + LEASE, claim_token=token)
    )
    return token if claimed else None


def _claim_release(delivery_id: int, token: str) -> None:
    WebhookDelivery.objects.filter(pk=delivery_id, claim_token=token).update(
        claimed_until=None, claim_token=""
    )


def delivery_attempt(*, delivery_id: int) -> WebhookAttempt | None:
    """Make the delivery's next attempt if it is due and unclaimed: the attempt, or None (not due, held
    by another attempt, settled, or its endpoint disabled or deleted)."""
    token = delivery_claim(delivery_id)
    if token is None:
        return None
    delivery = WebhookDelivery.objects.select_related("endpoint", "event").filter(pk=delivery_id).first()
    if delivery is None:
        return None
    if not delivery.endpoint.enabled:  # left pending: it goes out once the endpoint is enabled again
        _claim_release(delivery_id, token)
        return None
    started_at = timezone.now()
    started = time.monotonic()
    outcome = _send(delivery)
    duration_ms = round((time.monotonic() - started) * 1000)
    return _attempt_record(delivery, token, outcome, started_at=started_at, duration_ms=duration_ms)


def _send(delivery: WebhookDelivery) -> Outcome:
    secret = endpoint_secret(delivery.endpoint)
    if secret is None:
        return Outcome(error="The endpoint's secret no longer decrypts (SECRET_KEY changed): re-create it.")
    try:
        target = target_checked(delivery.endpoint.url)
    except Refused as refused:
        return Outcome(error=str(refused))
    body = delivery.event.body.encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "Wordcab-Event-Id": delivery.event.public_id,
        "Wordcab-Event-Type": delivery.event.type,
        signing.HEADER: signing.signature_header(secret=secret, timestamp=int(time.time()), body=body),
    }
    return _post_to_checked_address(delivery.endpoint.url, target, body, headers)


def _host_header(target: Target) -> str:
    host = f"[{target.host}]" if ":" in target.host else target.host
    default_port = 443 if target.scheme == "https" else 80
    return host if target.port == default_port else f"{host}:{target.port}"


def _post_to_checked_address(url: str, target: Target, body: bytes, headers: dict[str, str]) -> Outcome:
    """POST to the first checked address that takes the connection. The URL names the IP, so the client
    resolves nothing; Host and TLS's server name stay the URL's (the certificate is checked against it).
    No redirects: a 3xx is an answer, not a 2xx. No proxies from the environment: they would connect
    elsewhere than the address checked."""
    last_error = ""
    extensions = {"sni_hostname": target.host} if target.scheme == "https" else {}
    with httpx.Client(timeout=TIMEOUT_SECONDS, follow_redirects=False, trust_env=False) as client:
        for address in target.addresses:
            pinned = httpx.URL(url).copy_with(host=address)
            try:
                with client.stream(
                    "POST",
                    pinned,
                    content=body,
                    headers={**headers, "Host": _host_header(target)},
                    extensions=extensions,
                ) as response:
                    return Outcome(
                        status_code=response.status_code, body=_first_bytes(response), connected_to=address
                    )
            except httpx.ConnectError as exc:
                last_error = f"could not connect to {address}: {exc}"
                continue
            except httpx.TimeoutException:
                return Outcome(error=f"no answer within {TIMEOUT_SECONDS:.0f} s", connected_to=address)
            except httpx.HTTPError as exc:
                return Outcome(error=f"{type(exc).__name__}: {exc}"[:500], connected_to=address)
    return Outcome(error=last_error[:500] or "no address to connect to")


def _first_bytes(response: httpx.Response) -> str:
    kept = b""
    for chunk in response.iter_raw():
        kept += chunk
        if len(kept) >= BODY_KEPT:
            break
    return kept[:BODY_KEPT].decode("utf-8", errors="replace")


def _attempt_record(
    delivery: WebhookDelivery, token: str, outcome: Outcome, *, started_at, duration_ms: int
) -> WebhookAttempt:
    """Store the attempt and move the delivery (succeeded, a retry's time, or failed), releasing the claim."""
    now = timezone.now()
    retry_soon = None
    with transaction.atomic():
        locked = WebhookDelivery.objects.select_for_update().get(pk=delivery.pk)
        attempt = WebhookAttempt.objects.create(
            delivery=locked,
            number=locked.attempts_count + 1,
            started_at=started_at,
            duration_ms=duration_ms,
            status_code=outcome.status_code,
            succeeded=outcome.accepted,
            response_body=outcome.body,
            error=outcome.error[:500],
            connected_to=outcome.connected_to[:64],
            replay=locked.replay_requested,
        )
        locked.attempts_count += 1
        locked.last_status_code = outcome.status_code
        locked.last_error = _error_summary(outcome)
        locked.replay_requested = False
        if locked.claim_token == token:
            locked.claim_token, locked.claimed_until = "", None
        if outcome.accepted:
            locked.status, locked.next_attempt_at, locked.delivered_at = DeliveryStatus.SUCCEEDED, None, now
            locked.failures_in_row = 0
        else:
            locked.failures_in_row += 1
            delay = retry_delay(locked.failures_in_row)
            if delay is None:
                locked.status, locked.next_attempt_at = DeliveryStatus.FAILED, None
            else:
                locked.next_attempt_at = now + delay
                retry_soon = delay if delay <= SOON_ENOUGH_FOR_A_TASK else None
        locked.save()
        if retry_soon is not None:
            transaction.on_commit(
                lambda: deliveries_enqueue([delivery.pk], countdown=retry_soon.total_seconds())
            )
    if not outcome.accepted:
        log.info("webhook %s to %s: %s", delivery.public_id, delivery.endpoint.url, locked.last_error)
    return attempt


def _error_summary(outcome: Outcome) -> str:
    if outcome.error:
        return outcome.error[:500]
    if outcome.accepted:
        return ""
    return f"HTTP {outcome.status_code}: {json.dumps(outcome.body[:200])}"[:500]


def deliveries_due(*, now=None, limit: int = 500) -> list[int]:
    """Ids of pending deliveries of enabled endpoints that are due and held by no attempt, oldest first.
    On PostgreSQL rows being claimed right now are skipped (SKIP LOCKED), not waited for."""
    now = now or timezone.now()
    with transaction.atomic():
        return list(
            WebhookDelivery.objects.filter(
                status=DeliveryStatus.PENDING, next_attempt_at__lte=now, endpoint__enabled=True
            )
            .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
            .order_by("next_attempt_at")
            .select_for_update(skip_locked=True, of=("self",))
            .values_list("pk", flat=True)[:limit]
        )


def deliveries_due_sweep() -> int:
    """Send a task for each due delivery (a task lost, a worker dead, a retry's time come)."""
    due = deliveries_due()
    deliveries_enqueue(due)
    return len(due)
