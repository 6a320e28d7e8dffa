"""Calls: creating outbound calls (idempotently), placing them through their provider, the single-use
tokens that let one media stream start per call, reading them."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone

from agents.models import Agent, PhoneNumber, Provider
from agents.phone import InvalidPhoneNumber, normalize_e164
from calls.announce import call_changed_on_commit
from calls.audit import call_placed_audit
from calls.lifecycle import call_place_failed
from calls.models import Call, CallStatus, Direction
from calls.providers import ProviderRejected, ProviderUnavailable, outbound_capable, provider_for
from compliance.clearance import Clearance, call_clearance
from wordcab_admin.kernel.errors import Conflict, IdempotencyConflict, NotFound, Unprocessable
from wordcab_admin.kernel.tasks import task_send_or_leave_to_sweep

log = logging.getLogger(__name__)

CONTEXT_MAX_BYTES = 16 * 1024

# The outbox's timings. The task sent after commit places a call within milliseconds; the sweep only takes
# calls it has not placed PLACE_HANDOVER_SECONDS after they were due (its task lost with the broker or the
# worker). An attempt whose outcome is unknown (the process died during the provider's request) is retried
# at once where the provider drops a repeated request (it knows the request key), else only after
# PLACE_UNKNOWN_OUTCOME_SECONDS, by when the provider's first callback has told us of the call if it exists.
PLACE_HANDOVER_SECONDS = 3
PLACE_UNKNOWN_OUTCOME_SECONDS = 60
PLACE_MAX_ATTEMPTS = 7
PLACE_BACKOFF_MAX_SECONDS = 60


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def request_fingerprint(body: dict[str, Any]) -> str:
    """sha256 of the request body in canonical JSON: tells a retry from a reuse of the key."""
    return hashlib.sha256(canonical_json(body).encode()).hexdigest()


def call_get(*, call_id: str) -> Call:
    try:
        return calls_for_display().get(public_id=call_id)
    except Call.DoesNotExist:
        raise NotFound(f"No call {call_id}.", code="call_not_found") from None


def calls_for_display() -> QuerySet[Call]:
    """Everything the call object and the call rows render, in one query."""
    return Call.objects.select_related("agent", "campaign", "recording")


def outbound_line(*, agent: Agent) -> tuple[str, str]:
    """(from_number, provider): the agent's first number that can place calls, else the simulator."""
    numbers = list(PhoneNumber.objects.filter(agent=agent).order_by("id").values_list("number", "provider"))
    for number, provider in numbers:
        if outbound_capable(provider):
            return number, provider
    if numbers:
        raise Unprocessable(
            f"None of agent {agent.public_id}'s numbers can place outbound calls "
            f"(providers: {', '.join(sorted({p for _, p in numbers}))}).",
            code="no_outbound_number",
        )
    return "", Provider.SIMULATOR


