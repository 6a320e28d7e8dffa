"""Calls: creating outbound calls (idempotently), placing them through their provider, the single-use
tokens that let one media stream start per call, reading them."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import secrets
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from agents.models import Agent, PhoneNumber, Provider
from agents.phone import InvalidPhoneNumber, normalize_e164, region_of
from agents.services import trunk_provider_names
from calls.announce import call_changed_on_commit, calls_changed_on_commit
from calls.audit import call_placed_audit
from calls.lifecycle import call_place_failed
from calls.models import Call, CallStatus, Direction
from calls.providers import (
    ProviderRejected,
    ProviderUnavailable,
    TelephonyProvider,
    outbound_capable,
    provider_for,
)
from calls.serializers import call_object
from compliance.clearance import Clearance, call_clearance
from compliance.do_not_call import do_not_call_entries_for
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
# The providers that place a call with no number of ours to call from (the simulated carrier).
PLACES_WITHOUT_NUMBER = frozenset({Provider.SIMULATOR})
PLACED_COLUMNS = ("provider_call_id", "place_due_at", "place_attempts", "updated_at")  # what placing writes


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
    """Everything the call object and the call rows render, in one query (`analysis`: the post-call
    analysis, transcripts.models.CallAnalysis's one-to-one, named here only by its accessor)."""
    return Call.objects.select_related("agent", "campaign", "recording", "analysis")


@dataclass(frozen=True)
class AgentLines:
    """The numbers an agent may call from, read once (a campaign's run chooses one per callee)."""

    agent: Agent
    # (number, the provider its calls go through), oldest first: a SIP trunk number's is the carrier that
    # hosts the trunk (its `trunk_provider`), or `sip` (inbound only) when it has none.
    numbers: tuple[tuple[str, str], ...]

    def line_for(self, *, callee: str = "", from_number: str | None = None) -> tuple[str, str]:
        """(from_number, provider): `from_number` when given (one of the agent's numbers that can place
        calls), else the agent's number that looks most like the callee's (same country, then the longest
        shared prefix: the same area code), among those on the agent's default provider when it has any;
        an agent without numbers calls through its default provider if that needs no number (the
        simulator, also the automatic choice)."""
        capable = [(number, provider) for number, provider in self.numbers if outbound_capable(provider)]
        if from_number:
            if from_number not in {number for number, _provider in capable}:
                raise Unprocessable(
                    self._inbound_only_hint(from_number)
                    or f"{from_number} is not one of agent {self.agent.public_id}'s numbers that can place"
                    f" calls ({', '.join(n for n, _p in capable) or 'it has none'}).",
                    code="invalid_from_number",
                    field="from_number",
                )
            return next(line for line in capable if line[0] == from_number)
        if capable:
            preferred = [line for line in capable if line[1] == self.agent.default_provider] or capable
            return max(
                preferred, key=lambda line: _caller_id_likeness(line[0], callee)
            )  # max keeps the first
        if self.numbers:
            hints = " ".join(filter(None, (self._inbound_only_hint(n) for n, _p in self.numbers)))
            raise Unprocessable(
                f"None of agent {self.agent.public_id}'s numbers can place outbound calls "
                f"(providers: {', '.join(sorted({p for _, p in self.numbers}))}).{' ' + hints if hints else ''}",
                code="no_outbound_number",
            )
        return self._numberless_line()

    def _inbound_only_hint(self, number: str) -> str:
        """How to call from `number` when it is one of the agent's SIP trunk numbers without a trunk
        provider; "" for any other number."""
        if (number, Provider.SIP) not in self.numbers:
            return ""
        hosts = ", ".join(trunk_provider_names()) or "a carrier provider"
        return (
            f"{number} is a SIP trunk number that only receives calls. To call from it, set its "
            f"trunk_provider to the carrier that hosts the trunk ({hosts}) and give that provider "
            "its credentials."
        )

    def _numberless_line(self) -> tuple[str, str]:
        """The line of an agent without numbers: its default provider when that calls without a number."""
        provider = self.agent.default_provider or Provider.SIMULATOR
        if provider in PLACES_WITHOUT_NUMBER:
            return "", provider
        raise Unprocessable(
            f"Agent {self.agent.public_id} has no number to call from, and its default provider {provider} "
            f"needs one: give the agent a {provider} number, or set its default provider to simulator or "
            "automatic.",
            code="no_outbound_number",
        )


def agent_lines(agent: Agent) -> AgentLines:
    rows = (
        PhoneNumber.objects.filter(agent=agent)
        .order_by("id")
        .values_list("number", "provider", "trunk_provider")
    )
    numbers = tuple(
        (number, trunk if provider == Provider.SIP and trunk else provider)
        for number, provider, trunk in rows
    )
    return AgentLines(agent=agent, numbers=numbers)


def _caller_id_likeness(ours: str, callee: str) -> tuple[bool, int]:
    """How well `ours` suits calling `callee`: in the callee's country first (a New York customer is called
    from the US number, not the UK one), then by the digits shared from the start (the area code)."""
    same_country = bool(callee) and region_of(ours) == region_of(callee)
    shared = len(os.path.commonprefix([ours, callee])) if callee else 0
    return same_country, shared


def outbound_line(*, agent: Agent, callee: str = "", from_number: str | None = None) -> tuple[str, str]:
    """(from_number, provider) for a call of `agent` to `callee` (AgentLines.line_for)."""
    return agent_lines(agent).line_for(callee=callee, from_number=from_number)


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
    from_number: str | None = None,
) -> tuple[Call, bool]:
    """Create an outbound call from `from_number` (one of the agent's numbers; default: the one most like
    the callee's, AgentLines.line_for); after commit, announce it (`initiating`) and enqueue its placing. Returns
    (call, created).

    Every new call is cleared first (compliance.clearance, at `now`, default the wall clock): a callee on
    the do-not-call list or outside their calling window is a 422 `do_not_call` or
    `outside_calling_window` and nothing is created; a cleared call stores the decision.

    With an idempotency key (scoped to `actor`), a repeat with the same body returns the first call
    (created=False) and a repeat with another body is a 409 `idempotency_conflict`. The database's unique
    constraint (owner, idempotency_key) decides between concurrent requests, not a check-then-insert."""
    context = {} if context is None else context
    fingerprint = _outbound_fingerprint(
        agent=agent,
        to_number=to_number,
        context=context,
        max_duration=max_duration,
        record=record,
        from_number=from_number,
    )
    owner = actor if getattr(actor, "is_authenticated", False) else None
    if idempotency_key is not None:
        existing = _call_for_key(owner=owner, key=idempotency_key, fingerprint=fingerprint)
        if existing is not None:
            return existing, False
    line = _outbound_line_usable(agent=agent, callee=to_number, from_number=from_number)
    clearance = _cleared_or_refused(agent=agent, to_number=to_number, from_number=line[0], now=now)
    call = _outbound_call(
        agent=agent,
        campaign=campaign,
        line=line,
        to_number=to_number,
        context=context,
        max_duration=max_duration,
        record=record,
        clearance=clearance,
        owner=owner,
        idempotency_key=idempotency_key,
        fingerprint=fingerprint,
        written_at=timezone.now(),
    )
    try:
        with transaction.atomic():
            call.save(force_insert=True)
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


