"""A campaign's settings, parsed and checked in one place for the API, the page's form and the client.

Every field is optional; what is not given takes the default below (or the agent's, for `record` and
`max_duration`). Bad values are a 400 naming the field."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, time
from typing import Any

from django.utils.dateparse import parse_datetime, parse_time

from agents.phone import InvalidPhoneNumber, normalize_e164
from campaigns.models import DEFAULT_RETRY_OUTCOMES, RetryOutcome
from wordcab_admin.kernel.errors import DomainError

LIMITS = {  # field: (lowest, highest)
    "max_concurrent_calls": (1, 1000),
    "calls_per_minute": (1, 6000),
    "max_attempts": (1, 10),
    "retry_delay_seconds": (0, 7 * 24 * 3600),
    "max_duration": (1, 14_400),
}
DEFAULTS = {"max_concurrent_calls": 5, "calls_per_minute": 30, "max_attempts": 3, "retry_delay_seconds": 1800}
TRUE, FALSE = {"true", "1", "yes", "on"}, {"false", "0", "no", "off"}


class InvalidOption(DomainError):
    status, code = 400, "invalid"


@dataclass(frozen=True)
class CampaignOptions:
    start_at: datetime | None = None
    end_at: datetime | None = None
    max_concurrent_calls: int = DEFAULTS["max_concurrent_calls"]
    calls_per_minute: int = DEFAULTS["calls_per_minute"]
    max_attempts: int = DEFAULTS["max_attempts"]
    retry_delay_seconds: int = DEFAULTS["retry_delay_seconds"]
    retry_outcomes: list[str] = field(default_factory=lambda: list(DEFAULT_RETRY_OUTCOMES))
    record: bool | None = None
    max_duration: int | None = None
    from_number: str = ""
    window_start: time | None = None
    window_end: time | None = None

    def as_fields(self) -> dict[str, Any]:
        return asdict(self)


def campaign_options_parse(data: Mapping[str, Any]) -> CampaignOptions:
    """The settings in `data` (a form's or a multipart body's strings, or JSON values), checked."""
    values: dict[str, Any] = {}
    for name in ("start_at", "end_at"):
        if _given(data, name):
            values[name] = _datetime(name, data[name])
    for name in LIMITS:
        if _given(data, name):
            values[name] = _integer(name, data[name])
    if _given(data, "record"):
        values["record"] = _boolean("record", data["record"])
    if _given(data, "from_number"):
        values["from_number"] = _phone_number("from_number", data["from_number"])
    if "retry_outcomes" in data:
        values["retry_outcomes"] = _outcomes(data)
    for name in ("window_start", "window_end"):
        if _given(data, name):
            values[name] = _time(name, data[name])
    options = CampaignOptions(**values)
    if (options.window_start is None) != (options.window_end is None):
        missing = "window_end" if options.window_end is None else "window_start"
        raise InvalidOption("Give both ends of the calling window, or neither.", field=missing)
    if options.window_start and options.window_end and options.window_start >= options.window_end:
        raise InvalidOption("The calling window must start before it ends.", field="window_end")
    if options.start_at and options.end_at and options.start_at >= options.end_at:
        raise InvalidOption("end_at must be after start_at.", field="end_at")
    return options


def _given(data: Mapping[str, Any], name: str) -> bool:
    value = data.get(name)
    return value is not None and not (isinstance(value, str) and not value.strip())


def _integer(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise InvalidOption(f"{name} must be a whole number.", field=name)
    try:
        number = int(str(value).strip())
    except ValueError:
        raise InvalidOption(f"{name} must be a whole number.", field=name) from None
    low, high = LIMITS[name]
    if not low <= number <= high:
        raise InvalidOption(f"{name} must be between {low} and {high}.", field=name)
    return number


def _phone_number(name: str, value: Any) -> str:
    try:
        return normalize_e164(str(value))
    except InvalidPhoneNumber as exc:
        raise InvalidOption(str(exc), field=name) from None


def _boolean(name: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in TRUE | FALSE:
        return text in TRUE
    raise InvalidOption(f"{name} must be true or false.", field=name)


def _datetime(name: str, value: Any) -> datetime:
    try:
        parsed = parse_datetime(str(value).strip())
    except ValueError:
        parsed = None
    if parsed is None:
        raise InvalidOption(
            f"{name} must be an ISO 8601 date and time, e.g. 2026-06-17T09:00:00Z.", field=name
        )
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _time(name: str, value: Any) -> time:
    try:
        parsed = parse_time(str(value).strip())
    except ValueError:
        parsed = None
    if parsed is None:
        raise InvalidOption(f"{name} must be a local time such as 09:00.", field=name)
    return parsed.replace(tzinfo=None)


def _outcomes(data: Mapping[str, Any]) -> list[str]:
    """A list, or one string of comma-separated outcomes (a form field); a multipart body may repeat it."""
    getlist = getattr(data, "getlist", None)
    raw = getlist("retry_outcomes") if getlist else data["retry_outcomes"]
    items = raw if isinstance(raw, list | tuple) else [raw]
    outcomes: list[str] = []
    for item in items:
        if not isinstance(item, str):
            raise InvalidOption("retry_outcomes must be a list of outcomes.", field="retry_outcomes")
        outcomes += [part.strip() for part in item.split(",") if part.strip()]
    known = set(RetryOutcome.values)
    unknown = [o for o in outcomes if o not in known]
    if unknown:
        raise InvalidOption(
            f"Unknown outcome {unknown[0]!r}; retry any of: {', '.join(RetryOutcome.values)}.",
            field="retry_outcomes",
        )
    return sorted(set(outcomes), key=RetryOutcome.values.index)
