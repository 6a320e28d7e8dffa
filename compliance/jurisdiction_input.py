"""A jurisdiction as people type it: a code ("US-CA", "us-ca", "GB") or a name ("California", "United
Kingdom", "UK"), read as its code; anything else is refused saying what was typed, never cut to fit.

The openers' and the retention policies' pages read it (compliance/forms.py, compliance/retention_forms.py);
the API keeps to codes (its contract), and refuses anything longer than a code in words, never cutting it."""

import re

from django import forms

from compliance.models import Jurisdiction

CODE_RE = re.compile(r"^[A-Za-z]{2}(-[A-Za-z0-9]{1,3})?$")
MAX_INPUT_LENGTH = 100
ALIASES = {"UK": "GB", "GREAT BRITAIN": "GB", "USA": "US", "UNITED STATES": "US", "U.S.": "US"}
HELP = "A code (US-CA, GB) or a name (California, United Kingdom)"


class UnknownJurisdiction(ValueError):
    """Neither a jurisdiction code nor a name we know; the message repeats what was typed."""


def _plain(name: str) -> str:
    """'United States (federal)' → 'UNITED STATES': names compared without case or their parenthesis."""
    return re.sub(r"\s*\(.*\)\s*$", "", " ".join(name.split())).upper()


def jurisdiction_code_of(text: str) -> str:
    """'California' → 'US-CA', 'us-ca' → 'US-CA', 'JP' → 'JP' (a code without a row of its own yet: its
    country's rules and the defaults apply), '' → ''; UnknownJurisdiction for anything else."""
    typed = " ".join(str(text or "").split())
    if not typed:
        return ""
    if len(typed) > MAX_INPUT_LENGTH:
        raise UnknownJurisdiction(
            f"A jurisdiction is a code or a name of at most {MAX_INPUT_LENGTH} characters."
        )
    wanted = _plain(typed)
    wanted = ALIASES.get(wanted, wanted)
    known = {
        code.upper(): code
        for code in Jurisdiction.objects.filter(code__iexact=wanted).values_list("code", flat=True)
    }
    if wanted in known:
        return known[wanted]
    by_name = {_plain(name): code for code, name in Jurisdiction.objects.values_list("code", "name")}
    if wanted in by_name:
        return by_name[wanted]
    if CODE_RE.match(typed):
        return typed.upper()
    raise UnknownJurisdiction(
        f"“{typed}” is neither a jurisdiction code nor the name of one: type a code such as US-CA or GB, or a "
        "name such as California."
    )


class JurisdictionFormField(forms.CharField):
    """A form's jurisdiction: cleaned to its code ("" when left empty, where the form allows it)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("help_text", HELP)
        super().__init__(**kwargs)  # no max_length: a browser would cut what is typed without a word

    def clean(self, value):
        text = super().clean(value)
        try:
            return jurisdiction_code_of(text)
        except UnknownJurisdiction as exc:
            raise forms.ValidationError(str(exc), code="unknown_jurisdiction") from None
