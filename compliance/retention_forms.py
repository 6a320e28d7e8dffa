"""The retention and legal hold pages' forms (compliance/retention_views.py)."""

from django import forms

from agents.models import Agent
from compliance.holds import HoldTarget
from compliance.jurisdiction_input import HELP, JurisdictionFormField
from compliance.retention import MAX_RETENTION_DAYS

JURISDICTION_HELP = f"{HELP}; leave empty for every jurisdiction of the agent."


class RetentionPolicyForm(forms.Form):
    agent = forms.ModelChoiceField(
        queryset=Agent.objects.order_by("name"),
        to_field_name="public_id",
        required=False,
        empty_label="Every agent",
    )
    jurisdiction = JurisdictionFormField(required=False, help_text=JURISDICTION_HELP)
    days = forms.IntegerField(
        min_value=0,
        max_value=MAX_RETENTION_DAYS,
        help_text="Days a recording is kept after it is stored; 0 deletes it at the next sweep.",
    )


class RetentionDaysForm(forms.Form):
    days = forms.IntegerField(min_value=0, max_value=MAX_RETENTION_DAYS)


class LegalHoldForm(forms.Form):
    kind = forms.ChoiceField(choices=HoldTarget.choices, label="Hold every recording of")
    target = forms.CharField(
        max_length=64,
        label="Which one",
        help_text="A call id (call_…), an agent id (agent_…), a campaign id (camp_…) or a phone number.",
    )
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=2000,
        help_text="The matter or request; shown with the hold wherever it keeps a recording.",
    )

    def clean(self) -> dict:
        data = super().clean()
        if data.get("kind") == HoldTarget.AGENT and data.get("target"):
            agent = Agent.objects.filter(public_id=data["target"].strip()).first()
            if agent is None:
                self.add_error("target", f"No agent {data['target'].strip()}")
            data["target"] = agent
        return data
