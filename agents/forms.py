from django import forms

from agents.models import Agent, Provider
from agents.services import calling_provider_names, trunk_provider_names
from wordcab_admin.kernel.telephony_providers import number_provider_choices, provider_label


def trunk_provider_choices() -> list[tuple[str, str]]:
    """The carriers that can host a SIP trunk, read when the form is drawn (the registry is filled at start)."""
    return [("", "None: inbound only")] + [(name, provider_label(name)) for name in trunk_provider_names()]


def default_provider_choices() -> list[tuple[str, str]]:
    return [("", "Automatic")] + [(name, provider_label(name)) for name in calling_provider_names()]


class AgentForm(forms.Form):
    name = forms.CharField(max_length=200)
    description = forms.CharField(required=False, widget=forms.TextInput)
    instructions = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 4}), label="Instructions (prompt)"
    )
    language = forms.CharField(max_length=16, initial="en-US")
    voice = forms.CharField(max_length=64, required=False)
    max_duration = forms.IntegerField(min_value=1, max_value=14_400, initial=600, label="Max duration (s)")
    record = forms.BooleanField(required=False, label="Record calls")
    default_provider = forms.ChoiceField(
        choices=default_provider_choices,
        required=False,
        label="Default provider",
        help_text="With numbers on several providers, calls go out through this one's numbers first; "
        "with no number at all, through it if it can call without one (the simulator).",
    )

    @classmethod
    def for_agent(cls, agent: Agent, data=None) -> "AgentForm":
        initial = {name: getattr(agent, name) for name in cls.base_fields}
        return cls(data=data, initial=initial)


class AgentCreateForm(AgentForm):
    agent_id = forms.CharField(
        max_length=64,
        required=False,
        label="Id (optional)",
        help_text="e.g. agent_support; generated when empty",
    )


class NumberAddForm(forms.Form):
    number = forms.CharField(max_length=64, help_text="E.164 (+14155551234) or national format")
    provider = forms.ChoiceField(choices=number_provider_choices, initial=Provider.SIMULATOR)
    friendly_name = forms.CharField(max_length=200, required=False)
    agent = forms.ChoiceField(required=False, label="Agent")
    sip_uri = forms.CharField(max_length=255, required=False, label="SIP URI (sip numbers)")
    sip_trunk = forms.CharField(max_length=255, required=False, label="SIP trunk (sip numbers)")
    trunk_provider = forms.ChoiceField(
        choices=trunk_provider_choices, required=False, label="Trunk hosted by (sip numbers: outbound calls)"
    )

    def __init__(self, *args, agents=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["agent"].choices = [("", "— unassigned —")] + [(a.public_id, a.name) for a in agents]


class NumberEditForm(forms.Form):
    friendly_name = forms.CharField(max_length=200, required=False)
    sip_uri = forms.CharField(max_length=255, required=False, label="SIP URI")
    sip_trunk = forms.CharField(max_length=255, required=False, label="SIP trunk")
    trunk_provider = forms.ChoiceField(
        choices=trunk_provider_choices, required=False, label="Trunk hosted by (for outbound calls)"
    )


class BulkAssignForm(forms.Form):
    agent = forms.ChoiceField(label="Assign to", required=False)
    provider = forms.ChoiceField(
        choices=number_provider_choices,
        initial=Provider.SIMULATOR,
        label="Provider for numbers not yet added",
    )
    numbers = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 5, "placeholder": "+14155551234\n(212) 555-0100"}),
        label="Paste numbers (one per line)",
    )
    file = forms.FileField(
        required=False,
        label="…or upload a CSV",
        help_text="A column named phone, phone_number or number (or the first column); "
        "a column named name or friendly_name names the numbers.",
    )

    def __init__(self, *args, agents=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["agent"].choices = [("", "No agent: add them to the inventory, unassigned")] + [
            (a.public_id, f"{a.name} ({a.public_id})") for a in agents
        ]

    def clean(self):
        data = super().clean()
        if not data.get("numbers", "").strip() and not data.get("file"):
            raise forms.ValidationError("Paste some numbers or choose a CSV file.")
        return data
