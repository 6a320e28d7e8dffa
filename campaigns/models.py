"""Outbound campaigns: a campaign, its contacts (one per data row of the uploaded CSV, rejected rows too, as
`skipped` with why) and each contact's attempts (one call each).

State lives in the database, never only in the broker (docs/campaigns.md): a contact is `calling` exactly
when the transaction that claimed it also created its attempt and that attempt's call (the calls outbox
places it), so a worker that dies mid-way leaves either all three or none of them."""

from functools import partial

from django.conf import settings
from django.db import models
from django.db.models import Q

from agents.models import Agent
from wordcab_admin.kernel.ids import new_public_id


class CampaignStatus(models.TextChoices):
    DRAFT = "draft"
    RUNNING = "running"
    PAUSED = "paused"
    COMPLETED = "completed"
    CANCELLED = "cancelled"

    @classmethod
    def finished(cls) -> frozenset["CampaignStatus"]:
        return frozenset({cls.COMPLETED, cls.CANCELLED})


class RetryOutcome(models.TextChoices):
    """The outcomes of an attempt that may be tried again (campaign setting `retry_outcomes`)."""

    NO_ANSWER = "no_answer"
    BUSY = "busy"
    FAILED = "failed"
    VOICEMAIL = "voicemail"


DEFAULT_RETRY_OUTCOMES = [RetryOutcome.NO_ANSWER.value, RetryOutcome.BUSY.value]


def default_retry_outcomes() -> list[str]:
    return list(DEFAULT_RETRY_OUTCOMES)


