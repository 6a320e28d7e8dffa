"""Retention of recordings: each recording's expiry from the most specific policy (compliance/retention.py),
recomputed when a policy changes, and the sweep that deletes expired recordings from the store, never one
under a legal hold (compliance/holds.py), with a receipt and an audit event for each.

The sweep, `retention_sweep`:
- **claims** a batch of up to 1,000 stored, expired, unheld recordings in one short transaction: the
  rows are read with `SELECT … FOR UPDATE SKIP LOCKED` (PostgreSQL; SQLite has a single writer, whose
  IMMEDIATE transactions do the same) and stamped with this run's token and a lease. The store is then
  asked outside any transaction, so the claim is written down rather than held: another sweep skips
  claimed rows until the lease ends (a sweep that died), and each row is deleted by one sweep only;
- **deletes** the batch's objects on a worker thread (one S3 `DeleteObjects` request per batch, or an
  unlink per local file), several batches in flight at once, while this thread claims the next and
  settles the finished ones: the database work stays on one thread and one connection;
- **settles** a finished batch in one transaction: the recordings the store reports deleted, and still
  claimed by this run, become `deleted`, with one bulk UPDATE, one bulk INSERT of receipts and one of
  audit events; the others are released for the next run. A store that cannot be reached stops the run
  and leaves everything stored (nothing is marked deleted that the store did not report gone).

Holds are read again at every claim, and the claim itself excludes held recordings, so a hold placed
before a batch is claimed keeps all of its recordings; a batch already claimed is being deleted. Before
deleting, each recording's expiry is checked against the policies as they are now (a policy lengthened a
moment ago keeps its recordings even if their recompute has not run yet)."""

from __future__ import annotations

import logging
import secrets
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.core.files.storage import Storage
from django.db import transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone

from calls.models import Call
from compliance.audit import SYSTEM_ACTOR
from compliance.holds import HoldIndex, HoldTarget, active_holds, hold_why, legal_holds
from compliance.models import AuditEvent, LegalHold
from compliance.retention import RetentionChoice, RetentionTable, retention_policy_for, retention_table
from recordings.models import ExpiryRecompute, Recording, RecordingDeletionReceipt, RecordingStatus
from recordings.object_delete import S3_MAX_KEYS_PER_REQUEST, BatchDeleter, DeleteOutcome, batch_deleter_for
from recordings.retention_sql import public_ids, rows_insert
from recordings.services import recordings_storage
from wordcab_admin.kernel.request_id import request_id_current
from wordcab_admin.kernel.tasks import task_send_or_leave_to_sweep

log = logging.getLogger(__name__)

SWEEP_BATCH = S3_MAX_KEYS_PER_REQUEST
# Batches in flight at once. One DeleteObjects of 1,000 keys takes a SeaweedFS about 0.3 s: one at a time
# is ~3,000 objects/s, eight at once keep the store busy while this thread settles (docs/media.md).
SWEEP_PARALLEL = 8
# How long a claim holds: far beyond a batch's few seconds, so only a dead sweep's claims wait it out.
CLAIM_LEASE = timedelta(minutes=15)
RECOMPUTE_BATCH = 5000
LISTED = 1000  # recordings a dry run or a report lists by name (the counts are always whole)

_COLUMNS = (
    "pk", "call_id", "call__public_id", "call__agent_id", "call__jurisdiction", "call__campaign__public_id",
    "call__to_number", "call__from_number", "storage_key", "sha256", "size_bytes", "stored_at", "expires_at",
)  # fmt: skip


