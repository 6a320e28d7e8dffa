"""A campaign's numbers and contacts, read-only: shared by the campaign pages and API, the wallboard and the
live broadcast.

Counting stays cheap however many contacts a campaign has: one GROUP BY per table (contacts by state, on
the `contact_by_status` index; calls by status, on `call_campaign_newest`), for one campaign or for a page
of them at once."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, time

from django.db.models import Count, Prefetch, Q, QuerySet
from django.utils import timezone

from calls.models import Call, CallStatus
from campaigns.models import Campaign, Contact, ContactAttempt, ContactStatus, SkipReason
from wordcab_admin.kernel.errors import NotFound

CONTACT_STATES = [s.value for s in ContactStatus]
CALL_STATES = [s.value for s in CallStatus]
# A contact in one of these has nothing left to happen: the campaign's progress counts them as done.
CONTACT_DONE_STATES = [s.value for s in ContactStatus if s in ContactStatus.final()]
CALL_ENDED_STATES = [s.value for s in CallStatus if s in CallStatus.terminal()]
# Why the import refused a row; the other skip reasons are dispatch's (a window closed, the campaign cancelled).
IMPORT_SKIP_REASONS = [
    SkipReason.INVALID_NUMBER.value,
    SkipReason.DUPLICATE.value,
    SkipReason.DO_NOT_CALL.value,
    SkipReason.COUNTRY_NOT_ALLOWED.value,
]


def campaign_get(campaign_id: str) -> Campaign:
    """The campaign with this public id (and its agent), or a 404 `not_found`."""
    campaign = Campaign.objects.select_related("agent").filter(public_id=campaign_id).first()
    if campaign is None:
        raise NotFound(f"No campaign {campaign_id}.", field="campaign_id")
    return campaign


# --- counts -------------------------------------------------------------------------------------------------


def _zeroed(states: list[str]) -> dict[str, int]:
    return {**dict.fromkeys(states, 0), "total": 0}


def _grouped(queryset: QuerySet, campaign_ids: list[int], states: list[str]) -> dict[int, dict[str, int]]:
    counts = {pk: _zeroed(states) for pk in campaign_ids}
    rows = (
        queryset.filter(campaign_id__in=campaign_ids).values("campaign_id", "status").annotate(n=Count("id"))
    )
    for row in rows.order_by():
        by_state = counts[row["campaign_id"]]
        by_state[row["status"]] = by_state.get(row["status"], 0) + row["n"]
        by_state["total"] += row["n"]
    return counts


def contact_counts_by_campaign(campaign_ids: Iterable[int]) -> dict[int, dict[str, int]]:
    """Each campaign's contacts per state (`pending`, `calling`, … `skipped`) and their `total`."""
    return _grouped(Contact.objects.all(), list(campaign_ids), CONTACT_STATES)


def call_counts_by_campaign(campaign_ids: Iterable[int]) -> dict[int, dict[str, int]]:
    """Each campaign's calls per status (`initiating`, … `no_answer`) and their `total`."""
    return _grouped(Call.objects.all(), list(campaign_ids), CALL_STATES)


def campaign_contact_counts(campaign: Campaign) -> dict[str, int]:
    return contact_counts_by_campaign([campaign.pk])[campaign.pk]


def campaign_call_counts(campaign: Campaign) -> dict[str, int]:
    return call_counts_by_campaign([campaign.pk])[campaign.pk]


@dataclass(frozen=True)
class Progress:
    """How far a campaign is: its contacts done of all, or, for a campaign without contacts (the demo's),
    its calls ended of all."""

    done: int
    total: int
    unit: str  # "contacts done" or "calls ended"


def campaign_progress(
    contact_counts: dict[str, int], call_counts: dict[str, int], *, rejected: int = 0
) -> Progress:
    """Contacts done of those to call: the rows the import rejected (skipped from the start) count in
    neither, so a new campaign starts at 0 %, not at its share of bad rows."""
    if contact_counts["total"]:
        done = sum(contact_counts[state] for state in CONTACT_DONE_STATES) - rejected
        return Progress(
            done=max(0, done), total=max(0, contact_counts["total"] - rejected), unit="contacts done"
        )
    ended = sum(call_counts[state] for state in CALL_ENDED_STATES)
    return Progress(done=ended, total=call_counts["total"], unit="calls ended")


CallCounter = Callable[[Iterable[int]], dict[int, dict[str, int]]]


def campaigns_with_progress(
    campaigns: Iterable[Campaign], *, call_counter: CallCounter = call_counts_by_campaign
) -> list[Campaign]:
    """The campaigns, each with its `contact_counts`, `call_counts` and `progress`: two queries for all.
    `call_counter` counts their calls per status: a reader above may pass one that does not read every call
    (the wallboard: analytics' rollup, constant in the campaign's size)."""
    campaigns = list(campaigns)
    ids = [c.pk for c in campaigns]
    contacts, calls = contact_counts_by_campaign(ids), call_counter(ids)
    for campaign in campaigns:
        campaign.contact_counts, campaign.call_counts = contacts[campaign.pk], calls[campaign.pk]
        campaign.progress = campaign_progress(
            campaign.contact_counts, campaign.call_counts, rejected=campaign_validation(campaign)["rejected"]
        )
    return campaigns


