"""Dispatching a running campaign's contacts: claim, key, hand to the calls outbox; settle each attempt when
its call ends; skip what can never be called. The only module that moves a contact after its import (and
cancellation, campaigns/services.py).

Nothing lives only in the broker (docs/campaigns.md):
- One transaction claims a contact, inserts its attempt (unique per contact and attempt number) and creates
  the attempt's call with the key `campaign:<id>:contact:<id>:attempt:<n>` (unique among owner-less
  keys), which commits the call to the outbox: `calls.place_sweep` places it even if every task after the
  commit is lost. A worker killed before the commit leaves the contact pending, as if never claimed; after
  it, the call exists once. The contacts a run starts are started together (`calls.services.
  calls_create_many`: each call cleared on its own, the calls and then their attempts inserted in bulk,
  the contacts marked in one statement, all in one savepoint); should any insert break a constraint (an
  attempt or a key that exists), the savepoint is undone and each contact is started on its own through
  `calls.services.call_create`, as before batching, which tells which one it was.
- The campaign's row is locked for the claim (`FOR UPDATE SKIP LOCKED` on PostgreSQL: a second
  dispatcher of the same campaign, from a duplicated task or a second beat, skips it rather than waits;
  SQLite runs every transaction `IMMEDIATE`, one writer at a time), so the count of its live calls, read
  under that lock, keeps the concurrency cap. Contacts are taken with `SKIP LOCKED` too.
- A contact is settled (`calling` → an outcome, or back to `pending` for a retry) by the receiver of
  `calls.announce.calls_ended` and, should that be lost with its process, by the next tick: both act
  only on a contact still `calling` with that call, under its row lock."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import F, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from agents.phone import jurisdiction_for, time_zones_for
from calls.announce import calls_changed_on_commit, calls_changes_gathered
from calls.models import Call, CallStatus, EndReason
from calls.services import OutboundCallRequest, call_create, calls_create_many
from campaigns.models import (
    Campaign,
    CampaignStatus,
    Contact,
    ContactAttempt,
    ContactStatus,
    SkipReason,
    attempt_idempotency_key,
)
from campaigns.pacing import pacing_refund, pacing_take
from campaigns.services import campaign_system_pause, campaigns_finish_if_done
from campaigns.windows import window_opens_next
from compliance import clearance
from compliance.clearance import clearance_rules_read_once
from wordcab_admin.kernel.errors import DomainError, Unprocessable
from wordcab_admin.kernel.tasks import task_send_or_leave_to_sweep

log = logging.getLogger(__name__)

CLAIM_BATCH = 100  # calls one dispatch run may start; a full run sends the next run at once
FETCH_BATCH = 200  # due contacts read (and locked) at a time
EXAMINE_MAX = 2000  # contacts one run may look at (most deferred to their window): then the next run
SETTLE_BATCH = 500


@dataclass
class DispatchResult:
    started: int = 0  # attempts whose calls were created
    deferred: int = 0  # outside a window: back to pending until it opens
    skipped: int = 0  # never callable (do-not-call, window closed for good)
    more: bool = False  # a full batch was started: there may be more to do now


# The tick ----------------------------------------------------------------------------------------------------


def dispatch_tick() -> int:
    """Every few seconds (beat): settle what a lost signal left calling, expire what can no longer be
    called, finish what is done, and send one dispatch task per running campaign. Returns how many
    dispatch tasks it sent."""
    contacts_settle(campaign_ids=None)
    now = clearance.clearance_clock()
    running = list(Campaign.objects.filter(status=CampaignStatus.RUNNING).values_list("pk", "end_at"))
    for pk, end_at in running:
        if end_at is not None and end_at <= now:
            contacts_expire(campaign_id=pk, now=now)
    campaigns_finish_if_done([pk for pk, _end in running])
    due = Campaign.objects.filter(status=CampaignStatus.RUNNING).filter(
        Q(start_at__isnull=True) | Q(start_at__lte=now)
    )
    sent = 0
    for pk in due.values_list("pk", flat=True):
        sent += task_send_or_leave_to_sweep("campaigns.dispatch", {"campaign_id": pk})
    return sent


def dispatch_continue(campaign_id: int) -> None:
    task_send_or_leave_to_sweep("campaigns.dispatch", {"campaign_id": campaign_id})


# Claiming ----------------------------------------------------------------------------------------------------


def campaign_dispatch(*, campaign_id: int, now: datetime | None = None) -> DispatchResult:
    """Start the calls campaign `campaign_id` may start now: up to its free concurrency, as pacing grants,
    each due pending contact inside its windows (others deferred to their next opening, or skipped). A
    campaign that is not running (paused, cancelled) or that another dispatcher holds is left alone.
    `now` (default: compliance's clock) is the instant every window, due time and the end are read at."""
    now = now or clearance.clearance_clock()
    result = DispatchResult()
    with transaction.atomic():
        campaign = (
            Campaign.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("agent")
            .filter(pk=campaign_id, status=CampaignStatus.RUNNING)
            .first()
        )
        if campaign is None or (campaign.start_at and campaign.start_at > now):
            return result
        if campaign.end_at and campaign.end_at <= now:
            result.skipped = contacts_expire(campaign_id=campaign.pk, now=now)
            return result
        live = Call.objects.filter(campaign=campaign, status__in=CallStatus.active()).count()
        room = min(campaign.max_concurrent_calls - live, CLAIM_BATCH)
        if room <= 0 or not _due(campaign, now).exists():
            return result
        tokens = pacing_take(
            campaign_public_id=campaign.public_id, calls_per_minute=campaign.calls_per_minute, wanted=room
        )
        with calls_changes_gathered(), clearance_rules_read_once():
            examined = _contacts_start(
                campaign, now=now, tokens=tokens, closed=_ClosedWindows(), result=result
            )
        pacing_refund(
            campaign_public_id=campaign.public_id,
            unused=tokens - result.started,
            calls_per_minute=campaign.calls_per_minute,
        )
        result.more = (result.started == tokens == CLAIM_BATCH) or examined == EXAMINE_MAX
        if not result.started and (result.deferred or result.skipped):  # started calls carry the campaign
            calls_changed_on_commit([], {campaign.pk})
    if result.more and campaign.status == CampaignStatus.RUNNING:
        transaction.on_commit(lambda: dispatch_continue(campaign_id))
    return result


def _contacts_start(
    campaign: Campaign, *, now: datetime, tokens: int, closed: _ClosedWindows, result: DispatchResult
) -> int:
    """Start due contacts until `tokens` calls are started or EXAMINE_MAX contacts examined (most of them
    deferred to their window); returns how many were examined (EXAMINE_MAX if the campaign paused).
    The contacts of each batch read that no window defers are started together (`_attempts_start`)."""
    examined = 0
    while result.started < tokens and examined < EXAMINE_MAX:
        batch = list(_due(campaign, now).select_for_update(skip_locked=True, of=("self",))[:FETCH_BATCH])
        if not batch:
            break
        ready: list[Contact] = []
        for contact in batch:
            if result.started + len(ready) >= tokens or examined >= EXAMINE_MAX:
                break  # the rest stay due: a refusal below may leave tokens for them (the next batch read)
            examined += 1
            if not _deferred_by_window(campaign, contact, now=now, closed=closed, result=result):
                ready.append(contact)
        if ready and not _attempts_start(campaign, ready, now=now, closed=closed, result=result):
            return EXAMINE_MAX  # the campaign was paused: stop
    return examined


def _due(campaign: Campaign, now: datetime) -> QuerySet[Contact]:
    return (
        Contact.objects.filter(campaign=campaign, status=ContactStatus.PENDING)
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
        .order_by("next_attempt_at", "id")
    )


class _ClosedWindows:
    """Within one dispatch run, the windows found closed, by where a number rings (its jurisdiction and time
    zones): the next contacts there are deferred to the same opening without asking compliance again."""

    def __init__(self) -> None:
        self.opens: dict[tuple[str, tuple[str, ...]], datetime | None] = {}

    @staticmethod
    def place(number: str) -> tuple[str, tuple[str, ...]]:
        return jurisdiction_for(number), tuple(time_zones_for(number))

    def known(self, number: str) -> tuple[bool, datetime | None]:
        if not self.opens:  # none found closed yet (most runs): no need to parse the number
            return False, None
        place = self.place(number)
        return place in self.opens, self.opens.get(place)

    def remember(self, number: str, opens: datetime | None) -> None:
        self.opens[self.place(number)] = opens


def _deferred_by_window(
    campaign: Campaign, contact: Contact, *, now: datetime, closed: _ClosedWindows, result: DispatchResult
) -> bool:
    """Defer `contact` when the campaign's own window is closed where it rings, or when this run found the
    jurisdiction's window closed there already; True when it was deferred (or skipped for good)."""
    if campaign.window_start and campaign.window_end:
        opens = window_opens_next(
            number=contact.phone_number, start=campaign.window_start, end=campaign.window_end, now=now
        )
        if opens is not None:
            _contact_defer(campaign, contact, opens=opens, now=now, result=result)
            return True
    known, opens = closed.known(contact.phone_number)
    if known:
        _contact_defer(campaign, contact, opens=opens, now=now, result=result)
        return True
    return False


def _attempts_start(
    campaign: Campaign,
    contacts: list[Contact],
    *,
    now: datetime,
    closed: _ClosedWindows,
    result: DispatchResult,
) -> bool:
    """Start the next attempt of each of `contacts` (claimed, inside the campaign's window) together: their
    calls (each cleared on its own), their attempts and their claim in one savepoint. A refused contact is
    deferred or skipped; one whose key is taken, or every one should an insert break a constraint, is
    started on its own (`_attempt_start`). False when the campaign cannot go on (paused)."""
    requests = [
        OutboundCallRequest(
            to_number=contact.phone_number,
            idempotency_key=_attempt_key(campaign, contact),
            context=contact.context,
        )
        for contact in contacts
    ]
    try:
        with transaction.atomic():
            made = calls_create_many(
                agent=campaign.agent,
                requests=requests,
                campaign=campaign,
                max_duration=campaign.max_duration,
                record=campaign.record,
                from_number=campaign.from_number or None,
                now=now,
            )
            _attempts_record([(contacts[index], call) for index, call in made.created.items()])
    except IntegrityError:  # an attempt or a key exists (a contact moved back by hand?): one by one
        log.warning("campaign %s: a batch's attempt or key exists; started one by one", campaign.public_id)
        return all(
            _attempt_start(campaign, contact, now=now, closed=closed, result=result) for contact in contacts
        )
    except DomainError as error:  # the agent disabled, no outbound number, its provider not configured
        campaign_system_pause(campaign=campaign, reason=error.message)
        campaign.status = CampaignStatus.PAUSED
        return False
    result.started += len(made.created)
    for index, refusal in sorted(made.refused.items()):
        if not _refused(campaign, contacts[index], refusal, now=now, closed=closed, result=result):
            return False
    return all(
        _attempt_start(campaign, contacts[index], now=now, closed=closed, result=result)
        for index in made.key_taken
    )


def _attempt_key(campaign: Campaign, contact: Contact) -> str:
    return attempt_idempotency_key(
        campaign_public_id=campaign.public_id, contact_id=contact.pk, number=contact.attempts + 1
    )


def _attempts_record(started: list[tuple[Contact, Call]]) -> None:
    """Insert the attempts of contacts whose calls were just created, and mark the contacts `calling` with
    them (one statement: each contact's `last_call` is the call of the attempt it now counts)."""
    if not started:
        return
    ContactAttempt.objects.bulk_create(
        ContactAttempt(contact=contact, number=contact.attempts + 1, call=call) for contact, call in started
    )
    new_attempts_call = ContactAttempt.objects.filter(
        contact_id=OuterRef("pk"), number=OuterRef("attempts") + 1
    ).values("call_id")[:1]
    Contact.objects.filter(pk__in=[contact.pk for contact, _call in started]).update(
        status=ContactStatus.CALLING,
        attempts=F("attempts") + 1,  # every SET reads the row as it was: the subquery's attempts too
        last_call_id=Subquery(new_attempts_call),
        next_attempt_at=None,
        updated_at=timezone.now(),
    )


def _attempt_start(
    campaign: Campaign, contact: Contact, *, now: datetime, closed: _ClosedWindows, result: DispatchResult
) -> bool:
    """Start `contact`'s next attempt on its own, or defer or skip it; False when the campaign cannot go on
    (paused)."""
    if _deferred_by_window(campaign, contact, now=now, closed=closed, result=result):
        return True
    number = contact.attempts + 1
    key = _attempt_key(campaign, contact)
    try:
        with transaction.atomic():
            attempt = ContactAttempt.objects.create(contact=contact, number=number)
            call, _created = call_create(
                agent=campaign.agent,
                to_number=contact.phone_number,
                context=contact.context,
                max_duration=campaign.max_duration,
                record=campaign.record,
                from_number=campaign.from_number or None,
                idempotency_key=key,
                campaign=campaign,
                now=now,
            )
            attempt.call = call
            attempt.save(update_fields=["call"])
            Contact.objects.filter(pk=contact.pk).update(
                status=ContactStatus.CALLING,
                attempts=number,
                last_call=call,
                next_attempt_at=None,
                updated_at=timezone.now(),
            )
    except IntegrityError:  # this attempt exists already (a contact moved back by hand?): never a second call
        _contact_align_with_attempt(campaign, contact, number=number)
        return True
    except Unprocessable as refusal:
        return _refused(campaign, contact, refusal, now=now, closed=closed, result=result)
    except DomainError as error:  # the agent disabled, its provider not configured: no contact can be called
        campaign_system_pause(campaign=campaign, reason=error.message)
        campaign.status = CampaignStatus.PAUSED
        return False
    result.started += 1
    return True


def _contact_align_with_attempt(campaign: Campaign, contact: Contact, *, number: int) -> None:
    """The contact's attempt `number` exists although the contact was pending: take the contact back to
    what that attempt says (calling with its call, which settling then finishes), so that it is neither
    called a second time for the attempt nor found due again and again."""
    log.warning(
        "campaign %s contact %s: attempt %s exists; not called again", campaign.public_id, contact.pk, number
    )
    existing = (
        ContactAttempt.objects.filter(contact=contact, number=number)
        .values_list("call_id", flat=True)
        .first()
    )
    status = ContactStatus.CALLING if existing else ContactStatus.PENDING  # no call left: the next attempt
    Contact.objects.filter(pk=contact.pk).update(
        status=status, attempts=number, last_call_id=existing, next_attempt_at=None, updated_at=timezone.now()
    )


def _refused(
    campaign: Campaign,
    contact: Contact,
    refusal: Unprocessable,
    *,
    now: datetime,
    closed: _ClosedWindows,
    result: DispatchResult,
) -> bool:
    if refusal.code == "outside_calling_window":
        opens = refusal.extra.get("opens_at")
        opens_at = datetime.fromisoformat(opens.replace("Z", "+00:00")) if opens else None
        closed.remember(contact.phone_number, opens_at)
        _contact_defer(campaign, contact, opens=opens_at, now=now, result=result)
        return True
    if refusal.code == "do_not_call":
        _contact_skip(contact, SkipReason.DO_NOT_CALL, refusal.message, now=now)
        result.skipped += 1
        return True
    campaign_system_pause(campaign=campaign, reason=refusal.message)
    campaign.status = CampaignStatus.PAUSED
    return False


def _contact_defer(
    campaign: Campaign, contact: Contact, *, opens: datetime | None, now: datetime, result: DispatchResult
) -> None:
    """Outside a window: wait for its next opening, or skip the contact if it never opens in time."""
    if opens is None or (campaign.end_at and opens >= campaign.end_at):
        _contact_skip(
            contact,
            SkipReason.OUTSIDE_WINDOW_EXPIRED,
            "The contact's calling window does not open again before the campaign ends.",
            now=now,
        )
        result.skipped += 1
        return
    Contact.objects.filter(pk=contact.pk).update(next_attempt_at=opens, updated_at=timezone.now())
    result.deferred += 1


def _contact_skip(contact: Contact, reason: SkipReason, message: str, *, now: datetime) -> None:
    Contact.objects.filter(pk=contact.pk, status=ContactStatus.PENDING).update(
        status=ContactStatus.SKIPPED,
        skip_reason=reason,
        message=message[:300],
        next_attempt_at=None,
        updated_at=timezone.now(),
    )


def contacts_expire(*, campaign_id: int, now: datetime) -> int:
    """The campaign's end has passed: its pending contacts (retries waiting included) will never be called."""
    return Contact.objects.filter(campaign_id=campaign_id, status=ContactStatus.PENDING).update(
        status=ContactStatus.SKIPPED,
        skip_reason=SkipReason.OUTSIDE_WINDOW_EXPIRED,
        message="The campaign ended before this contact could be called.",
        next_attempt_at=None,
        updated_at=now,
    )


# Settling ----------------------------------------------------------------------------------------------------


def attempt_outcome(call: Call) -> str:
    """An ended call's outcome as the retry setting names them: completed, voicemail, busy, no_answer, failed."""
    if call.status == CallStatus.COMPLETED:
        return "voicemail" if call.end_reason == EndReason.VOICEMAIL else "completed"
    if call.status == CallStatus.NO_ANSWER:
        return "busy" if call.end_reason == EndReason.BUSY else "no_answer"
    return "failed"


FINAL_STATUS = {
    "completed": ContactStatus.COMPLETED,
    "voicemail": ContactStatus.COMPLETED,
    "busy": ContactStatus.NO_ANSWER,
    "no_answer": ContactStatus.NO_ANSWER,
    "failed": ContactStatus.FAILED,
}


def contacts_settle(*, campaign_ids: list[int] | None, **_signal: object) -> int:
    """Settle every contact (of `campaign_ids`, or of any campaign) still `calling` whose call has ended;
    then finish the campaigns that are done. Returns how many contacts it settled."""
    calling = Contact.objects.filter(
        status=ContactStatus.CALLING, last_call__status__in=CallStatus.terminal()
    )
    if campaign_ids is not None:
        calling = calling.filter(campaign_id__in=campaign_ids)
    settled, campaigns = 0, set()
    for contact_id, campaign_id in calling.values_list("pk", "campaign_id")[:SETTLE_BATCH]:
        settled += contact_settle(contact_id=contact_id)
        campaigns.add(campaign_id)
    if campaigns:
        calls_changed_on_commit([], campaigns)
        campaigns_finish_if_done(sorted(campaigns))
    return settled


def contact_settle(*, contact_id: int) -> int:
    """The contact's attempt has ended: record its outcome, then retry it after the delay (when the outcome
    is one the campaign retries, attempts remain and the campaign goes on) or give it its final status."""
    with transaction.atomic():
        contact = (
            Contact.objects.select_for_update(of=("self",))
            .select_related("campaign", "last_call")
            .filter(pk=contact_id, status=ContactStatus.CALLING, last_call__status__in=CallStatus.terminal())
            .first()
        )
        if contact is None:
            return 0  # settled meanwhile
        call, campaign = contact.last_call, contact.campaign
        outcome = attempt_outcome(call)
        ended = call.ended_at or timezone.now()
        ContactAttempt.objects.filter(contact=contact, call=call).update(outcome=outcome, ended_at=ended)
        retry_at = ended + timedelta(seconds=campaign.retry_delay_seconds)
        retry = (
            outcome in campaign.retry_outcomes
            and contact.attempts < campaign.max_attempts
            and campaign.status not in CampaignStatus.finished()
            and not (campaign.end_at and retry_at >= campaign.end_at)
        )
        if retry:
            fields = {"status": ContactStatus.PENDING, "next_attempt_at": retry_at}
        else:
            fields = {"status": FINAL_STATUS[outcome], "next_attempt_at": None}
        Contact.objects.filter(pk=contact.pk).update(**fields, updated_at=timezone.now())
    return 1


def contacts_settle_on_calls_ended(campaign_ids: list[int], **_signal: object) -> int:
    """The receiver of `calls.announce.calls_ended`, after the commit that ended calls of these campaigns:
    settle their contacts, then finish those with nothing left (a campaign without contacts, the demo's,
    finishes when its last call ends)."""
    settled = contacts_settle(campaign_ids=list(campaign_ids))
    campaigns_finish_if_done(list(campaign_ids))
    return settled