@dataclass(frozen=True)
class DueRecording:
    """An expired recording as the sweep reads it: what to delete, and the rule that says so."""

    pk: int
    call_pk: int
    call_id: str
    agent_pk: int
    campaign_id: str | None
    numbers: tuple[str, str]
    storage_key: str
    sha256: str
    size_bytes: int | None
    stored_at: datetime | None
    expires_at: datetime
    retention: RetentionChoice

    @classmethod
    def of(cls, row, table: RetentionTable) -> DueRecording:
        return cls(
            pk=row.pk,
            call_pk=row.call_id,
            call_id=row.call__public_id,
            agent_pk=row.call__agent_id,
            campaign_id=row.call__campaign__public_id,
            numbers=(row.call__to_number, row.call__from_number),
            storage_key=row.storage_key,
            sha256=row.sha256,
            size_bytes=row.size_bytes,
            stored_at=row.stored_at,
            expires_at=row.expires_at,
            retention=table.choice_for(agent_id=row.call__agent_id, jurisdiction=row.call__jurisdiction),
        )

    def holds_in(self, holds: HoldIndex) -> list[LegalHold]:
        return holds.holds_for(
            call_id=self.call_id, agent_id=self.agent_pk, campaign_id=self.campaign_id, numbers=self.numbers
        )

    def expiry_now(self) -> datetime:
        """The expiry the policies give it now (its stored one may predate a policy change)."""
        if self.stored_at is None:
            return self.expires_at
        return self.stored_at + timedelta(days=self.retention.days)


# --- expiry ------------------------------------------------------------------------------------------


def expiry_recompute_request(*, scopes: Iterable[tuple[int | None, str]]) -> None:
    """compliance's retention change listener (plugged in by recordings/apps.py): called inside the policy
    change's transaction, it writes the scopes down there, and asks for the recompute once it commits."""
    ExpiryRecompute.objects.bulk_create(
        [ExpiryRecompute(agent_id=agent_id, jurisdiction=jurisdiction) for agent_id, jurisdiction in scopes]
    )
    transaction.on_commit(lambda: task_send_or_leave_to_sweep("recordings.retention_recompute", {}))


def expiry_recompute_pending(*, batch_size: int = RECOMPUTE_BATCH) -> int:
    """Recompute the expiry of stored recordings in every scope whose policy changed, in batches (a short
    transaction each); returns how many expiries moved. Running it twice, or twice at once, is harmless:
    both write what the policies say."""
    pending = list(ExpiryRecompute.objects.order_by("pk"))
    if not pending:
        return 0
    table = retention_table()  # read after the requests: it has every change they stand for
    scopes = {(request.agent_id, request.jurisdiction) for request in pending}
    if (None, "") in scopes:
        scopes = {(None, "")}  # everything: no need to go over any part twice
    moved = sum(_recompute_scope(scope, table, batch_size=batch_size) for scope in sorted(scopes, key=str))
    ExpiryRecompute.objects.filter(pk__in=[request.pk for request in pending]).delete()
    if moved:
        log.info("retention: %d recordings' expiry recomputed after policy changes", moved)
    return moved


def _recompute_scope(scope: tuple[int | None, str], table: RetentionTable, *, batch_size: int) -> int:
    agent_id, jurisdiction = scope
    stored = Recording.objects.filter(status=RecordingStatus.STORED, stored_at__isnull=False)
    if agent_id is not None:
        stored = stored.filter(call__agent_id=agent_id)
    if jurisdiction:
        stored = stored.filter(call__jurisdiction=jurisdiction)
    moved, last_pk = 0, 0
    columns = ("pk", "stored_at", "expires_at", "call__agent_id", "call__jurisdiction")
    while batch := list(stored.filter(pk__gt=last_pk).order_by("pk").values_list(*columns)[:batch_size]):
        last_pk = batch[-1][0]
        by_days: dict[int, list[int]] = defaultdict(list)
        for pk, stored_at, expires_at, row_agent, row_jurisdiction in batch:
            days = table.choice_for(agent_id=row_agent, jurisdiction=row_jurisdiction).days
            if expires_at != stored_at + timedelta(days=days):
                by_days[days].append(pk)
        moved += _expiry_set(by_days)
    return moved


def _expiry_set(pks_by_days: dict[int, list[int]]) -> int:
    """expires_at = stored_at + days, one UPDATE per number of days."""
    moved = 0
    for days, pks in pks_by_days.items():
        moved += Recording.objects.filter(pk__in=pks, status=RecordingStatus.STORED).update(
            expires_at=F("stored_at") + timedelta(days=days)
        )
    return moved


def hold_target_exists(kind: HoldTarget) -> Callable[[str], bool]:
    """compliance's check before a hold names a call or campaign (plugged in by recordings/apps.py)."""
    if kind == HoldTarget.CALL:
        return lambda public_id: Call.objects.filter(public_id=public_id).exists()
    return lambda public_id: _campaigns().filter(public_id=public_id).exists()


