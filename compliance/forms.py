from django import forms

from agents.models import Agent
from compliance.day_rules import HOLIDAY_CALENDARS, RULE_KEYS
from compliance.jurisdiction_input import HELP as JURISDICTION_HELP
from compliance.jurisdiction_input import JurisdictionFormField
from compliance.models import Jurisdiction, RecordingConsent

AUDIO_ACCEPT = ".wav,.mp3,audio/wav,audio/x-wav,audio/mpeg"


class OpenerForm(forms.Form):
    jurisdiction = JurisdictionFormField(
        required=False,
        help_text=f"{JURISDICTION_HELP}; leave empty for the default used where no jurisdiction has its own.",
    )
    agent = forms.ModelChoiceField(
        queryset=Agent.objects.filter(is_active=True).order_by("name"),
        to_field_name="public_id",
        required=False,
        empty_label="Every agent",
    )
    language = forms.RegexField(
        regex=r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$",
        max_length=16,
        initial="en-US",
        error_messages={"invalid": "A language tag such as en-US or fr-FR."},
    )
    text = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), max_length=2000)
    audio = forms.FileField(
        required=False,
        widget=forms.ClearableFileInput(attrs={"accept": AUDIO_ACCEPT}),
        help_text="A WAV or MP3 recording of the text; without one, the text is spoken by the built-in voice.",
    )


class OpenerEditForm(OpenerForm):
    """An opener changed in place: any agent (a disabled one keeps its opener), and new audio only when a
    recording is uploaded (a built-in voice opener is spoken again when its text or language changes)."""

    agent = forms.ModelChoiceField(
        queryset=Agent.objects.order_by("name"),
        to_field_name="public_id",
        required=False,
        empty_label="Every agent",
    )
    audio = forms.FileField(
        required=False,
        widget=forms.ClearableFileInput(attrs={"accept": AUDIO_ACCEPT}),
        help_text="A new WAV or MP3 recording replaces the audio; without one the audio stays, or is spoken "
        "again by the built-in voice when the text of a spoken opener changes.",
    )

    @classmethod
    def initial_for(cls, opener) -> dict:
        agent = opener.agent.public_id if opener.agent_id else None
        return {
            "jurisdiction": opener.jurisdiction,
            "agent": agent,
            "language": opener.language,
            "text": opener.text,
        }


DAY_RULE_HELP = (
    'Empty: the calling hours; "closed"; or windows such as 10:00-17:00 or 10:00-13:00,14:00-20:00.'
)


class JurisdictionForm(forms.Form):
    """A jurisdiction's rules as a compliance officer edits them; the day rules are spread over fields and
    put back together as compliance/day_rules.py's format (checked by the service)."""

    recording_consent = forms.ChoiceField(choices=RecordingConsent.choices)
    calling_start = forms.TimeField(widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"))
    calling_end = forms.TimeField(
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
        help_text="The calling hours in the callee's local time: a call must start inside them.",
    )
    weekdays = forms.CharField(
        required=False, max_length=100, label="Monday to Friday", help_text=DAY_RULE_HELP
    )
    saturday = forms.CharField(required=False, max_length=100, help_text=DAY_RULE_HELP)
    sunday = forms.CharField(required=False, max_length=100, help_text=DAY_RULE_HELP)
    holidays = forms.CharField(required=False, max_length=100, help_text=DAY_RULE_HELP)
    holiday_calendar = forms.ChoiceField(
        required=False, choices=[("", "none"), *HOLIDAY_CALENDARS.items()], label="Holidays: calendar"
    )
    holiday_dates = forms.CharField(
        required=False,
        max_length=2000,
        label="Holidays: dates",
        help_text="MM-DD (every year) or YYYY-MM-DD (one day), separated by commas.",
    )
    calling_days_note = forms.CharField(
        required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )
    source = forms.CharField(required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))
    needs_review = forms.BooleanField(required=False, label="Needs legal review")

    @classmethod
    def initial_for(cls, jurisdiction: Jurisdiction) -> dict:
        rules = jurisdiction.day_rules or {}
        initial = {name: getattr(jurisdiction, name) for name in ("recording_consent", "calling_start",
                   "calling_end", "calling_days_note", "source", "needs_review")}  # fmt: skip
        initial.update({key: rules.get(key, "") for key in RULE_KEYS})
        initial["holiday_calendar"] = rules.get("holiday_calendar", "")
        initial["holiday_dates"] = ", ".join(rules.get("holiday_dates", []))
        return initial

    def changes(self) -> dict:
        """The cleaned form as jurisdiction_update's changes."""
        data = self.cleaned_data
        day_rules = {key: data[key].strip() for key in RULE_KEYS if data[key].strip()}
        if data["holiday_calendar"]:
            day_rules["holiday_calendar"] = data["holiday_calendar"]
        dates = [part.strip() for part in data["holiday_dates"].split(",") if part.strip()]
        if dates:
            day_rules["holiday_dates"] = dates
        changes = {name: data[name] for name in ("recording_consent", "calling_start", "calling_end",
                   "calling_days_note", "source", "needs_review")}  # fmt: skip
        changes["day_rules"] = day_rules
        return changes
