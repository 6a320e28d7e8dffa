"""Day rules: how a jurisdiction's calling window changes with the day (weekdays, Saturdays, Sundays,
holidays). Plain functions over plain values; docs/compliance.md has the format with examples.

`Jurisdiction.day_rules` is a small JSON object. Every key is optional; `{}` means the base window
(`calling_start`–`calling_end`) every day:

    {
      "weekdays": "10:00-13:00,14:00-20:00",    Monday to Friday
      "saturday": "10:00-17:00",
      "sunday": "closed",
      "holidays": "closed",                     on a listed holiday, whatever its weekday
      "holiday_calendar": "us_federal",         movable holidays by name (the one calendar: US federal)
      "holiday_dates": ["12-26", "2026-04-03"]  every year on MM-DD, or that one day
    }

A rule is "closed" or one or more "HH:MM-HH:MM" windows separated by commas. On a local day a call must be
inside every window that applies: the base window, that day's rule, and the holiday rule on a listed
holiday. Where two rules overlap, the stricter reading wins (as the jurisdictions data chose throughout)."""

from __future__ import annotations

import contextlib
from datetime import date, datetime, time, timedelta
from functools import cache
from typing import Any

Window = tuple[time, time]  # start inclusive, end exclusive: a call must have started before the end

CLOSED = "closed"
RULE_KEYS = ("weekdays", "saturday", "sunday", "holidays")
HOLIDAY_CALENDARS = {"us_federal": "US federal holidays"}
ALLOWED_KEYS = (*RULE_KEYS, "holiday_calendar", "holiday_dates")
WEEKDAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


class DayRulesInvalid(ValueError):
    """A day_rules value that does not follow the format; the message says what to write instead."""


def _clock(text: str) -> time:
    try:
        parsed = datetime.strptime(text.strip(), "%H:%M")
    except ValueError:
        raise DayRulesInvalid(f"{text.strip()!r} is not a time: write HH:MM, e.g. 09:00") from None
    return parsed.time()


def rule_windows(rule: str) -> list[Window]:
    """'closed' → []; '10:00-13:00,14:00-20:00' → two windows, in order."""
    if not isinstance(rule, str):
        raise DayRulesInvalid(f'A day rule is "closed" or "HH:MM-HH:MM", not {rule!r}')
    if rule.strip().lower() == CLOSED:
        return []
    windows = []
    for part in rule.split(","):
        start_text, dash, end_text = part.partition("-")
        if not dash:
            raise DayRulesInvalid(f'{part.strip()!r}: write "closed" or a window "HH:MM-HH:MM"')
        start, end = _clock(start_text), _clock(end_text)
        if not start < end:
            raise DayRulesInvalid(f"{part.strip()!r}: a window must start before it ends")
        windows.append((start, end))
    windows.sort()
    if any(earlier[1] > later[0] for earlier, later in zip(windows, windows[1:], strict=False)):
        raise DayRulesInvalid(f"{rule!r}: the windows overlap")
    return windows


def windows_text(windows: list[Window]) -> str:
    """[] → 'closed'; [(08:00, 21:00)] → '08:00-21:00'."""
    if not windows:
        return CLOSED
    return ",".join(f"{start:%H:%M}-{end:%H:%M}" for start, end in windows)


def _holiday_date(text: Any) -> str:
    """'12-26' (every year) or '2026-04-03' (that day), zero-padded as holiday_on compares them."""
    value = text.strip() if isinstance(text, str) else ""
    # That day (YYYY-MM-DD), or every year (MM-DD, read in a leap year so that 02-29 reads).
    for candidate, pattern, shown in (
        (value, "%Y-%m-%d", "%Y-%m-%d"),
        (f"2000-{value}", "%Y-%m-%d", "%m-%d"),
    ):
        with contextlib.suppress(ValueError):
            return datetime.strptime(candidate, pattern).strftime(shown)
    raise DayRulesInvalid(f"{text!r} is not a date: write MM-DD (every year) or YYYY-MM-DD (that day)")


def day_rules_clean(raw: Any) -> dict:
    """The normalized rules, or DayRulesInvalid saying what is wrong. Unknown keys are refused rather than
    ignored: a rule that silently does nothing is worse than an error."""
    if raw in (None, ""):
        return {}
    if not isinstance(raw, dict):
        raise DayRulesInvalid('day_rules is a JSON object, e.g. {"sunday": "closed"}')
    unknown = sorted(set(raw) - set(ALLOWED_KEYS))
    if unknown:
        raise DayRulesInvalid(f"Unknown day rule {unknown[0]!r}; the keys are {', '.join(ALLOWED_KEYS)}")
    clean: dict[str, Any] = {}
    for key in RULE_KEYS:
        if raw.get(key) not in (None, ""):
            clean[key] = windows_text(rule_windows(raw[key]))
    calendar = raw.get("holiday_calendar") or ""
    if calendar:
        if calendar not in HOLIDAY_CALENDARS:
            raise DayRulesInvalid(
                f"Unknown holiday calendar {calendar!r}; known: {', '.join(HOLIDAY_CALENDARS)}"
            )
        clean["holiday_calendar"] = calendar
    dates = raw.get("holiday_dates") or []
    if not isinstance(dates, list):
        raise DayRulesInvalid("holiday_dates is a list of MM-DD or YYYY-MM-DD dates")
    if dates:
        clean["holiday_dates"] = sorted({_holiday_date(value) for value in dates})
    if ("holiday_calendar" in clean or "holiday_dates" in clean) != ("holidays" in clean):
        raise DayRulesInvalid(
            'Holidays need both a rule ("holidays") and which days they are (holiday_calendar or holiday_dates)'
        )
    return clean