@dataclass(frozen=True)
class OutboundCallRequest:
    """One call of a batch (`calls_create_many`): its callee, its context and its idempotency key."""

    to_number: str
    idempotency_key: str
    context: dict[str, Any] = field(default_factory=dict)


@dataclass
class OutboundCallsCreated:
    """What `calls_create_many` did with each request of its batch, by the request's index."""

    created: dict[int, Call] = field(default_factory=dict)
    # Refused by the clearance (`do_not_call`, `outside_calling_window`): nothing was created for them.
    refused: dict[int, Unprocessable] = field(default_factory=dict)
    # A call holds the key already: nothing was created; `call_create` answers it (that call, or a conflict).
    key_taken: list[int] = field(default_factory=list)


def calls_create_many(
    *,
    agent: Agent,
    requests: Sequence[OutboundCallRequest],
    campaign: Any = None,
    max_duration: int | None = None,
    record: bool | None = None,
    now: datetime | None = None,
    from_number: str | None = None,
) -> OutboundCallsCreated:
    """Create many owner-less outbound calls of one agent at once (a campaign's dispatch run), each as
    `call_create` would: cleared on its own at `now` (its own decision; a refusal creates nothing), keyed,
    committed to the outbox with `place_due_at`, announced after commit. What a batch shares is read once:
    the agent's line, the do-not-call entries of all the callees (one query), the keys (one query); the
    calls are inserted in one statement, announced as one `calls_changed` and, after commit, placed by
    one `calls.place_many` task (`calls_place_sweep` places them should it be lost).

    An agent that cannot call (disabled, no outbound number, its provider not configured) raises as
    `call_create` does, for the whole batch. The insert is all or nothing: a key that a concurrent request
    inserted meanwhile raises IntegrityError with nothing of the batch written (the caller's savepoint
    decides what else to undo), and the caller may then create the calls one by one with `call_create`."""
    outcome = OutboundCallsCreated()
    taken = _unowned_keys_taken([request.idempotency_key for request in requests])
    fresh = []
    for index, request in enumerate(requests):
        (outcome.key_taken if request.idempotency_key in taken else fresh).append(index)
    if not fresh:
        return outcome
    lines = agent_lines(agent)
    listed = do_not_call_entries_for(requests[index].to_number for index in fresh)
    written_at = timezone.now()
    for index in fresh:
        request = requests[index]
        line = _outbound_line_usable(
            agent=agent, callee=request.to_number, from_number=from_number, lines=lines
        )
        try:
            clearance = _cleared_or_refused(
                agent=agent,
                to_number=request.to_number,
                from_number=line[0],
                now=now,
                do_not_call_read=listed,
            )
        except Unprocessable as refusal:
            outcome.refused[index] = refusal
            continue
        outcome.created[index] = _outbound_call(
            agent=agent,
            campaign=campaign,
            line=line,
            to_number=request.to_number,
            context=request.context,
            max_duration=max_duration,
            record=record,
            clearance=clearance,
            owner=None,
            idempotency_key=request.idempotency_key,
            fingerprint=_outbound_fingerprint(
                agent=agent,
                to_number=request.to_number,
                context=request.context,
                max_duration=max_duration,
                record=record,
                from_number=from_number,
            ),
            written_at=written_at,
        )
    _calls_insert_then_place(list(outcome.created.values()), campaign=campaign)
    return outcome


