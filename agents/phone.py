"""Phone numbers: E.164 normalization, the jurisdiction a number belongs to and the time zones it rings in."""

import phonenumbers
import phonenumbers.timezone
from django.conf import settings

from agents.area_codes import us_area_code_states


class InvalidPhoneNumber(ValueError):
    def __init__(self, raw: str, reason: str):
        super().__init__(f"{raw!r} is not a valid phone number: {reason}")
        self.raw, self.reason = raw, reason


def normalize_e164(raw: str, *, region: str | None = None) -> str:
    """'(415) 555-1234' → '+14155551234' (national formats read in DEFAULT_PHONE_REGION)."""
    text = str(raw).strip()
    if not text:
        raise InvalidPhoneNumber(text, "it is empty")
    if len(text) > 64:
        raise InvalidPhoneNumber(text[:64] + "…", "it is too long")
    try:
        parsed = phonenumbers.parse(text, region or settings.DEFAULT_PHONE_REGION)
    except phonenumbers.NumberParseException as exc:
        reason = str(exc.args[0]).rstrip(".") if exc.args else "unreadable"
        raise InvalidPhoneNumber(text, reason[:1].lower() + reason[1:]) from None
    if not phonenumbers.is_valid_number(parsed):
        raise InvalidPhoneNumber(text, "no such number exists in its country's numbering plan")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def region_of(e164: str) -> str:
    """The country a number belongs to ('+14155551234' → 'US', '+442079460958' → 'GB'), or ""."""
    try:
        return phonenumbers.region_code_for_number(phonenumbers.parse(e164, None)) or ""
    except phonenumbers.NumberParseException:
        return ""


def jurisdiction_for(e164: str) -> str:
    """'US-CA' for a California area code, 'US' for toll-free, the country ('GB', 'CA', 'PR') elsewhere."""
    try:
        parsed = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return ""
    region = phonenumbers.region_code_for_number(parsed) or ""
    if region != "US":
        return region
    national = str(parsed.national_number)
    state = us_area_code_states().get(national[:3])
    return f"US-{state}" if state else "US"


def format_national(e164: str) -> str:
    """'+14155551234' → '(415) 555-1234', for people."""
    try:
        parsed = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def format_for_reading(e164: str) -> str:
    """A number as people of this deployment read it: national format for numbers of DEFAULT_PHONE_REGION
    ('+14155551234' → '(415) 555-1234' in a US deployment), international for the rest ('+44 20 7946
    0958'); what is no number is given back as it is."""
    try:
        parsed = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    local = phonenumbers.region_code_for_number(parsed) == settings.DEFAULT_PHONE_REGION
    style = phonenumbers.PhoneNumberFormat.NATIONAL if local else phonenumbers.PhoneNumberFormat.INTERNATIONAL
    return phonenumbers.format_number(parsed, style)


def time_zones_for(e164: str) -> list[str]:
    """The IANA time zones a number may ring in, from phonenumbers' geographic data, in its (alphabetical)
    order: one for most numbers ('+14155550123' → ['America/Los_Angeles']), several for numbers not tied to
    one place (US toll-free, Australian mobiles); [] when unknown."""
    try:
        parsed = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return []
    zones = phonenumbers.timezone.time_zones_for_number(parsed)
    return [zone for zone in zones if zone != phonenumbers.timezone.UNKNOWN_TIMEZONE]
