"""Calling windows: is it, at an instant, inside a jurisdiction's calling window in the local time of the
number called, and when does the window open next. Local time comes from the number's time zone
(phonenumbers' geographic data) with zoneinfo, so daylight saving time is what the callee's clock says.

A number that may ring in several time zones (US toll-free, an Australian mobile) is read strictly: a call
is inside only when it is inside in every one of them. The decision names the zone that decided: the
first (in phonenumbers' alphabetical order) where the window is closed, else the first of them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from agents.phone import time_zones_for
from compliance.day_rules import WEEKDAY_NAMES, Window, windows_on, windows_text
from compliance.jurisdictions import JurisdictionRules

SEARCH_DAYS = 8  # how far ahead "opens next" looks: past a week of closed days, a rule is broken
FALLBACK_ZONE = "UTC"  # for a number with no known time zone; the decision says so


@dataclass(frozen=True)
class ZoneReading:
    zone: str
    local: datetime
    windows: list[Window]
    applied: list[dict]

    @property
    def inside(self) -> bool:
        moment = self.local.time()  # naive: the wall clock there
        return any(start <= moment < end for start, end in self.windows)


@dataclass(frozen=True)
class WindowCheck:
    inside: bool
    deciding: ZoneReading
    zones: list[str]
    zone_known: bool
    opens_next: datetime | None  # UTC; None when inside, or when no opening was found within SEARCH_DAYS

    def as_decision(self, *, rules: JurisdictionRules, enforced: bool) -> dict:
        reading = self.deciding
        holiday = next((rule["holiday"] for rule in reading.applied if "holiday" in rule), None)
        opens_local = self.opens_next.astimezone(reading.local.tzinfo) if self.opens_next else None
        return {
            "enforced": enforced,
            "jurisdiction": rules.code,
            "rules_from": rules.rules_from,
            "time_zone": reading.zone,
            "time_zone_known": self.zone_known,
            "time_zones": self.zones,
            "local_time": reading.local.isoformat(timespec="seconds"),
            "day": WEEKDAY_NAMES[reading.local.weekday()],
            "holiday": holiday,
            "rules": reading.applied,
            "hours": windows_text(reading.windows),
            "inside": self.inside,
            "opens_next": _utc_text(self.opens_next),
            "opens_next_local": opens_local.isoformat(timespec="minutes") if opens_local else None,
        }


def _zones(number: str) -> tuple[list[ZoneInfo], bool]:
    zones = []
    for name in time_zones_for(number):
        try:
            zones.append(ZoneInfo(name))
        except (ZoneInfoNotFoundError, ValueError):
            continue  # a name this system's time zone database lacks: the others still decide
    if zones:
        return zones, True
    return [ZoneInfo(FALLBACK_ZONE)], False


def _reading(rules: JurisdictionRules, zone: ZoneInfo, now: datetime) -> ZoneReading:
    local = now.astimezone(zone)
    windows, applied = windows_on(base=rules.window, rules=rules.day_rules, day=local.date())
    return ZoneReading(zone=zone.key, local=local, windows=windows, applied=applied)


def _readings(rules: JurisdictionRules, zones: list[ZoneInfo], now: datetime) -> list[ZoneReading]:
    return [_reading(rules, zone, now) for zone in zones]


def _opens_next(rules: JurisdictionRules, zones: list[ZoneInfo], now: datetime) -> datetime | None:
    """The first instant after `now` inside the window in every zone: it is one zone's window start."""
    starts = set()
    for zone in zones:
        today = now.astimezone(zone).date()
        for offset in range(SEARCH_DAYS + 1):
            day = today + timedelta(days=offset)
            windows, _ = windows_on(base=rules.window, rules=rules.day_rules, day=day)
            for start, _end in windows:
                instant = datetime.combine(day, start, tzinfo=zone).astimezone(UTC)
                if instant > now:
                    starts.add(instant)
    for instant in sorted(starts):
        if all(reading.inside for reading in _readings(rules, zones, instant)):
            return instant
    return None


def calling_window_check(*, rules: JurisdictionRules, number: str, now: datetime) -> WindowCheck:
    """Whether `now` is inside `rules`' calling window where `number` rings (see the module docstring)."""
    zones, known = _zones(number)
    readings = _readings(rules, zones, now)
    closed = [reading for reading in readings if not reading.inside]
    return WindowCheck(
        inside=not closed,
        deciding=closed[0] if closed else readings[0],
        zones=[zone.key for zone in zones],
        zone_known=known,
        opens_next=_opens_next(rules, zones, now) if closed else None,
    )


def _utc_text(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z") if moment else None


def outside_window_message(*, check: WindowCheck, rules: JurisdictionRules, number: str) -> str:
    """'It is 07:30 on Sunday in America/Los_Angeles for +14155550123 (US-CA): calls may start 08:00-21:00
    there today (sunday: closed). The window opens next on Monday 2026-03-09 at 08:00 local time (15:00 UTC).'"""
    reading = check.deciding
    where = reading.zone if check.zone_known else f"{reading.zone} (the number's time zone is unknown)"
    day = WEEKDAY_NAMES[reading.local.weekday()].capitalize()
    rules_text = "; ".join(
        f"{rule.get('holiday') or rule['rule']}: {rule['hours']}" for rule in reading.applied[1:]
    )
    today = windows_text(reading.windows)
    window = f"calls may start {windows_text([rules.window])} there" + (
        f", today {today} ({rules_text})" if rules_text else ""
    )
    several = f" (strictest of its {len(check.zones)} time zones)" if len(check.zones) > 1 else ""
    message = (
        f"Outside the calling window: it is {reading.local:%H:%M} on {day} in {where} for {number} "
        f"({rules.code or 'unknown jurisdiction'}){several}: {window}."
    )
    if check.opens_next is None:
        return f"{message} The window does not open within the next {SEARCH_DAYS} days."
    local = check.opens_next.astimezone(reading.local.tzinfo)
    return (
        f"{message} It opens next on {WEEKDAY_NAMES[local.weekday()].capitalize()} {local:%Y-%m-%d} at "
        f"{local:%H:%M} local time ({check.opens_next:%Y-%m-%d %H:%M} UTC)."
    )


# Numbers whose jurisdictions have no day rules, spread around the globe: at any instant one of them is
# well inside its calling hours. "{}" is the last four digits (which choose the simulator's outcome).
NUMBERS_AROUND_THE_WORLD = (
    "+1415555{}",  # US-CA, America/Los_Angeles
    "+1212555{}",  # US-NY, America/New_York
    "+1808555{}",  # US-HI, Pacific/Honolulu
    "+44207946{}",  # GB, Europe/London
    "+91987650{}",  # IN, Asia/Kolkata
    "+649309{}",  # NZ, Pacific/Auckland
)


def number_inside_calling_hours(
    last_four: str,
    *,
    rules_for: Callable[[str], JurisdictionRules],
    jurisdiction_of: Callable[[str], str],
    now: datetime,
    minutes: int = 30,
) -> str | None:
    """A number ending in `last_four` that may be called at `now` and for `minutes` more, by `rules_for`
    (the deployment's jurisdictions, or the seed data where there is no database): for the demo, whose
    callees must be callable whenever someone tries it, and for tests driving a separate server process.
    None when no such number exists at that instant."""
    later = now + timedelta(minutes=minutes)
    for pattern in NUMBERS_AROUND_THE_WORLD:
        number = pattern.format(last_four)
        rules = rules_for(jurisdiction_of(number))
        if all(
            calling_window_check(rules=rules, number=number, now=moment).inside for moment in (now, later)
        ):
            return number
    return None