def _unowned_keys_taken(keys: list[str]) -> set[str]:
    return set(
        Call.objects.filter(owner__isnull=True, idempotency_key__in=keys).values_list(
            "idempotency_key", flat=True
        )
    )


def _calls_insert_then_place(calls: list[Call], *, campaign: Any) -> None:
    """Insert new calls in one statement (in a savepoint: all or none); after commit, announce them as one
    `calls_changed` and send the one `calls.place_many` task that places them."""
    if not calls:
        return
    with transaction.atomic():
        Call.objects.bulk_create(calls)  # their ids come back (PostgreSQL; SQLite 3.35 and later)
    for call in calls:
        # A call just made has no recording: say so, so that announcing it does not ask the database.
        Call.recording.related.set_cached_value(call, None)
    calls_changed_on_commit(
        [call_object(call) for call in calls], {campaign.pk} if campaign is not None else ()
    )
    call_ids = [call.pk for call in calls]
    transaction.on_commit(lambda: calls_place_many_enqueue(call_ids=call_ids))  # the outbox's fast path


def _outbound_fingerprint(
    *,
    agent: Agent,
    to_number: str,
    context: dict[str, Any],
    max_duration: int | None,
    record: bool | None,
    from_number: str | None = None,
) -> str:
    body = {
        "agent_id": agent.public_id,
        "phone_number": to_number,
        "context": context,
        "max_duration": max_duration,
        "record": record,
    }
    if from_number:  # only when chosen: the fingerprints of requests without it stay as they were
        body["from_number"] = from_number
    return request_fingerprint(body)


def _outbound_line_usable(
    *, agent: Agent, callee: str, from_number: str | None, lines: AgentLines | None = None
) -> tuple[str, str]:
    """(from_number, provider) of an agent that may place calls now, else the error that says why not."""
    if not agent.is_active:
        raise Conflict(f"Agent {agent.public_id} is disabled.", code="agent_disabled", field="agent_id")
    lines = lines or agent_lines(agent)
    from_number, provider = lines.line_for(callee=callee, from_number=from_number)
    missing = provider_for(provider).not_configured()
    if missing:
        raise Unprocessable(
            f"The agent's number is on {provider}, but {missing}", code="provider_not_configured"
        )
    return from_number, provider