def call_create(
    *,
    agent: Agent,
    to_number: str,
    context: dict[str, Any] | None = None,
    max_duration: int | None = None,
    record: bool | None = None,
    idempotency_key: str | None = None,
    actor: Any = None,
    campaign: Any = None,
    now: datetime | None = None,
) -> tuple[Call, bool]:
    """Create an outbound call; after commit, announce it (`initiating`) and enqueue its placing. Returns
    (call, created).

    Every new call is cleared first (compliance.clearance, at `now`, default the wall clock): a callee on
    the do-not-call list or outside their calling window is a 422 `do_not_call` or
    `outside_calling_window` and nothing is created; a cleared call stores the decision.

    With an idempotency key (scoped to `actor`), a repeat with the same body returns the first call
    (created=False) and a repeat with another body is a 409 `idempotency_conflict`. The database's unique
    constraint (owner, idempotency_key) decides between concurrent requests, not a check-then-insert."""
    context = {} if context is None else context
    fingerprint = request_fingerprint(
        {
            "agent_id": agent.public_id,
            "phone_number": to_number,
            "context": context,
            "max_duration": max_duration,
            "record": record,
        }
    )
    owner = actor if getattr(actor, "is_authenticated", False) else None
    if idempotency_key is not None:
        existing = _call_for_key(owner=owner, key=idempotency_key, fingerprint=fingerprint)
        if existing is not None:
            return existing, False
    if not agent.is_active:
        raise Conflict(f"Agent {agent.public_id} is disabled.", code="agent_disabled", field="agent_id")
    from_number, provider = outbound_line(agent=agent)
    if provider == Provider.TWILIO and not (settings.TWILIO_ACCOUNT_SID and settings.TWILIO_AUTH_TOKEN):
        raise Unprocessable(
            "The agent's number is on Twilio, but Twilio is not configured "
            "(TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN).",
            code="provider_not_configured",
        )
    clearance = _cleared_or_refused(agent=agent, to_number=to_number, from_number=from_number, now=now)
    fields = {
        "agent": agent,
        "campaign": campaign,
        "direction": Direction.OUTBOUND,
        "from_number": from_number,
        "to_number": to_number,
        "jurisdiction": _person_jurisdiction(clearance),  # the callee's: country, US state by area code
        "decision": clearance.decision,
        "context": context,
        "max_duration": max_duration if max_duration is not None else agent.max_duration,
        "record": record if record is not None else agent.record,
        "provider": provider,
        "owner": owner,
        "idempotency_key": idempotency_key,
        "request_fingerprint": fingerprint,
        "last_event_at": timezone.now(),
        "place_due_at": timezone.now() + timedelta(seconds=PLACE_HANDOVER_SECONDS),
    }
    try:
        with transaction.atomic():
            call = Call.objects.create(**fields)
            if owner is not None:  # placed by a person or an API key: audited with the call, atomically
                call_placed_audit(call=call, actor=actor)
    except IntegrityError:
        if idempotency_key is None:
            raise
        # A concurrent request with the same key won the insert: answer with its call.
        existing = _call_for_key(owner=owner, key=idempotency_key, fingerprint=fingerprint)
        if existing is None:
            raise
        return existing, False
    # After the commit (the caller's, when it holds a transaction, e.g. a campaign's): live viewers see the
    # new call as `initiating`, then it is placed, in that order; a rolled-back create does neither.
    call_changed_on_commit(call)
    transaction.on_commit(lambda: call_place_enqueue(call_id=call.pk))  # the outbox's fast path
    return call, True


def _cleared_or_refused(*, agent: Agent, to_number: str, from_number: str, now: datetime | None) -> Clearance:
    clearance = call_clearance(
        agent=agent,
        callee_number=to_number,
        caller_number=from_number,
        direction=Direction.OUTBOUND,
        now=now,
    )
    if clearance.refusal is not None:
        code, message = clearance.refusal
        log.info("call of %s to %s refused: %s", agent.public_id, to_number, code)
        opens_at = clearance.decision["calling_window"]["opens_next"]
        extra = {"opens_at": opens_at} if code == "outside_calling_window" else {}
        raise Unprocessable(message, code=code, field="phone_number", **extra)
    return clearance


def _person_jurisdiction(clearance: Clearance) -> str:
    """The jurisdiction of the person on the line: the callee of an outbound call, the caller of an inbound
    one (the call's `jurisdiction`; the decision has both parties')."""
    decision = clearance.decision
    return decision["jurisdictions"][decision["person"]]["jurisdiction"]


def _call_for_key(*, owner: Any, key: str, fingerprint: str) -> Call | None:
    # A plain lookup first: most keys are new, and the display query's joins cost a campaign's dispatch.
    if not Call.objects.filter(owner=owner, idempotency_key=key).exists():
        return None
    call = calls_for_display().filter(owner=owner, idempotency_key=key).first()
    if call is not None and call.request_fingerprint != fingerprint:
        raise IdempotencyConflict(
            "This idempotency key was already used with a different request body.", field="idempotency_key"
        )
    return call


