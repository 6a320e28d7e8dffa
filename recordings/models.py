from functools import partial

from django.db import models
from django.db.models import Q

from calls.models import Call
from wordcab_admin.kernel.ids import new_public_id


class RecordingStatus(models.TextChoices):
    RECORDING = "recording"
    PENDING_UPLOAD = "pending_upload"
    STORED = "stored"
    DELETED = "deleted"
    FAILED = "failed"  # lost for good (the spool could not be written, or vanished); failure_reason says why


class Recording(models.Model):
    call = models.OneToOneField(Call, on_delete=models.CASCADE, related_name="recording")
    status = models.CharField(max_length=16, choices=RecordingStatus, default=RecordingStatus.RECORDING)
    local_path = models.CharField(
        max_length=500, blank=True, default="", help_text="Spool file until uploaded."
    )
    storage_key = models.CharField(max_length=500, blank=True, default="")
    size_bytes = models.BigIntegerField(null=True, blank=True)
    duration_seconds = models.FloatField(null=True, blank=True)
    sha256 = models.CharField(max_length=64, blank=True, default="")
    peaks = models.JSONField(default=list, blank=True, help_text="Waveform peaks for the player.")
    upload_attempts = models.PositiveIntegerField(default=0)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(
        max_length=300, blank=True, default="", help_text="Why the last upload failed."
    )
    failure_reason = models.CharField(
        max_length=300, blank=True, default="", help_text="Why the recording was lost (status failed)."
    )
    failed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    stored_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True)
    # The retention sweep's claim (recordings/retention.py): the sweep run deleting this recording's object
    # now, and until when the claim holds should that run die. The object is deleted outside any database
    # transaction, so the claim is written down rather than held as a lock.
    sweep_token = models.CharField(max_length=32, blank=True, default="", editable=False)
    sweep_claimed_until = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        db_table = "calls_recording"  # kept from when this model lived in calls (moved state-only)
        indexes = [
            # The sweep's question, "stored and expired, soonest first", answered from a small index.
            models.Index(fields=["expires_at"], name="recording_stored_expiry", condition=Q(status="stored"))
        ]

    def __str__(self) -> str:
        return f"recording of {self.call_id}"


class RecordingDeletionReceipt(models.Model):
    """Proof that the retention sweep deleted a recording's audio: which object (key, sha256, size), from
    which store, when, and by which rule. One per recording: the database refuses a second, so two sweeps
    can never both record a deletion. Receipts are kept for good; the recording row stays too."""

    public_id = models.CharField(max_length=64, unique=True, default=partial(new_public_id, "rcpt"))
    recording = models.OneToOneField(Recording, on_delete=models.PROTECT, related_name="deletion_receipt")
    call = models.ForeignKey(Call, on_delete=models.PROTECT, related_name="+")
    call_public_id = models.CharField(max_length=64, help_text="Kept as text: the receipt outlives anything.")
    store = models.CharField(max_length=300, help_text="s3://bucket or the local folder it was deleted from.")
    storage_key = models.CharField(max_length=500)
    sha256 = models.CharField(max_length=64, blank=True, default="")
    size_bytes = models.BigIntegerField(null=True, blank=True)
    stored_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    deleted_at = models.DateTimeField()
    retention_days = models.PositiveIntegerField()
    retention_scope = models.CharField(
        max_length=20, help_text="agent+jurisdiction, agent, jurisdiction or default"
    )
    retention_policy_id = models.CharField(
        max_length=64, blank=True, default="", help_text="ret_…; empty = the deployment default"
    )
    requested_by = models.CharField(max_length=150, help_text="Who ran the sweep: a username, or 'system'.")

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.public_id}: {self.storage_key} deleted {self.deleted_at:%Y-%m-%d}"


class ExpiryRecompute(models.Model):
    """A retention policy changed: the expiry of the stored recordings in its scope (agent and/or
    jurisdiction; both empty = every recording) must be computed again. Written in the policy change's own
    transaction, so nothing can lose it; done by `recordings.retention_recompute` and by every sweep."""

    agent_id = models.BigIntegerField(null=True, blank=True, help_text="The agent's pk; empty = any agent.")
    jurisdiction = models.CharField(max_length=8, blank=True, default="", help_text="Empty = any.")
    requested_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"recompute expiry for agent {self.agent_id or 'any'} in {self.jurisdiction or 'any'}"