def _outbound_call(
    *,
    agent: Agent,
    campaign: Any,
    line: tuple[str, str],
    to_number: str,
    context: dict[str, Any],
    max_duration: int | None,
    record: bool | None,
    clearance: Clearance,
    owner: Any,
    idempotency_key: str | None,
    fingerprint: str,
    written_at: datetime,
) -> Call:
    """The new outbound call's row (not saved), due in the outbox PLACE_HANDOVER_SECONDS after
    `written_at`."""
    from_number, provider = line
    return Call(
        agent=agent,
        campaign=campaign,
        direction=Direction.OUTBOUND,
        from_number=from_number,
        to_number=to_number,
        jurisdiction=_person_jurisdiction(clearance),  # the callee's: country, US state by area code
        decision=clearance.decision,
        context=context,
        max_duration=max_duration if max_duration is not None else agent.max_duration,
        record=record if record is not None else agent.record,
        provider=provider,
        owner=owner,
        idempotency_key=idempotency_key,
        request_fingerprint=fingerprint,
        last_event_at=written_at,
        place_due_at=written_at + timedelta(seconds=PLACE_HANDOVER_SECONDS),
    )


def _cleared_or_refused(
    *,
    agent: Agent,
    to_number: str,
    from_number: str,
    now: datetime | None,
    do_not_call_read: Mapping[str, Any] | None = None,
) -> Clearance:
    clearance = call_clearance(
        agent=agent,
        callee_number=to_number,
        caller_number=from_number,
        direction=Direction.OUTBOUND,
        now=now,
        do_not_call_read=do_not_call_read,
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
    digest = call_stream_claim_check(call=call, token=token)
    claimed = Call.objects.filter(
        pk=call.pk,
        agent_id=call.agent_id,
        status__in=CallStatus.active(),
        stream_started_at__isnull=True,
        stream_token_hash=digest,
    ).update(stream_token_hash="", stream_started_at=now or timezone.now())
    if not claimed:
        raise StreamRefused("the token was used or replaced, or the call ended, meanwhile")


def call_stream_claim_check(*, call: Call, token: str) -> str:
    """The checks of call_stream_claim on the caller's read of `call`, without writing: StreamRefused
    raised (saying why), else the token's digest, for the conditional UPDATE that consumes it."""
    if call.status not in CallStatus.active():
        raise StreamRefused(f"the call has ended ({call.status})")
    if call.stream_started_at is not None:
        raise StreamRefused("the call already has a stream")
    if not token:
        raise StreamRefused("no stream token")
    digest = stream_token_digest(token)
    if not call.stream_token_hash or not hmac.compare_digest(digest, call.stream_token_hash):
        raise StreamRefused("wrong or stale stream token")
    return digest


class StreamClaimsRaced(Exception):
    """Some stream claims of a batch found their call changed since it was judged (another writer got
    there first): the batch is rolled back and its streams must be judged one by one."""


def calls_stream_claim(*, claims: Sequence[tuple[Call, str]], now: datetime | None = None) -> None:
    """Consume the tokens of calls judged by call_stream_claim_check (each `(call, digest)`; the calls
    locked by the caller, so none can change meanwhile) with one conditional UPDATE: each row is matched
    by its own token digest, active, without a stream, so a token is still consumed at most once. If any
    claim is not taken, raises StreamClaimsRaced, having written what the caller's rollback undoes."""
    if not claims:
        return
    matching = Q()
    for call, digest in claims:
        matching |= Q(pk=call.pk, agent_id=call.agent_id, stream_token_hash=digest)
    claimed = (
        Call.objects.filter(matching)
        .filter(status__in=CallStatus.active(), stream_started_at__isnull=True)
        .update(stream_token_hash="", stream_started_at=now or timezone.now())
    )
    if claimed != len(claims):
        raise StreamClaimsRaced(f"{len(claims) - claimed} of {len(claims)} stream claims lost a race")


def call_place_enqueue(*, call_id: int) -> None:
    """The outbox's fast path: a worker places the call now. With the broker down, the call row still says
    it is to be placed, and `calls_place_sweep` places it once the broker is back."""
    task_send_or_leave_to_sweep("calls.place", {"call_id": call_id})


def calls_place_many_enqueue(*, call_ids: list[int]) -> None:
    """The outbox's fast path for a batch (`calls_create_many`): one task places them all."""
    task_send_or_leave_to_sweep("calls.place_many", {"call_ids": call_ids})


def calls_place_many(*, call_ids: Sequence[int], now: datetime | None = None) -> int:
    """Place these calls, each as `call_place` would (its row lock; only a call still `initiating` without
    a provider id; the same outcomes on refusal or outage). The calls of a provider that knows a repeated
    request (`dedupes_requests`) are locked and handed to it together, in one transaction
    (`TelephonyProvider.place_many`: the simulator dials them in bulk); the others go one by one through
    `call_place`. One call's trouble never holds back the others: what is not placed stays due for
    `calls_place_sweep`. Returns how many calls it placed now."""
    by_provider: dict[str, list[int]] = defaultdict(list)
    for call_id, provider_name in Call.objects.filter(pk__in=call_ids).values_list("pk", "provider"):
        by_provider[provider_name].append(call_id)
    placed = 0
    for provider_name, ids in sorted(by_provider.items()):
        try:
            placed += _calls_place_through(provider_name, sorted(ids), now=now)
        except Exception:  # noqa: BLE001 -- this provider's trouble: its calls stay due for the sweep
            log.exception(
                "placing %d calls through %s failed; the outbox sweep retries", len(ids), provider_name
            )
    return placed


def _calls_place_through(provider_name: str, call_ids: list[int], *, now: datetime | None) -> int:
    provider = provider_for(provider_name)
    if provider.dedupes_requests:
        return _calls_place_together(provider, call_ids, now=now)
    placed = 0
    for call_id in call_ids:
        try:
            placed += call_place(call_id=call_id, now=now) is not None
        except Exception:  # noqa: BLE001 -- one call's trouble must not hold back the others
            log.exception("placing call %s failed; the outbox sweep retries", call_id)
    return placed


def _calls_place_together(provider: TelephonyProvider, call_ids: list[int], *, now: datetime | None) -> int:
    """Lock the calls (in id order, as the lifecycle locks them), hand those still to place to `provider`
    at once, and store what it answered for each, in one transaction."""
    with transaction.atomic():
        calls = list(Call.objects.select_for_update().filter(pk__in=call_ids).order_by("pk"))
        to_place = [call for call in calls if _still_to_place(call)]
        answers = provider.place_many(to_place) if to_place else {}
        written_at = timezone.now()
        placed = []
        for call in to_place:
            answer = answers[call.pk]
            if isinstance(answer, ProviderRejected):
                call_place_failed(call_id=call.pk, code=answer.code, message=answer.message)
            elif isinstance(answer, ProviderUnavailable):
                _place_attempt_failed(call, answer, now=now or written_at)
            else:
                call.provider_call_id = answer
                call.place_due_at = None
                call.place_attempts += 1  # counted here: a deduping provider has no attempt marker
                call.updated_at = written_at
                placed.append(call)
        _calls_placed_write(placed)
    return len(placed)


def _calls_placed_write(calls: list[Call]) -> None:
    """Store what placing changed on each call: one UPDATE statement run for every call (executemany,
    pipelined by psycopg), since Django's bulk_update builds a CASE expression per column and row that
    costs more to compile than the whole batch costs the database (as `calls.lifecycle_sql.calls_write`)."""
    if not calls:
        return
    fields = [Call._meta.get_field(name) for name in PLACED_COLUMNS]
    quote = connection.ops.quote_name
    assignments = ", ".join(f"{quote(field.column)} = %s" for field in fields)
    sql = (
        f"UPDATE {quote(Call._meta.db_table)} SET {assignments}"  # noqa: S608 -- names from the model
        f" WHERE {quote(Call._meta.pk.column)} = %s"
    )
    rows = [
        [field.get_db_prep_save(getattr(call, field.attname), connection) for field in fields] + [call.pk]
        for call in calls
    ]
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)


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
