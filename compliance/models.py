from django.conf import settings
from django.db import models


class AuditEventQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise TypeError("Audit events are append-only")

    def delete(self):
        raise TypeError("Audit events are append-only")


class AuditEvent(models.Model):
    """Append-only: who did what to which object, when, before → after."""

    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    actor_label = models.CharField(max_length=150, help_text="Username or 'system', kept if the user goes.")
    action = models.CharField(max_length=64, db_index=True)
    object_type = models.CharField(max_length=32)
    object_id = models.CharField(max_length=64, db_index=True)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.actor_label} {self.action} {self.object_id}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise TypeError("Audit events are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise TypeError("Audit events are append-only")


class OpenerAudioSource(models.TextChoices):
    UPLOADED = "uploaded"
    SYNTHESIZED = "synthesized"


class ConsentOpener(models.Model):
    """What a caller hears first: the recording/AI disclosure for a jurisdiction, optionally per agent.

    The audio is kept in the row, already converted to μ-law 8 kHz (what the media stream sends), so that
    every web worker on every host can play it without a shared disk; an opener is a few seconds long."""

    jurisdiction = models.CharField(
        max_length=8,
        blank=True,
        default="",
        help_text="US-CA, GB, …; empty = any jurisdiction without its own",
    )
    agent = models.ForeignKey(
        "agents.Agent", null=True, blank=True, on_delete=models.CASCADE, related_name="consent_openers"
    )
    language = models.CharField(max_length=16, default="en-US")
    text = models.TextField(
        help_text="What the opener says; spoken by the local TTS unless audio is uploaded."
    )
    audio = models.BinaryField(help_text="μ-law 8 kHz mono")
    audio_source = models.CharField(
        max_length=16, choices=OpenerAudioSource, default=OpenerAudioSource.SYNTHESIZED
    )
    source_filename = models.CharField(max_length=255, blank=True, default="")
    duration_seconds = models.FloatField(default=0)
    audio_sha256 = models.CharField(max_length=64, blank=True, default="", help_text="Of the μ-law audio.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["jurisdiction", "agent_id", "language", "id"]
        indexes = [models.Index(fields=["jurisdiction", "agent"], name="opener_lookup")]

    def __str__(self) -> str:
        return f"{self.jurisdiction or 'default'} {self.language} opener"