def campaigns_newest_first() -> QuerySet[Campaign]:
    return Campaign.objects.select_related("agent").order_by("-id")


# --- the objects the API, the pages and live viewers get ----------------------------------------------------


def iso(value: datetime | None) -> str | None:
    """ISO 8601 in UTC, "Z" for UTC, as the call object writes its times."""
    if value is None:
        return None
    text = value.astimezone(UTC).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def hh_mm(value: time | None) -> str | None:
    return value.strftime("%H:%M") if value is not None else None


def campaign_summary(
    campaign: Campaign,
    *,
    contact_counts: dict[str, int] | None = None,
    call_counts: dict[str, int] | None = None,
) -> dict:
    """The campaign as `campaign.updated` carries it: identity, status, its contacts per state (`counts`)
    and its calls per status (`calls`), as of `updated_at` (now: a viewer keeps the newest counts)."""
    return {
        "id": campaign.public_id,
        "name": campaign.name,
        "agent_id": campaign.agent.public_id,
        "status": campaign.status,
        "counts": contact_counts if contact_counts is not None else campaign_contact_counts(campaign),
        "calls": call_counts if call_counts is not None else campaign_call_counts(campaign),
        "rejected": campaign_validation(campaign)["rejected"],  # rows skipped at import: not part of progress
        "updated_at": timezone.now().isoformat(),
    }


def campaign_validation(campaign: Campaign) -> dict[str, int]:
    stored = campaign.validation or {}
    return {name: int(stored.get(name, 0)) for name in ("rows", "accepted", "rejected")}


def campaign_object(
    campaign: Campaign,
    *,
    contact_counts: dict[str, int] | None = None,
    call_counts: dict[str, int] | None = None,
) -> dict:
    """The public campaign object (docs/contract.md): its settings, its import's counts (`validation`), its
    contacts per state (`counts`) and its calls per status (`calls`)."""
    return {
        "id": campaign.public_id,
        "name": campaign.name,
        "agent_id": campaign.agent.public_id,
        "status": campaign.status,
        "status_reason": campaign.status_reason or None,
        "file_name": campaign.file_name,
        "phone_column": campaign.phone_column,
        "columns": list(campaign.columns or []),
        "start_at": iso(campaign.start_at),
        "end_at": iso(campaign.end_at),
        "max_concurrent_calls": campaign.max_concurrent_calls,
        "calls_per_minute": campaign.calls_per_minute,
        "max_attempts": campaign.max_attempts,
        "retry_delay_seconds": campaign.retry_delay_seconds,
        "retry_outcomes": list(campaign.retry_outcomes or []),
        "record": campaign.record,
        "max_duration": campaign.max_duration,
        "from_number": campaign.from_number or None,
        "window_start": hh_mm(campaign.window_start),
        "window_end": hh_mm(campaign.window_end),
        "validation": campaign_validation(campaign),
        "counts": contact_counts if contact_counts is not None else campaign_contact_counts(campaign),
        "calls": call_counts if call_counts is not None else campaign_call_counts(campaign),
        "created_at": iso(campaign.created_at),
        "started_at": iso(campaign.started_at),
        "finished_at": iso(campaign.finished_at),
        "updated_at": iso(campaign.updated_at),
    }


def campaign_objects(campaigns: Iterable[Campaign]) -> list[dict]:
    """Campaign objects for a page of campaigns: two count queries for the whole page."""
    return [
        campaign_object(c, contact_counts=c.contact_counts, call_counts=c.call_counts)
        for c in campaigns_with_progress(campaigns)
    ]


def campaign_calls(campaign: Campaign, limit: int = 100) -> list[Call]:
    return list(campaign.calls.select_related("agent", "campaign", "recording").order_by("-id")[:limit])


# --- contacts -----------------------------------------------------------------------------------------------


def _attempts_with_calls() -> Prefetch:
    attempts = (
        ContactAttempt.objects.select_related("call")
        .only(
            "id",
            "contact_id",
            "number",
            "outcome",
            "call__public_id",
            "call__status",
            "call__end_reason",
            "call__error_code",
        )  # the call's outcome label (calls/outcomes.py) reads its status, end reason and error code
        .order_by("number")
    )
    return Prefetch("attempt_set", queryset=attempts)


