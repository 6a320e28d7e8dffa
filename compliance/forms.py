from django import forms

from agents.models import Agent

AUDIO_ACCEPT = ".wav,.mp3,audio/wav,audio/x-wav,audio/mpeg"


class OpenerForm(forms.Form):
    jurisdiction = forms.RegexField(
        regex=r"^([A-Za-z]{2}(-[A-Za-z0-9]{1,3})?)?$",
        max_length=8,
        required=False,
        help_text="US-CA, GB, …; leave empty for the default used where no jurisdiction has its own.",
        error_messages={"invalid": "A country code, optionally with a region: US, US-CA, GB."},
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