def _nth_weekday(year: int, month: int, weekday: int, nth: int) -> date:
    """The nth (1-based; -1 = last) given weekday (0 = Monday) of a month."""
    if nth > 0:
        first = date(year, month, 1)
        return first + timedelta(days=(weekday - first.weekday()) % 7 + 7 * (nth - 1))
    last = (date(year + month // 12, month % 12 + 1, 1)) - timedelta(days=1)
    return last - timedelta(days=(last.weekday() - weekday) % 7)


def _observed(day: date) -> date:
    """A fixed-date federal holiday on a Saturday is observed the Friday before, on a Sunday the Monday after."""
    return day + {5: timedelta(days=-1), 6: timedelta(days=1)}.get(day.weekday(), timedelta())


@cache
def us_federal_holidays(year: int) -> dict[date, str]:
    """5 U.S.C. 6103: the eleven federal holidays of `year`, with the observed days of the fixed-date ones
    (both count: the stricter reading for a calling ban)."""
    fixed = {
        (1, 1): "New Year's Day",
        (6, 19): "Juneteenth",
        (7, 4): "Independence Day",
        (11, 11): "Veterans Day",
        (12, 25): "Christmas Day",
    }
    holidays: dict[date, str] = {}
    for candidate_year in (year, year + 1):  # next New Year's Day may be observed on this Dec 31
        for (month, day), name in fixed.items():
            actual = date(candidate_year, month, day)
            for when, label in ((actual, name), (_observed(actual), f"{name} (observed)")):
                if when.year == year:
                    holidays.setdefault(when, label)
    holidays[_nth_weekday(year, 1, 0, 3)] = "Martin Luther King Jr. Day"
    holidays[_nth_weekday(year, 2, 0, 3)] = "Washington's Birthday"
    holidays[_nth_weekday(year, 5, 0, -1)] = "Memorial Day"
    holidays[_nth_weekday(year, 9, 0, 1)] = "Labor Day"
    holidays[_nth_weekday(year, 10, 0, 2)] = "Columbus Day"
    holidays[_nth_weekday(year, 11, 3, 4)] = "Thanksgiving Day"
    return holidays


def holiday_on(rules: dict, day: date) -> str | None:
    """The name of the listed holiday `day` is ('Independence Day', 'holiday 12-26'), or None."""
    if rules.get("holiday_calendar") == "us_federal":
        name = us_federal_holidays(day.year).get(day)
        if name:
            return name
    dates = rules.get("holiday_dates") or ()
    for listed in (f"{day:%m-%d}", day.isoformat()):
        if listed in dates:
            return f"holiday {listed}"
    return None


def intersect(first: list[Window], second: list[Window]) -> list[Window]:
    """The times inside both lists of windows."""
    overlap = []
    for a_start, a_end in first:
        for b_start, b_end in second:
            start, end = max(a_start, b_start), min(a_end, b_end)
            if start < end:
                overlap.append((start, end))
    return sorted(overlap)


def windows_on(*, base: Window, rules: dict, day: date) -> tuple[list[Window], list[dict]]:
    """(the windows a call may start in on local day `day`, the rules that made them, for the decision)."""
    windows = [base]
    applied = [{"rule": "base", "hours": windows_text(windows)}]
    weekday = WEEKDAY_NAMES[day.weekday()]
    day_key = weekday if weekday in ("saturday", "sunday") else "weekdays"
    if rules.get(day_key):
        windows = intersect(windows, rule_windows(rules[day_key]))
        applied.append({"rule": day_key, "hours": rules[day_key]})
    holiday = holiday_on(rules, day) if rules.get("holidays") else None
    if holiday:
        windows = intersect(windows, rule_windows(rules["holidays"]))
        applied.append({"rule": "holidays", "hours": rules["holidays"], "holiday": holiday})
    return windows, applied


def day_rules_summary(rules: dict) -> list[str]:
    """The rules in words, one line each, for pages: ['Sundays: closed', 'Holidays (US federal): closed']."""
    labels = {"weekdays": "Weekdays", "saturday": "Saturdays", "sunday": "Sundays"}
    lines = [f"{labels[key]}: {_hours_words(rules[key])}" for key in labels if rules.get(key)]
    if rules.get("holidays"):
        which = [HOLIDAY_CALENDARS[rules["holiday_calendar"]]] if rules.get("holiday_calendar") else []
        which += rules.get("holiday_dates") or []
        lines.append(f"Holidays ({', '.join(which)}): {_hours_words(rules['holidays'])}")
    return lines


def _hours_words(rule: str) -> str:
    return CLOSED if rule == CLOSED else rule.replace("-", "–").replace(",", ", ")
