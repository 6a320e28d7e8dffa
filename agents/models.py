from functools import partial

from django.db import models

from wordcab_admin.kernel.ids import new_public_id
from wordcab_admin.kernel.telephony_providers import provider_label


class Provider(models.TextChoices):
    """The providers the code names. The field below takes any registered provider's name
    (wordcab_admin.kernel.telephony_providers): a new telephony sub-package needs no change here."""

    SIMULATOR = "simulator"
    TWILIO = "twilio"
    TELNYX = "telnyx"
    PLIVO = "plivo"
    SIP = "sip"
    WEBRTC = "webrtc"


class Agent(models.Model):
    public_id = models.CharField(max_length=64, unique=True, default=partial(new_public_id, "agent"))
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True, default="")
    instructions = models.TextField(blank=True, default="", help_text="The agent's prompt.")
    language = models.CharField(max_length=16, default="en-US")
    voice = models.CharField(max_length=64, blank=True, default="")
    max_duration = models.PositiveIntegerField(default=600, help_text="Default call limit in seconds.")
    record = models.BooleanField(default=False, help_text="Record calls unless the request says otherwise.")
    is_active = models.BooleanField(default=True)
    # The provider its calls go through when it has numbers on several (blank: chosen by the callee alone).
    default_provider = models.CharField(max_length=16, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(max_duration__gte=1, max_duration__lte=14_400),
                name="agent_max_duration_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.public_id})"


class PhoneNumber(models.Model):
    # One row per number and one agent column: "a number belongs to at most one agent" is the schema itself.
    public_id = models.CharField(max_length=64, unique=True, default=partial(new_public_id, "num"))
    number = models.CharField(max_length=20, unique=True, help_text="E.164")
    provider = models.CharField(max_length=16, default=Provider.SIMULATOR)
    friendly_name = models.CharField(max_length=200, blank=True, default="")
    agent = models.ForeignKey(
        Agent, null=True, blank=True, on_delete=models.SET_NULL, related_name="phone_numbers"
    )
    jurisdiction = models.CharField(max_length=8, blank=True, default="", help_text="US-CA, GB, …")
    sip_uri = models.CharField(max_length=255, blank=True, default="")
    sip_trunk = models.CharField(max_length=255, blank=True, default="")
    # For a `sip` number: the carrier that hosts the trunk (Twilio Elastic SIP Trunking, a Telnyx SIP
    # connection, Plivo Zentrunk), through which its outbound calls are placed. Blank: inbound only.
    trunk_provider = models.CharField(max_length=16, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(number__startswith="+"), name="phone_number_is_e164"),
        ]

    def __str__(self) -> str:
        return self.number

    def get_provider_display(self) -> str:
        """The provider's label ("Twilio"). Django made this while `provider` had choices; the providers
        are registered now (wordcab_admin/kernel/telephony_providers.py), so the pages still read it here."""
        return provider_label(self.provider)