def campaign_contacts(
    campaign: Campaign,
    *,
    statuses: Iterable[str] = (),
    skip_reasons: Iterable[str] = (),
    number: str = "",
) -> QuerySet[Contact]:
    """The campaign's contacts in the file's order, each with its attempts and their calls (prefetched),
    filtered by state, skip reason and a number's digits (or the cell as the file had it)."""
    contacts = Contact.objects.filter(campaign=campaign)
    if statuses := list(statuses):
        contacts = contacts.filter(status__in=statuses)
    if skip_reasons := list(skip_reasons):
        contacts = contacts.filter(skip_reason__in=skip_reasons)
    if number := number.strip():
        digits = "".join(c for c in number if c.isdigit())
        match = Q(raw_number__icontains=number)
        if digits:
            match |= Q(phone_number__contains=digits)
        contacts = contacts.filter(match)
    return contacts.prefetch_related(_attempts_with_calls()).order_by("row")


def contact_call_ids(contact: Contact) -> list[str]:
    """The calls of the contact's attempts, in order (from the prefetched attempts)."""
    return [a.call.public_id for a in contact.attempt_set.all() if a.call is not None]


def contact_object(contact: Contact) -> dict:
    """A contact as `GET /v1/campaigns/{id}/contacts` lists it."""
    return {
        "row": contact.row,
        "phone_number": contact.phone_number,
        "raw_number": contact.raw_number,
        "context": contact.context,
        "status": contact.status,
        "skip_reason": contact.skip_reason or None,
        "message": contact.message,
        "attempts": contact.attempts,
        "call_ids": contact_call_ids(contact),
        "next_attempt_at": iso(contact.next_attempt_at),
        "updated_at": iso(contact.updated_at),
    }


def contact_cells(raw_number: str, context: dict | None, campaign: Campaign) -> list[str]:
    """A contact's row as the file had it, by `campaign.columns` (the phone cell is its `raw_number`)."""
    context = context or {}
    return [
        raw_number if column == campaign.phone_column else str(context.get(column, ""))
        for column in campaign.columns or []
    ]


def rejected_contacts(campaign: Campaign) -> QuerySet[Contact]:
    """The rows the import refused, in the file's order (skipped contacts with an import's reason)."""
    return Contact.objects.filter(
        campaign=campaign, status=ContactStatus.SKIPPED, skip_reason__in=IMPORT_SKIP_REASONS
    ).order_by("row")


# The downloads read a campaign's contacts a chunk at a time, as plain rows rather than model instances, each
# chunk one short query from where the last ended (its `row`, on the (campaign, row) index): a million
# contacts stream in bounded memory, and no cursor stays open while the client reads.
DOWNLOAD_CHUNK = 2000


def _contacts_in_chunks(contacts: QuerySet[Contact], fields: tuple[str, ...]) -> Iterator[list[dict]]:
    last_row = 0
    while chunk := list(
        contacts.filter(row__gt=last_row).order_by("row").values("row", *fields)[:DOWNLOAD_CHUNK]
    ):
        yield chunk
        last_row = chunk[-1]["row"]


def rejected_rows_header(campaign: Campaign) -> list[str]:
    return ["row", *(campaign.columns or []), "error", "message"]


def rejected_rows(campaign: Campaign) -> Iterator[list]:
    """Every rejected row as the download has it: its row number, its cells, the error's code and message."""
    fields = ("raw_number", "context", "skip_reason", "message")
    for chunk in _contacts_in_chunks(rejected_contacts(campaign), fields):
        for c in chunk:
            yield [
                c["row"],
                *contact_cells(c["raw_number"], c["context"], campaign),
                c["skip_reason"],
                c["message"],
            ]


RESULT_COLUMNS = ["phone_number", "status", "skip_reason", "attempts", "call_ids", "last_outcome"]


def results_header(campaign: Campaign) -> list[str]:
    return ["row", *(campaign.columns or []), *RESULT_COLUMNS]


def _attempts_of(contact_ids: list[int]) -> dict[int, list[tuple[str | None, str]]]:
    """Each contact's attempts in order, as (call id, outcome): one query for a chunk of contacts."""
    attempts: dict[int, list[tuple[str | None, str]]] = defaultdict(list)
    rows = (
        ContactAttempt.objects.filter(contact_id__in=contact_ids)
        .order_by("contact_id", "number")
        .values_list("contact_id", "call__public_id", "outcome")
    )
    for contact_id, call_id, outcome in rows:
        attempts[contact_id].append((call_id, outcome))
    return attempts


def results_rows(campaign: Campaign) -> Iterator[list]:
    """One line per contact, in the file's order: its cells, then where it ended up and through which calls."""
    fields = ("id", "raw_number", "context", "phone_number", "status", "skip_reason", "attempts")
    for chunk in _contacts_in_chunks(Contact.objects.filter(campaign=campaign), fields):
        attempts = _attempts_of([c["id"] for c in chunk])
        for c in chunk:
            tried = attempts.get(c["id"], [])
            yield [
                c["row"],
                *contact_cells(c["raw_number"], c["context"], campaign),
                c["phone_number"],
                c["status"],
                c["skip_reason"],
                c["attempts"],
                ";".join(call_id for call_id, _ in tried if call_id),
                tried[-1][1] if tried else "",
            ]
