from functools import partial

from django.conf import settings
from django.db import models
from django.db.models import Q

from agents.models import Agent, Provider
from wordcab_admin.kernel.ids import new_public_id
from wordcab_admin.kernel.telephony_providers import provider_label


class CallStatus(models.TextChoices):
    INITIATING = "initiating"
    RINGING = "ringing"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    FAILED = "failed"
    NO_ANSWER = "no_answer"

    @classmethod
    def terminal(cls) -> frozenset["CallStatus"]:
        return frozenset({cls.COMPLETED, cls.FAILED, cls.NO_ANSWER})

    @classmethod
    def active(cls) -> frozenset["CallStatus"]:
        return frozenset({cls.INITIATING, cls.RINGING, cls.IN_PROGRESS})


class Direction(models.TextChoices):
    OUTBOUND = "outbound"
    INBOUND = "inbound"


class EndReason(models.TextChoices):
    HANGUP = "hangup"
    BUSY = "busy"
    VOICEMAIL = "voicemail"
    MAX_DURATION = "max_duration"
    NO_ANSWER = "no_answer"
    CANCELED = "canceled"
    ERROR = "error"
    LOST = "lost"  # the provider's news of the call's end never came: closed without inventing it


class Call(models.Model):
    public_id = models.CharField(max_length=64, unique=True, default=partial(new_public_id, "call"))
    agent = models.ForeignKey(Agent, on_delete=models.PROTECT, related_name="calls")
    campaign = models.ForeignKey(
        "campaigns.Campaign", null=True, blank=True, on_delete=models.SET_NULL, related_name="calls"
    )
    direction = models.CharField(max_length=8, choices=Direction, default=Direction.OUTBOUND)
    from_number = models.CharField(max_length=20, blank=True, default="")
    to_number = models.CharField(max_length=20, help_text="The callee (outbound) or our number (inbound).")
    status = models.CharField(max_length=16, choices=CallStatus, default=CallStatus.INITIATING)
    end_reason = models.CharField(max_length=16, choices=EndReason, blank=True, default="")
    error_code = models.CharField(max_length=64, blank=True, default="")
    error_message = models.CharField(max_length=500, blank=True, default="")
    sip_response_code = models.PositiveSmallIntegerField(null=True, blank=True)
    context = models.JSONField(default=dict, blank=True)
    max_duration = models.PositiveIntegerField(default=600)
    record = models.BooleanField(default=False)

    provider = models.CharField(max_length=16, default=Provider.SIMULATOR)
    provider_call_id = models.CharField(max_length=64, null=True, blank=True)  # noqa: DJ001 -- NULL = not yet known; "" would collide in the unique constraint
    last_sequence = models.IntegerField(default=-1, help_text="Highest provider sequence number applied.")
    last_event_at = models.DateTimeField(null=True, blank=True)
    # The outbox: an outbound call is committed with `place_due_at` set, and placed by the task sent after
    # commit or, should that task be lost with the broker or the worker, by `calls.place_sweep`. Cleared
    # once the provider has the call (or the call ended); moved on after each failed attempt (backoff).
    place_due_at = models.DateTimeField(null=True, blank=True, editable=False)
    place_attempts = models.PositiveSmallIntegerField(default=0, editable=False)

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    idempotency_key = models.CharField(max_length=255, null=True, blank=True)  # noqa: DJ001 -- NULL = no key; the unique constraint skips it
    request_fingerprint = models.CharField(max_length=64, blank=True, default="")

    consent_opener = models.JSONField(null=True, blank=True)
    consent_delivered_at = models.DateTimeField(null=True, blank=True)
    jurisdiction = models.CharField(max_length=8, blank=True, default="")
    decision = models.JSONField(null=True, blank=True)

    # The media stream: sha256 of the single-use token in the TwiML we last handed the carrier ("" = none
    # outstanding, or consumed), and when a stream claimed it (a call has at most one stream). calls/services.py.
    stream_token_hash = models.CharField(max_length=64, blank=True, default="", editable=False)
    stream_started_at = models.DateTimeField(null=True, blank=True, editable=False)

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["status", "-id"], name="call_status_newest"),
            models.Index(fields=["agent", "-id"], name="call_agent_newest"),
            models.Index(fields=["campaign", "-id"], name="call_campaign_newest"),
            models.Index(fields=["direction", "-id"], name="call_direction_newest"),
            models.Index(fields=["created_at"], name="call_created_at"),
            # the analytics rollup finds the hours to re-count by the calls changed since its last run
            models.Index(fields=["updated_at"], name="call_updated_at"),
            # a campaign's calls per status (campaigns/selectors.py) counted from the index alone
            models.Index(fields=["campaign", "status", "id"], name="call_campaign_status"),
            models.Index(
                fields=["place_due_at"], name="call_to_place", condition=Q(place_due_at__isnull=False)
            ),
            models.Index(
                fields=["status", "last_event_at"],
                name="call_active_by_last_event",
                condition=Q(status__in=["initiating", "ringing", "in_progress"]),
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["owner", "idempotency_key"],
                name="call_key_unique_per_owner",
                condition=Q(idempotency_key__isnull=False),
            ),
            # An owner-less key (a campaign's attempt key) is unique on its own: in the constraint above
            # PostgreSQL holds NULL owners distinct, so it would never stop a second call for one attempt.
            models.UniqueConstraint(
                fields=["idempotency_key"],
                name="call_key_unique_unowned",
                condition=Q(owner__isnull=True, idempotency_key__isnull=False),
            ),
            models.UniqueConstraint(
                fields=["provider", "provider_call_id"],
                name="call_provider_id_unique",
                condition=Q(provider_call_id__isnull=False),
            ),
            models.CheckConstraint(
                condition=Q(max_duration__gte=1, max_duration__lte=14_400), name="call_max_duration_range"
            ),
        ]

    def __str__(self) -> str:
        return self.public_id

    def get_provider_display(self) -> str:
        """The provider's label ("Twilio"), as PhoneNumber.get_provider_display."""
        return provider_label(self.provider)

    @property
    def is_terminal(self) -> bool:
        return self.status in CallStatus.terminal()

    @property
    def duration(self) -> int | None:
        """Talk time in whole seconds, once answered and ended; unknown (None) when the end was lost."""
        if self.answered_at and self.ended_at and self.end_reason != EndReason.LOST:
            return max(0, int((self.ended_at - self.answered_at).total_seconds()))
        return None


class CallEvent(models.Model):
    """Append-only timeline: every provider event is kept, applied or ignored with the reason."""

    call = models.ForeignKey(Call, on_delete=models.CASCADE, related_name="events")
    status = models.CharField(max_length=16, choices=CallStatus, blank=True, default="")
    provider_status = models.CharField(max_length=32, blank=True, default="")
    provider_event_id = models.CharField(max_length=128, blank=True, default="")
    sequence = models.IntegerField(null=True, blank=True)
    source = models.CharField(
        max_length=32, default="system", help_text="simulator, twilio, api, watchdog, …"
    )
    payload = models.JSONField(default=dict, blank=True)
    received_at = models.DateTimeField(auto_now_add=True)
    applied = models.BooleanField(default=False)
    ignored_reason = models.CharField(max_length=200, blank=True, default="")

    class Meta:
        ordering = ["received_at", "id"]
        indexes = [models.Index(fields=["call", "received_at"], name="callevent_call_time")]

    def __str__(self) -> str:
        return f"{self.call_id}:{self.provider_status or self.status}"