class Campaign(models.Model):
    """The table keeps the name it had when this model lived in calls (moved state-only: migrations 0001)."""

    public_id = models.CharField(max_length=64, unique=True, default=partial(new_public_id, "camp"))
    name = models.CharField(max_length=200)
    agent = models.ForeignKey(Agent, on_delete=models.PROTECT, related_name="campaigns")
    status = models.CharField(max_length=16, choices=CampaignStatus, default=CampaignStatus.DRAFT)
    status_reason = models.CharField(
        max_length=300,
        blank=True,
        default="",
        help_text="Why the system paused it (the agent disabled, ...).",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    # The file it was made from: its name, header (in order) and the column holding the numbers.
    file_name = models.CharField(max_length=200, blank=True, default="")
    columns = models.JSONField(default=list, blank=True)
    phone_column = models.CharField(max_length=200, blank=True, default="")
    validation = models.JSONField(
        default=dict,
        blank=True,
        help_text="{rows, accepted, rejected}: the rejected rows are skipped contacts",
    )

    # Settings (docs/contract.md, campaign creation).
    start_at = models.DateTimeField(null=True, blank=True, help_text="Not before (default: when started).")
    end_at = models.DateTimeField(null=True, blank=True, help_text="No call starts after this.")
    max_concurrent_calls = models.PositiveIntegerField(default=5)
    calls_per_minute = models.PositiveIntegerField(default=30)
    max_attempts = models.PositiveSmallIntegerField(default=3)
    retry_delay_seconds = models.PositiveIntegerField(default=1800)
    retry_outcomes = models.JSONField(default=default_retry_outcomes, blank=True)
    record = models.BooleanField(null=True, blank=True, help_text="None: the agent's setting.")
    max_duration = models.PositiveIntegerField(null=True, blank=True, help_text="None: the agent's.")
    from_number = models.CharField(
        max_length=20,
        blank=True,
        default="",
        help_text="The caller id ('' = the agent's number most like each callee's).",
    )
    # An optional local calling window (the contact's local time) that may only narrow the jurisdictions'.
    window_start = models.TimeField(null=True, blank=True)
    window_end = models.TimeField(null=True, blank=True)

    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "calls_campaign"
        ordering = ["-id"]
        indexes = [models.Index(fields=["status"], name="campaign_status")]
        constraints = [
            models.CheckConstraint(
                condition=Q(max_concurrent_calls__gte=1, max_concurrent_calls__lte=1000),
                name="campaign_concurrency_range",
            ),
            models.CheckConstraint(
                condition=Q(calls_per_minute__gte=1, calls_per_minute__lte=6000), name="campaign_pacing_range"
            ),
            models.CheckConstraint(
                condition=Q(max_attempts__gte=1, max_attempts__lte=10), name="campaign_attempts_range"
            ),
            models.CheckConstraint(
                condition=Q(retry_delay_seconds__lte=7 * 24 * 3600), name="campaign_retry_delay_range"
            ),
            models.CheckConstraint(
                condition=Q(window_start__isnull=True, window_end__isnull=True)
                | Q(
                    window_start__isnull=False,
                    window_end__isnull=False,
                    window_start__lt=models.F("window_end"),
                ),
                name="campaign_window_ordered",
            ),
            models.CheckConstraint(
                condition=Q(start_at__isnull=True)
                | Q(end_at__isnull=True)
                | Q(start_at__lt=models.F("end_at")),
                name="campaign_start_before_end",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class ContactStatus(models.TextChoices):
    PENDING = "pending"
    CALLING = "calling"
    COMPLETED = "completed"
    FAILED = "failed"
    NO_ANSWER = "no_answer"
    SKIPPED = "skipped"

    @classmethod
    def final(cls) -> frozenset["ContactStatus"]:
        return frozenset({cls.COMPLETED, cls.FAILED, cls.NO_ANSWER, cls.SKIPPED})


class SkipReason(models.TextChoices):
    """Why a contact is skipped: the import's row errors, then what dispatch decided."""

    INVALID_NUMBER = "invalid_number"
    DUPLICATE = "duplicate"
    DO_NOT_CALL = "do_not_call"
    COUNTRY_NOT_ALLOWED = "country_not_allowed"
    OUTSIDE_WINDOW_EXPIRED = "outside_window_expired"
    CANCELLED = "cancelled"


class Contact(models.Model):
    """One data row of the campaign's file. `context` holds every column but the phone column, by header."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="contacts")
    row = models.PositiveIntegerField(help_text="As a spreadsheet numbers it: the header is row 1.")
    phone_number = models.CharField(max_length=20, blank=True, default="", help_text="E.164; '' if invalid.")
    raw_number = models.CharField(max_length=64, blank=True, default="", help_text="As the file had it.")
    context = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=16, choices=ContactStatus, default=ContactStatus.PENDING)
    skip_reason = models.CharField(max_length=32, choices=SkipReason, blank=True, default="")
    message = models.CharField(max_length=300, blank=True, default="", help_text="Why skipped, for people.")
    attempts = models.PositiveSmallIntegerField(default=0, help_text="Attempts made (each one call).")
    next_attempt_at = models.DateTimeField(
        null=True, blank=True, help_text="Pending: not before (a retry's delay, the next window opening)."
    )
    last_call = models.ForeignKey(
        "calls.Call", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["row"]
        constraints = [models.UniqueConstraint(fields=["campaign", "row"], name="contact_row_unique")]
        indexes = [
            models.Index(
                fields=["campaign", "next_attempt_at", "id"],
                name="contact_due",
                condition=Q(status="pending"),
            ),
            models.Index(fields=["campaign", "status"], name="contact_by_status"),
        ]

    def __str__(self) -> str:
        return f"{self.campaign_id} row {self.row}"


class ContactAttempt(models.Model):
    """The n-th attempt to call a contact, made in the transaction that claimed the contact and created the
    call (idempotency key `campaign:<id>:contact:<id>:attempt:<n>`). Unique per (contact, n): a second
    dispatcher that reached the same attempt fails to insert and rolls its claim back."""

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="attempt_set")
    number = models.PositiveSmallIntegerField()
    call = models.OneToOneField(
        "calls.Call", null=True, blank=True, on_delete=models.SET_NULL, related_name="campaign_attempt"
    )
    outcome = models.CharField(max_length=16, blank=True, default="", help_text="Set when its call ended.")
    created_at = models.DateTimeField(auto_now_add=True)
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["contact_id", "number"]
        constraints = [models.UniqueConstraint(fields=["contact", "number"], name="contact_attempt_unique")]

    def __str__(self) -> str:
        return f"contact {self.contact_id} attempt {self.number}"


def attempt_idempotency_key(*, campaign_public_id: str, contact_id: int, number: int) -> str:
    return f"campaign:{campaign_public_id}:contact:{contact_id}:attempt:{number}"
