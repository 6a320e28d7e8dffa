"""Outbound webhooks: the endpoints customers register, the events we tell them about, one delivery per
(endpoint, event) and every attempt of it. The delivery row is the truth: a lost task or a dead worker
delays a delivery (the sweep finds it due), never loses it (docs/webhooks.md)."""

from functools import partial

from django.conf import settings
from django.db import models
from django.db.models import Q

from wordcab_admin.kernel.ids import new_public_id


class EventType(models.TextChoices):
    CALL_STARTED = "call.started"
    CALL_STATUS_CHANGED = "call.status_changed"
    CALL_ENDED = "call.ended"
    RECORDING_READY = "recording.ready"
    CAMPAIGN_COMPLETED = "campaign.completed"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending"  # due at next_attempt_at (now, or a retry's time)
    SUCCEEDED = "succeeded"  # a 2xx answer
    FAILED = "failed"  # every retry spent (at least 24 hours of them)


class WebhookEndpoint(models.Model):
    public_id = models.CharField(max_length=64, unique=True, default=partial(new_public_id, "whk"))
    url = models.CharField(max_length=2000)
    description = models.CharField(max_length=300, blank=True, default="")
    events = models.JSONField(default=list, help_text="The EventType values it subscribes to.")
    enabled = models.BooleanField(default=True)
    secret_sealed = models.TextField(help_text="The signing secret, sealed (wordcab_admin/kernel/sealed.py).")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return self.url


class WebhookEvent(models.Model):
    public_id = models.CharField(max_length=64, unique=True, default=partial(new_public_id, "evt"))
    type = models.CharField(max_length=32, choices=EventType)
    created_at = models.DateTimeField()
    body = models.TextField(help_text="The exact JSON body sent, the same on every attempt.")
    # What the event is about, once: "call.ended:call_abc". A second announcement of the same change (a
    # call object announced again when its recording is stored) finds it and makes no second event.
    dedupe_key = models.CharField(max_length=200, unique=True, null=True, blank=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.type} {self.public_id}"


class WebhookDelivery(models.Model):
    public_id = models.CharField(max_length=64, unique=True, default=partial(new_public_id, "dlv"))
    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    event = models.ForeignKey(WebhookEvent, on_delete=models.CASCADE, related_name="deliveries")
    status = models.CharField(max_length=16, choices=DeliveryStatus, default=DeliveryStatus.PENDING)
    attempts_count = models.PositiveIntegerField(default=0)
    failures_in_row = models.PositiveIntegerField(default=0, help_text="Since it was created or replayed.")
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    # A claim: whoever holds claim_token until claimed_until makes the one attempt in flight.
    claimed_until = models.DateTimeField(null=True, blank=True, editable=False)
    claim_token = models.CharField(max_length=32, blank=True, default="", editable=False)
    replay_requested = models.BooleanField(default=False, help_text="Its next attempt is a person's Replay.")
    last_status_code = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(fields=["endpoint", "event"], name="webhook_delivery_once_per_endpoint")
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at"], name="webhook_delivery_due", condition=Q(status="pending")
            ),
            models.Index(fields=["endpoint", "-id"], name="webhook_delivery_endpoint"),
        ]

    def __str__(self) -> str:
        return self.public_id


class WebhookAttempt(models.Model):
    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="attempts")
    number = models.PositiveIntegerField()
    started_at = models.DateTimeField()
    duration_ms = models.PositiveIntegerField(default=0)
    status_code = models.PositiveIntegerField(null=True, blank=True)
    succeeded = models.BooleanField(default=False)
    response_body = models.TextField(blank=True, default="", help_text="The first 2 KB of the answer.")
    error = models.CharField(max_length=500, blank=True, default="")
    connected_to = models.CharField(max_length=64, blank=True, default="", help_text="The IP address.")
    replay = models.BooleanField(default=False, help_text="Made by a person's Replay.")

    class Meta:
        ordering = ["-number"]
        constraints = [
            models.UniqueConstraint(fields=["delivery", "number"], name="webhook_attempt_number_unique")
        ]

    def __str__(self) -> str:
        return f"{self.delivery_id} #{self.number}"