def _campaigns() -> QuerySet:
    """Campaigns stand above recordings: their table is found through Call's relation, never imported."""
    return Call._meta.get_field("campaign").related_model.objects.all()


# --- what is due, and what is held ---------------------------------------------------------------------


def _expired(cutoff: datetime) -> QuerySet[Recording]:
    return Recording.objects.filter(status=RecordingStatus.STORED, expires_at__lte=cutoff)


def _held_condition(holds: HoldIndex) -> Q:
    """The recordings some active hold names (the SQL twin of HoldIndex.holds_for)."""
    condition = Q(pk__in=[])
    if holds.calls:
        condition |= Q(call__public_id__in=list(holds.calls))
    if holds.agents:
        condition |= Q(call__agent_id__in=list(holds.agents))
    if holds.campaigns:
        campaign_pks = _campaigns().filter(public_id__in=list(holds.campaigns)).values("pk")
        condition |= Q(call__campaign_id__in=campaign_pks)
    if holds.numbers:
        numbers = list(holds.numbers)
        condition |= Q(call__to_number__in=numbers) | Q(call__from_number__in=numbers)
    return condition


def _not_held(recordings: QuerySet[Recording], holds: HoldIndex) -> QuerySet[Recording]:
    return recordings.exclude(_held_condition(holds)) if holds else recordings


# --- the sweep -----------------------------------------------------------------------------------------


@dataclass
class SweepReport:
    dry_run: bool = False
    started_at: datetime | None = None
    cutoff: datetime | None = None
    deleted: int = 0
    refused: int = 0
    store_unreachable: str = ""
    more: bool = False  # stopped by its time budget with recordings still due
    deleted_call_ids: list[str] = field(default_factory=list)  # the first LISTED
    errors: list[str] = field(default_factory=list)  # the first few refusals, key: reason
    seconds: float = 0.0


@dataclass
class _Run:
    token: str
    cutoff: datetime
    deleter: BatchDeleter
    actor: object | None
    report: SweepReport
    request_id: str = ""  # of the request (or task) that runs the sweep, as audit_record writes it

    @property
    def requested_by(self) -> str:
        user = self.actor if self.actor is not None and self.actor.is_authenticated else None
        return user.get_username() if user else SYSTEM_ACTOR


def retention_sweep(
    *,
    actor=None,
    storage: Storage | None = None,
    batch_size: int = SWEEP_BATCH,
    parallel: int = SWEEP_PARALLEL,
    time_budget: float | None = None,
) -> SweepReport:
    """Delete every stored recording expired now and under no hold; see the module's docstring."""
    started = time.monotonic()
    expiry_recompute_pending()
    now = timezone.now()
    run = _Run(
        token=secrets.token_hex(16),
        cutoff=now,
        deleter=batch_deleter_for(storage or recordings_storage()),
        actor=actor,
        report=SweepReport(started_at=now, cutoff=now),
        request_id=request_id_current(),
    )
    batch_size = max(1, min(batch_size, S3_MAX_KEYS_PER_REQUEST))
    in_flight: dict[Future, list[DueRecording]] = {}
    with ThreadPoolExecutor(max_workers=max(1, parallel), thread_name_prefix="retention-delete") as pool:
        exhausted = False
        while True:
            while not exhausted and len(in_flight) < max(1, parallel) and not run.report.store_unreachable:
                if time_budget is not None and time.monotonic() - started > time_budget:
                    run.report.more = exhausted = True
                    break
                batch, progressed = _claim(run, batch_size=batch_size)
                exhausted = not progressed
                if batch:
                    in_flight[pool.submit(run.deleter.delete, [due.storage_key for due in batch])] = batch
            if not in_flight:
                break
            finished, _ = wait(in_flight, return_when=FIRST_COMPLETED)
            for future in finished:
                _settle(run, in_flight.pop(future), future.result())
    run.report.seconds = time.monotonic() - started
    _log_report(run.report)
    return run.report


