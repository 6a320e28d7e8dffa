from django.db import models

from calls.models import Call


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

    class Meta:
        db_table = "calls_recording"  # kept from when this model lived in calls (moved state-only)

    def __str__(self) -> str:
        return f"recording of {self.call_id}"
