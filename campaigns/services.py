"""A campaign's life: created from a CSV (its contacts imported in the same transaction), started, paused,
resumed, cancelled, finished. The only module that moves a campaign's status; dispatch.py moves contacts.

Every transition is audited in its transaction and, once committed, announced to live viewers (through
`calls.announce`, whose `campaign.updated` carries the campaign's counts)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import IO, Any

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.dispatch import Signal
from django.template.defaultfilters import filesizeformat
from django.utils import timezone

from agents.models import Agent
from calls.announce import calls_changed_on_commit
from calls.models import Call, CallStatus
from calls.services import agent_lines
from campaigns.importing import ImportReport, ImportTooLarge, contacts_import
from campaigns.models import Campaign, CampaignStatus, Contact, ContactStatus, SkipReason
from campaigns.options import CampaignOptions, InvalidOption
from wordcab_admin.kernel.audit import audit_record
from wordcab_admin.kernel.errors import Conflict, InvalidState, Unprocessable

log = logging.getLogger(__name__)

AUDIT_OBJECT_TYPE = "campaign"
# `campaigns_completed(campaign_ids=[pk, ...])`: campaigns that finished, sent after the commit that finished
# them (robust: a receiver's error is logged). Outbound webhooks hear it (webhooks/apps.py).
campaigns_completed = Signal()
# status → the statuses it may move to, and the verb that moves it there
TRANSITIONS: dict[str, dict[CampaignStatus, set[CampaignStatus]]] = {
    "start": {CampaignStatus.RUNNING: {CampaignStatus.DRAFT}},
    "pause": {CampaignStatus.PAUSED: {CampaignStatus.RUNNING}},
    "resume": {CampaignStatus.RUNNING: {CampaignStatus.PAUSED}},
    "cancel": {
        CampaignStatus.CANCELLED: {CampaignStatus.DRAFT, CampaignStatus.RUNNING, CampaignStatus.PAUSED}
    },
}


def campaign_audit_view(campaign: Campaign) -> dict[str, Any]:
    return {
        "name": campaign.name,
        "agent_id": campaign.agent.public_id,
        "status": campaign.status,
        "file": campaign.file_name,
        "validation": campaign.validation,
    }


def campaign_create(
    *,
    actor: Any,
    name: str,
    agent: Agent,
    upload: IO[bytes],
    file_name: str = "",
    size: int | None = None,
    phone_column: str = "",
    options: CampaignOptions | None = None,
    progress: Callable[[int], None] | None = None,
) -> tuple[Campaign, ImportReport]:
    """A draft campaign with one contact per data row of `upload` (rejected rows as skipped contacts, with
    why), in one transaction: a file refused as a whole (campaigns.importing.ImportRefused) creates
    nothing. `progress(rows)` is told how many rows have been read, every few thousand."""
    limit = settings.CAMPAIGN_CSV_MAX_BYTES
    if size is not None and size > limit:
        raise ImportTooLarge(
            f"The file is {filesizeformat(size)}; it may be at most {filesizeformat(limit)}.", field="file"
        )
    if not agent.is_active:
        raise Conflict(f"Agent {agent.public_id} is disabled.", code="agent_disabled", field="agent_id")
    options = options or CampaignOptions()
    if options.from_number:  # one of the agent's numbers that can place calls, checked now, not at dispatch
        try:
            agent_lines(agent).line_for(from_number=options.from_number)
        except Unprocessable as exc:
            raise InvalidOption(exc.message, field="from_number", code="invalid_from_number") from None
    user = actor if getattr(actor, "is_authenticated", False) else None
    with transaction.atomic():
        campaign = Campaign.objects.create(
            name=name, agent=agent, created_by=user, file_name=file_name[:200], **options.as_fields()
        )
        report = contacts_import(
            campaign=campaign, stream=upload, phone_column=phone_column, progress=progress
        )
        campaign.columns, campaign.phone_column = report.columns, report.phone_column
        campaign.validation = report.counts()
        campaign.save(update_fields=["columns", "phone_column", "validation", "updated_at"])
        audit_record(
            actor=actor,
            action="campaign.created",
            object_type=AUDIT_OBJECT_TYPE,
            object_id=campaign.public_id,
            after=campaign_audit_view(campaign),
        )
        calls_changed_on_commit([], {campaign.pk})
    return campaign, report


def campaign_start(*, actor: Any, campaign: Campaign) -> Campaign:
    return _campaign_move(actor=actor, campaign=campaign, verb="start")


def campaign_pause(*, actor: Any, campaign: Campaign) -> Campaign:
    return _campaign_move(actor=actor, campaign=campaign, verb="pause")


def campaign_resume(*, actor: Any, campaign: Campaign) -> Campaign:
    return _campaign_move(actor=actor, campaign=campaign, verb="resume")


def campaign_cancel(*, actor: Any, campaign: Campaign) -> Campaign:
    """Cancelled: no further call starts, and every pending contact is skipped (`cancelled`). Calls already
    live go on to their end; their contacts get their outcome but no retry."""
    return _campaign_move(actor=actor, campaign=campaign, verb="cancel")


def _campaign_move(*, actor: Any, campaign: Campaign, verb: str) -> Campaign:
    ((target, sources),) = TRANSITIONS[verb].items()
    with transaction.atomic():
        locked = Campaign.objects.select_for_update(of=("self",)).select_related("agent").get(pk=campaign.pk)
        if locked.status not in sources:
            raise InvalidState(
                f"Campaign {locked.public_id} is {locked.status}; it cannot {verb}.", field="status"
            )
        before = campaign_audit_view(locked)
        now = timezone.now()
        locked.status, locked.status_reason = target, ""
        fields = ["status", "status_reason", "updated_at"]
        if verb == "start":
            locked.started_at, fields = now, [*fields, "started_at"]
        if target == CampaignStatus.CANCELLED:
            locked.finished_at, fields = now, [*fields, "finished_at"]
            Contact.objects.filter(campaign=locked, status=ContactStatus.PENDING).update(
                status=ContactStatus.SKIPPED,
                skip_reason=SkipReason.CANCELLED,
                message="The campaign was cancelled before this contact was called.",
                next_attempt_at=None,
                updated_at=now,
            )
        locked.save(update_fields=fields)
        audit_record(
            actor=actor,
            action=f"campaign.{_past(verb)}",
            object_type=AUDIT_OBJECT_TYPE,
            object_id=locked.public_id,
            before=before,
            after=campaign_audit_view(locked),
        )
        calls_changed_on_commit([], {locked.pk})
    return locked


def _past(verb: str) -> str:
    return {"start": "started", "pause": "paused", "resume": "resumed", "cancel": "cancelled"}[verb]


def campaigns_finish_if_done(campaign_ids: Iterable[int], **_signal: object) -> int:
    """Mark the running campaigns among `campaign_ids` that have nothing left to do as completed: no contact
    pending (a retry waiting included) or calling, and no call live. Returns how many, and announces them.

    Run after the commit that ended a call (it receives `calls.announce.calls_ended`) and by the dispatch
    tick, as one statement: of two transactions that end a campaign's last two calls at once, neither sees
    the other's call ended before it commits, but the later of the two checks afterwards sees both."""
    ids = list(campaign_ids)
    if not ids:
        return 0
    still_calling = Call.objects.filter(campaign_id=OuterRef("pk"), status__in=CallStatus.active())
    still_to_call = Contact.objects.filter(
        campaign_id=OuterRef("pk"), status__in=[ContactStatus.PENDING, ContactStatus.CALLING]
    )
    now = timezone.now()
    with transaction.atomic():
        done = list(
            Campaign.objects.filter(pk__in=ids, status=CampaignStatus.RUNNING)
            .exclude(Exists(still_calling))
            .exclude(Exists(still_to_call))
            .values_list("pk", flat=True)
        )
        if not done:
            return 0
        finished = Campaign.objects.filter(pk__in=done, status=CampaignStatus.RUNNING).update(
            status=CampaignStatus.COMPLETED, finished_at=now, updated_at=now
        )
        calls_changed_on_commit([], done)
        transaction.on_commit(
            lambda: campaigns_completed.send_robust(sender=Campaign, campaign_ids=done), robust=True
        )
    return finished


def campaign_system_pause(*, campaign: Campaign, reason: str) -> None:
    """Pause a running campaign that cannot go on (its agent disabled, its provider not configured), saying
    why on its page and in the audit log; a person resumes it once mended. Called by dispatch, in its
    transaction."""
    updated = Campaign.objects.filter(pk=campaign.pk, status=CampaignStatus.RUNNING).update(
        status=CampaignStatus.PAUSED, status_reason=reason[:300], updated_at=timezone.now()
    )
    if updated:
        log.warning("campaign %s paused: %s", campaign.public_id, reason)
        audit_record(
            actor=None,
            action="campaign.paused",
            object_type=AUDIT_OBJECT_TYPE,
            object_id=campaign.public_id,
            before={"status": CampaignStatus.RUNNING},
            after={"status": CampaignStatus.PAUSED, "reason": reason[:300]},
        )
        calls_changed_on_commit([], {campaign.pk})