def _claim(run: _Run, *, batch_size: int) -> tuple[list[DueRecording], bool]:
    """The next batch, claimed for this run, and whether any progress was made (False: nothing left)."""
    holds = active_holds()
    table = retention_table()
    now = timezone.now()
    with transaction.atomic():
        unclaimed = _not_held(_expired(run.cutoff), holds).exclude(sweep_claimed_until__gt=now)
        rows = list(
            unclaimed.order_by("expires_at", "pk")
            .select_for_update(skip_locked=True, of=("self",))
            .values_list(*_COLUMNS, named=True)[:batch_size]
        )
        batch, later = [], defaultdict(list)
        for row in rows:
            due = DueRecording.of(row, table)
            if due.holds_in(holds):
                log.error("retention: %s is held but was claimed; left alone", due.call_id)
            elif due.expiry_now() > run.cutoff:
                later[due.retention.days].append(due.pk)  # a policy lengthened: not due after all
            else:
                batch.append(due)
        _expiry_set(later)
        Recording.objects.filter(pk__in=[due.pk for due in batch]).update(
            sweep_token=run.token, sweep_claimed_until=now + CLAIM_LEASE
        )
    return batch, bool(batch or later)


def _settle(run: _Run, batch: list[DueRecording], outcome: DeleteOutcome) -> None:
    """Mark deleted what the store reports gone (and this run still claims), with receipts and audit
    events; release the rest for the next run."""
    report = run.report
    if outcome.unreachable and not report.store_unreachable:
        report.store_unreachable = outcome.unreachable
        log.warning(
            "retention sweep: the recordings store is unreachable (%s); retried next run", outcome.unreachable
        )
    for key, reason in outcome.refused.items():
        if len(report.errors) < 20:
            report.errors.append(f"{key}: {reason}")
    report.refused += len(outcome.refused)
    gone = [due for due in batch if due.storage_key in outcome.deleted]
    now = timezone.now()
    with transaction.atomic():
        still_ours = set(
            Recording.objects.filter(pk__in=[due.pk for due in gone], sweep_token=run.token)
            .select_for_update(of=("self",))
            .values_list("pk", flat=True)
        )
        settled = [due for due in gone if due.pk in still_ours]
        Recording.objects.filter(pk__in=still_ours).update(
            status=RecordingStatus.DELETED, deleted_at=now, sweep_token="", sweep_claimed_until=None
        )
        receipt_ids = public_ids("rcpt", len(settled))
        rows_insert(
            RecordingDeletionReceipt,
            [_receipt(run, due, now, public_id) for due, public_id in zip(settled, receipt_ids, strict=True)],
            now=now,
        )
        rows_insert(AuditEvent, [_audit_event(run, due, now) for due in settled], now=now)
        Recording.objects.filter(
            pk__in=[due.pk for due in batch if due.pk not in still_ours], sweep_token=run.token
        ).update(sweep_token="", sweep_claimed_until=None)
    report.deleted += len(settled)
    room = LISTED - len(report.deleted_call_ids)
    report.deleted_call_ids += [due.call_id for due in settled[: max(0, room)]]


def _receipt(run: _Run, due: DueRecording, deleted_at: datetime, public_id: str) -> dict:
    """A RecordingDeletionReceipt row (recordings/retention_sql.py inserts a batch of them at once)."""
    policy = due.retention.policy
    return {
        "public_id": public_id,
        "recording_id": due.pk,
        "call_id": due.call_pk,
        "call_public_id": due.call_id,
        "store": run.deleter.store,
        "storage_key": due.storage_key,
        "sha256": due.sha256,
        "size_bytes": due.size_bytes,
        "stored_at": due.stored_at,
        "expires_at": due.expires_at,
        "deleted_at": deleted_at,
        "retention_days": due.retention.days,
        "retention_scope": due.retention.scope,
        "retention_policy_id": policy.public_id if policy else "",
        "requested_by": run.requested_by,
    }


