from functools import partial

from django.conf import settings
from django.db import models

from wordcab_admin.kernel.ids import new_public_id


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
    request_id = models.CharField(max_length=64, blank=True, default="", help_text="The request that did it.")
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


class RecordingConsent(models.TextChoices):
    ONE_PARTY = "one_party", "One party"
    ALL_PARTY = "all_party", "All parties"
    NOTICE_REQUIRED = "notice_required", "Notice required"


class Jurisdiction(models.Model):
    """A US state (`US-CA`), the US federal rules (`US`) or a country (`GB`): its recording consent rule and
    telemarketing calling window in the called party's local time. Seeded from compliance/data/
    jurisdictions.csv (sourced, not legal advice); compliance officers edit it, every edit audited."""

    code = models.CharField(
        max_length=8, unique=True, help_text="ISO 3166-2 (US-CA) or 3166-1 (GB); US = federal"
    )
    name = models.CharField(max_length=100)
    country = models.CharField(max_length=2)
    recording_consent = models.CharField(max_length=16, choices=RecordingConsent)
    calling_start = models.TimeField(help_text="Earliest local time a call may start.")
    calling_end = models.TimeField(help_text="Local time by which a call must have started.")
    day_rules = models.JSONField(
        default=dict,
        blank=True,
        help_text='Per-day rules, each "closed" or "HH:MM-HH:MM[,HH:MM-HH:MM]": {"weekdays", "saturday", '
        '"sunday", "holidays", "holiday_calendar": "us_federal", "holiday_dates": ["MM-DD" or "YYYY-MM-DD"]} '
        "(compliance/day_rules.py)",
    )
    calling_days_note = models.TextField(blank=True, default="")
    source = models.TextField(blank=True, default="")
    needs_review = models.BooleanField(default=False, help_text="Its citation says: verify with counsel.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(recording_consent__in=["one_party", "all_party", "notice_required"]),
                name="jurisdiction_consent_known",
            )
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class DoNotCallSource(models.TextChoices):
    PAGE = "page"
    API = "api"
    CSV = "csv"
    OPT_OUT = "opt_out", "Opt-out during a call"


class DoNotCall(models.Model):
    """A number that must not be called; checked when every outbound call is created."""

    number = models.CharField(max_length=20, unique=True, help_text="E.164")
    reason = models.CharField(max_length=300, blank=True, default="")
    source = models.CharField(max_length=16, choices=DoNotCallSource, default=DoNotCallSource.API)
    added_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    call_public_id = models.CharField(
        max_length=64, blank=True, default="", help_text="The call it opted out in."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return self.number


class RetentionPolicy(models.Model):
    """How many days recordings are kept, for an agent in a jurisdiction, an agent, or a jurisdiction; the
    most specific wins, else settings.RETENTION_DEFAULT_DAYS. 0 = deleted at the next sweep."""

    public_id = models.CharField(max_length=64, unique=True, default=partial(new_public_id, "ret"))
    agent = models.ForeignKey(
        "agents.Agent", null=True, blank=True, on_delete=models.CASCADE, related_name="retention_policies"
    )
    jurisdiction = models.CharField(
        max_length=8, blank=True, default="", help_text="US-CA, GB, …; empty = any"
    )
    days = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(agent__isnull=True, jurisdiction=""), name="retention_policy_is_scoped"
            ),
            models.UniqueConstraint(
                fields=["agent", "jurisdiction"],
                name="retention_policy_one_per_agent_scope",
                condition=models.Q(agent__isnull=False),
            ),
            models.UniqueConstraint(
                fields=["jurisdiction"],
                name="retention_policy_one_per_jurisdiction",
                condition=models.Q(agent__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.days} days for {self.agent_id or 'any agent'} in {self.jurisdiction or 'any jurisdiction'}"


class LegalHold(models.Model):
    """Recordings under a hold are never deleted, whatever their retention says: a hold names one call,
    agent, campaign or phone number (by public id or E.164: calls and campaigns stand above compliance),
    with its reason and who placed it. Released, not deleted, so the record stays."""

    public_id = models.CharField(max_length=64, unique=True, default=partial(new_public_id, "hold"))
    call_public_id = models.CharField(max_length=64, blank=True, default="", db_index=True)
    agent = models.ForeignKey(
        "agents.Agent", null=True, blank=True, on_delete=models.PROTECT, related_name="legal_holds"
    )
    campaign_public_id = models.CharField(max_length=64, blank=True, default="", db_index=True)
    phone_number = models.CharField(max_length=20, blank=True, default="", db_index=True)
    reason = models.TextField()
    placed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    released_at = models.DateTimeField(null=True, blank=True)
    released_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(
                        call_public_id__gt="", agent__isnull=True, campaign_public_id="", phone_number=""
                    )
                    | models.Q(call_public_id="", agent__isnull=False, campaign_public_id="", phone_number="")
                    | models.Q(
                        call_public_id="", agent__isnull=True, campaign_public_id__gt="", phone_number=""
                    )
                    | models.Q(
                        call_public_id="", agent__isnull=True, campaign_public_id="", phone_number__gt=""
                    )
                ),
                name="legal_hold_names_one_target",
            ),
            models.CheckConstraint(condition=~models.Q(reason=""), name="legal_hold_has_reason"),
        ]

    def __str__(self) -> str:
        target = self.call_public_id or self.agent_id or self.campaign_public_id or self.phone_number
        return f"hold on {target}"
