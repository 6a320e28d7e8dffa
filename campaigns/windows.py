"""A campaign's own calling window (`window_start`–`window_end`, the contact's local time): it may only
narrow the jurisdictions' windows, which `calls.services.call_create` enforces on every call anyway.

A number that may ring in several time zones is inside only when it is inside in every one of them, as for
the jurisdictions' windows (compliance/calling_windows.py)."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from agents.phone import time_zones_for

SEARCH_DAYS = 2  # the window is daily: its next opening is within a day (two across a DST change)


def number_zones(number: str) -> list[ZoneInfo]:
    zones = []
    for name in time_zones_for(number):
        try:
            zones.append(ZoneInfo(name))
        except (ZoneInfoNotFoundError, ValueError):
            continue
    return zones or [ZoneInfo("UTC")]


def _inside(zones: list[ZoneInfo], start: time, end: time, moment: datetime) -> bool:
    return all(start <= moment.astimezone(zone).time().replace(tzinfo=None) < end for zone in zones)


def window_opens_next(*, number: str, start: time, end: time, now: datetime) -> datetime | None:
    """None when `now` is inside the window where `number` rings; else the next instant it opens (UTC)."""
    zones = number_zones(number)
    if _inside(zones, start, end, now):
        return None
    openings = sorted(
        {
            datetime.combine(
                now.astimezone(zone).date() + timedelta(days=offset), start, tzinfo=zone
            ).astimezone(UTC)
            for zone in zones
            for offset in range(SEARCH_DAYS + 1)
        }
    )
    return next((at for at in openings if at > now and _inside(zones, start, end, at)), None)