def _audit_event(run: _Run, due: DueRecording, deleted_at: datetime) -> dict:
    """A `recording.deleted` AuditEvent row, as audit_record would write it, inserted a batch at a time
    (recordings stands above compliance, so it may use the table itself; the rows stay append-only)."""
    user = run.actor if run.actor is not None and run.actor.is_authenticated else None
    policy = due.retention.policy
    return {
        "actor_id": user.pk if user else None,
        "actor_label": run.requested_by,
        "action": "recording.deleted",
        "object_type": "call",
        "object_id": due.call_id,
        "before": {
            "status": RecordingStatus.STORED.value,
            "storage_key": due.storage_key,
            "sha256": due.sha256,
            "size_bytes": due.size_bytes,
            "expires_at": due.expires_at.isoformat(),
        },
        "after": {
            "status": RecordingStatus.DELETED.value,
            "deleted_at": deleted_at.isoformat(),
            "store": run.deleter.store,
            "retention": {
                "policy_id": policy.public_id if policy else None,
                "scope": due.retention.scope,
                "days": due.retention.days,
            },
        },
        "request_id": run.request_id,
        "created_at": deleted_at,
    }


def _log_report(report: SweepReport) -> None:
    if report.deleted or report.refused or report.store_unreachable:
        log.info(
            "retention sweep: %d recordings deleted, %d refused by the store%s in %.1f s",
            report.deleted,
            report.refused,
            f", store unreachable ({report.store_unreachable})" if report.store_unreachable else "",
            report.seconds,
        )


# --- the dry run ---------------------------------------------------------------------------------------


@dataclass
class KeptRecording:
    """An expired recording that holds keep; reads as its DueRecording too (call_id, expires_at, …)."""

    recording: DueRecording
    holds: list[LegalHold]

    def __getattr__(self, name: str):
        if name == "recording":  # not set yet (copy, pickle): no recursion
            raise AttributeError(name)
        return getattr(self.recording, name)

    @property
    def why(self) -> list[str]:
        return [hold_why(hold) for hold in self.holds]


@dataclass
class SweepPlan:
    """What the next run would delete, and each expired recording a hold keeps, with the hold and why."""

    cutoff: datetime
    would_delete: int
    held: int
    recordings: list[DueRecording]  # the first LISTED, soonest expired first
    kept: list[KeptRecording]  # the same

    @property
    def truncated(self) -> bool:
        return self.would_delete > len(self.recordings) or self.held > len(self.kept)


def retention_sweep_plan(*, limit: int = LISTED) -> SweepPlan:
    """The sweep's dry run: nothing is deleted or claimed. Pending expiry recomputes are applied first,
    as the run would apply them, so that the list is what the run would find."""
    expiry_recompute_pending()
    cutoff = timezone.now()
    holds = active_holds()
    table = retention_table()
    expired = _expired(cutoff)
    due = _not_held(expired, holds)
    held = expired.filter(_held_condition(holds)) if holds else expired.none()

    def listed(recordings: QuerySet[Recording]) -> list[DueRecording]:
        rows = recordings.order_by("expires_at", "pk").values_list(*_COLUMNS, named=True)[:limit]
        return [DueRecording.of(row, table) for row in rows]

    kept = [KeptRecording(recording, recording.holds_in(holds)) for recording in listed(held)]
    return SweepPlan(
        cutoff=cutoff,
        would_delete=due.count(),
        held=held.count(),
        recordings=listed(due),
        kept=kept,
    )


# --- one recording's retention (the call page, GET /v1/calls/{id}/retention) ---------------------------


@dataclass
class RecordingRetention:
    recording: Recording
    retention: RetentionChoice
    holds: list[LegalHold]
    receipt: RecordingDeletionReceipt | None

    @property
    def why_kept(self) -> list[str]:
        return [hold_why(hold) for hold in self.holds]


def recording_retention(recording: Recording) -> RecordingRetention:
    """The rule that decides the recording's expiry, the active holds that keep it, its deletion receipt."""
    call = recording.call
    campaign_id = call.campaign.public_id if call.campaign_id else None
    names = (
        Q(call_public_id=call.public_id)
        | Q(agent_id=call.agent_id)
        | Q(phone_number__in=[n for n in (call.to_number, call.from_number) if n])
    )
    if campaign_id:
        names |= Q(campaign_public_id=campaign_id)
    holds = list(legal_holds().filter(names, released_at__isnull=True).order_by("pk"))
    receipt = RecordingDeletionReceipt.objects.filter(recording=recording).first()
    return RecordingRetention(
        recording=recording,
        retention=retention_policy_for(agent_id=call.agent_id, jurisdiction=call.jurisdiction),
        holds=holds,
        receipt=receipt,
    )