def inbound_call_record(
    *, agent: Agent, provider: str, provider_call_id: str, from_number: str, to_number: str
) -> Call:
    """The inbound call a carrier announces, created once per provider call id (a retried webhook finds
    the first one) and announced to live viewers. Its decision is recorded (both parties' jurisdictions,
    the opener, the retention) but never refuses it: the caller called us."""
    clearance = call_clearance(
        agent=agent,
        callee_number=_e164_or_empty(to_number),
        caller_number=_e164_or_empty(from_number),
        direction=Direction.INBOUND,
    )
    fields = {
        "agent": agent,
        "direction": Direction.INBOUND,
        "from_number": from_number[:20],
        "to_number": to_number[:20],
        "status": CallStatus.INITIATING,
        "record": agent.record,
        "max_duration": agent.max_duration,
        "jurisdiction": _person_jurisdiction(clearance),  # the caller's
        "decision": clearance.decision,
    }
    key = {"provider": provider, "provider_call_id": provider_call_id[:64]}
    try:
        with transaction.atomic():
            call, created = Call.objects.get_or_create(**key, defaults=fields)
    except IntegrityError:  # a concurrent retry of the same webhook won the insert
        call, created = Call.objects.get(**key), False
    if created:
        log.info(
            "Inbound call %s from %s to %s → %s", call.public_id, from_number, to_number, agent.public_id
        )
        call_changed_on_commit(call)
    return call


def _e164_or_empty(raw: str) -> str:
    """A carrier's From/To as E.164, or "" for what is no number ("anonymous", a SIP URI to an agent id)."""
    try:
        return normalize_e164(raw)
    except InvalidPhoneNumber:
        return ""


class StreamRefused(Exception):
    """A media stream may not start for this call; nothing was written to it. The message says why."""


def stream_token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def call_stream_token_issue(*, call: Call) -> str:
    """A new single-use token for the media stream the TwiML being rendered for `call` will open; only its
    sha256 is kept. Each TwiML rendered replaces the previous token, so after a retried webhook (or a
    retried placing) only the latest TwiML, the one the carrier acts on, can open the stream. Nothing is
    stored for a call that has ended or already has its stream (its TwiML's token will be refused)."""
    token = secrets.token_urlsafe(32)
    Call.objects.filter(pk=call.pk, status__in=CallStatus.active(), stream_started_at__isnull=True).update(
        stream_token_hash=stream_token_digest(token)
    )
    return token


def call_stream_claim(*, call: Call, token: str, now: datetime | None = None) -> None:
    """Let the media stream presenting `token` start for `call`, once: the call must be active (a stream
    may connect before the carrier's `ringing` or `in-progress` callback is applied, and inbound calls stay
    `initiating` until their stream starts), have no stream yet, and `token` must be the one issued last.
    The token is consumed by one conditional UPDATE, so of two streams racing with it only one starts.
    Raises StreamRefused (nothing written) otherwise. `call` is the caller's read: the UPDATE decides."""
    if call.status not in CallStatus.active():
        raise StreamRefused(f"the call has ended ({call.status})")
    if call.stream_started_at is not None:
        raise StreamRefused("the call already has a stream")
    if not token:
        raise StreamRefused("no stream token")
    digest = stream_token_digest(token)
    if not call.stream_token_hash or not hmac.compare_digest(digest, call.stream_token_hash):
        raise StreamRefused("wrong or stale stream token")
    claimed = Call.objects.filter(
        pk=call.pk,
        agent_id=call.agent_id,
        status__in=CallStatus.active(),
        stream_started_at__isnull=True,
        stream_token_hash=digest,
    ).update(stream_token_hash="", stream_started_at=now or timezone.now())
    if not claimed:
        raise StreamRefused("the token was used or replaced, or the call ended, meanwhile")


def call_place_enqueue(*, call_id: int) -> None:
    """The outbox's fast path: a worker places the call now. With the broker down, the call row still says
    it is to be placed, and `calls_place_sweep` places it once the broker is back."""
    task_send_or_leave_to_sweep("calls.place", {"call_id": call_id})


