"""The simulated carrier's own records, kept in the database so that nothing it must do lives only in the
broker: what it was asked to dial (its log, one row per call) and the status events it has still to send."""

from django.conf import settings
from django.db import models
from django.db.models import Q


class SimulatorDial(models.Model):
    """One call the simulator was asked to dial, by its request key (our call's public id): a repeated
    request (a retried placing) is answered with the first dial's id and counted, never dialled again."""

    request_key = models.CharField(max_length=64, unique=True)
    call_sid = models.CharField(max_length=64, unique=True)
    to_number = models.CharField(max_length=20)
    requests = models.PositiveIntegerField(default=1, help_text="How many times placing was asked for.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "telephony_simulator_dial"

    def __str__(self) -> str:
        return f"{self.call_sid} → {self.to_number}"


class SimulatorEvent(models.Model):
    """A status event the simulated carrier will send at `due_at`. Its Celery task (a countdown) sends it
    on time; `telephony.simulator_sweep` sends those whose task was lost with the broker or the worker.
    Deleted once applied, in the transaction that applies it."""

    call_public_id = models.CharField(max_length=64)
    due_at = models.DateTimeField()
    params = models.JSONField()

    class Meta:
        db_table = "telephony_simulator_event"
        indexes = [models.Index(fields=["due_at"], name="simulator_event_due")]
        constraints = [
            models.CheckConstraint(condition=~Q(call_public_id=""), name="simulator_event_has_call")
        ]

    def __str__(self) -> str:
        return f"{self.call_public_id} {self.params.get('CallStatus', '')} at {self.due_at:%H:%M:%S}"


class ProviderCredential(models.Model):
    """One credential of a provider stored from its settings page (telephony/credentials.py): either its
    value, encrypted with a key derived from SECRET_KEY (never stored in clear), or the name of the
    environment variable that holds it. A credential with no row falls back to the setting
    <PROVIDER>_<KEY>."""

    provider = models.CharField(max_length=32)
    key = models.CharField(max_length=64)
    encrypted_value = models.TextField(blank=True, help_text="A Fernet token; empty when env_name is set.")
    env_name = models.CharField(max_length=128, blank=True, help_text="The environment variable to read.")
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        db_table = "telephony_provider_credential"
        constraints = [
            models.UniqueConstraint(fields=["provider", "key"], name="provider_credential_unique"),
            models.CheckConstraint(
                condition=(Q(encrypted_value="") & ~Q(env_name=""))
                | (~Q(encrypted_value="") & Q(env_name="")),
                name="provider_credential_value_or_env_name",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.provider}.{self.key}"