def call_place(*, call_id: int, now: datetime | None = None) -> str | None:
    """Place the call through its provider, once, with `call.public_id` as the request key: the row lock
    and the stored provider id make a second run (a retried, duplicated or swept task) a no-op.
    ProviderRejected fails the call; ProviderUnavailable is retried with backoff (by the sweep), and the
    call fails once PLACE_MAX_ATTEMPTS have failed."""
    provider_name = Call.objects.filter(pk=call_id).values_list("provider", flat=True).first()
    if provider_name is None:
        log.warning("call %s vanished before it was placed", call_id)
        return None
    provider = provider_for(provider_name)
    if not provider.dedupes_requests and not _place_attempt_begin(call_id=call_id, now=now):
        return Call.objects.filter(pk=call_id).values_list("provider_call_id", flat=True).first()
    with transaction.atomic():
        call = Call.objects.select_for_update().get(pk=call_id)
        if not _still_to_place(call):
            return call.provider_call_id
        try:
            provider_call_id = provider.place(call)
        except ProviderRejected as exc:
            call_place_failed(call_id=call.pk, code=exc.code, message=exc.message)
            return None
        except ProviderUnavailable as exc:
            _place_attempt_failed(call, exc, now=now or timezone.now())
            return None
        call.provider_call_id = provider_call_id
        call.place_due_at = None
        call.place_attempts += provider.dedupes_requests  # else counted by _place_attempt_begin
        call.save(update_fields=["provider_call_id", "place_due_at", "place_attempts", "updated_at"])
    return provider_call_id


def _still_to_place(call: Call) -> bool:
    if call.provider_call_id or call.status != CallStatus.INITIATING:
        # Placed already, or ended (hung up) before we got to it.
        if call.place_due_at is not None:
            Call.objects.filter(pk=call.pk).update(place_due_at=None)
        return False
    return True


def _place_attempt_begin(*, call_id: int, now: datetime | None) -> bool:
    """Commit that an attempt starts, before the provider's request, for a provider that cannot tell a
    repeated request: should this process die during it, the sweep waits for the provider's callbacks
    rather than dialling the callee a second time."""
    now = now or timezone.now()
    with transaction.atomic():
        call = Call.objects.select_for_update().get(pk=call_id)
        if not _still_to_place(call):
            return False
        call.place_attempts += 1
        call.place_due_at = now + timedelta(seconds=PLACE_UNKNOWN_OUTCOME_SECONDS)
        call.save(update_fields=["place_attempts", "place_due_at", "updated_at"])
    return True


def _place_attempt_failed(call: Call, exc: ProviderUnavailable, *, now: datetime) -> None:
    attempts = call.place_attempts + provider_for(call.provider).dedupes_requests
    if attempts >= PLACE_MAX_ATTEMPTS:
        call_place_failed(
            call_id=call.pk,
            code="provider_unavailable",
            message=f"The telephony provider stayed unreachable through {attempts} attempts: {exc}",
        )
        return
    backoff = min(2 ** (attempts - 1), PLACE_BACKOFF_MAX_SECONDS)
    log.warning("placing %s failed (%s); attempt %d in %d s", call.public_id, exc, attempts + 1, backoff)
    Call.objects.filter(pk=call.pk).update(
        place_attempts=attempts, place_due_at=now + timedelta(seconds=backoff), updated_at=now
    )


def calls_place_sweep(*, now: datetime | None = None, limit: int = 500) -> int:
    """The outbox's sweep: place every call that is due and still not with its provider (its task was
    lost, or its last attempt failed and its backoff has passed). Returns how many it tried."""
    now = now or timezone.now()
    due = list(
        Call.objects.filter(place_due_at__lte=now)
        .order_by("place_due_at")
        .values_list("pk", flat=True)[:limit]
    )
    for call_id in due:
        try:
            call_place(call_id=call_id, now=now)
        except Exception:  # one call's trouble must not hold back the others
            log.exception("the outbox sweep could not place call %s", call_id)
    return len(due)


def call_provider_hangup(*, call_id: int) -> None:
    """Drop the provider's line of a call the lifecycle has ended (ProviderUnavailable → retried)."""
    call = Call.objects.select_related("agent").get(pk=call_id)
    try:
        provider_for(call.provider).hangup(call)
    except ProviderRejected as exc:
        log.warning("provider refused to hang up %s: %s", call.public_id, exc.message)


def idempotency_keys_prune(*, now: datetime | None = None, batch_size: int = 1000) -> int:
    """Forget idempotency keys older than settings.IDEMPOTENCY_KEY_TTL_DAYS (at least 7), in batches."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.IDEMPOTENCY_KEY_TTL_DAYS)
    pruned = 0
    while True:
        batch = list(
            Call.objects.filter(idempotency_key__isnull=False, created_at__lt=cutoff).values_list(
                "pk", flat=True
            )[:batch_size]
        )
        if not batch:
            return pruned
        pruned += Call.objects.filter(pk__in=batch).update(idempotency_key=None)
