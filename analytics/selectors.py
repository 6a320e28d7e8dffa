"""The analytics' numbers: calls, connected, connect rate, minutes, average handle time and outcomes per agent,
campaign, number or day of a period, exact to the call.

Whole UTC days of the period come from CallDaily, the other whole UTC hours from CallHourly
(analytics/rollup.py), one grouped query each over their index; the rest is counted live from the calls table with the rollup's own aggregation: the period's partial
first and last hours (a midnight that is not on a UTC hour) and the hours the rollup has not rewritten since
their calls last changed (the current hour among them). The live part reads the creation-time index over a
few hours, so the cost follows the period's hours, not the history's length.

What the figures mean (docs/analytics.md):
* calls: created in the period; ended: those that have ended.
* connected: reached a person (the wallboard's rule, analytics/rollup.py CONNECTED); connect_rate = connected
  / ended (None before any call has ended).
* minutes: talk time (answer to end) of every answered call, voicemails included, in minutes.
* average_handle_seconds: mean talk time of the connected calls whose talk time is known.
* outcomes: calls per outcome label, the one label every page and the calls CSV show (calls/outcomes.py)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from django.db.models import Count, F, Q, Sum
from django.db.models.functions import TruncDay
from django.utils import timezone

from agents.models import Agent
from analytics.models import CallDaily, CallHourly
from analytics.rollup import HOUR, MEASURES, created_in, created_in_hours, dirty_hours, hour_floor, hour_rows
from calls.models import Call, CallStatus
from calls.outcomes import outcome_label
from campaigns.models import Campaign

GROUP_BYS = ("agent", "campaign", "number", "day")
# The column of the rollup's grain each grouping reads (day: the hour, turned into the viewer's day).
GROUP_COLUMN = {"agent": "agent_id", "campaign": "campaign_id", "number": "number", "day": "hour"}
OUTCOME_PARTS = ("status", "end_reason", "error_code")


@dataclass
class Figures:
    """One group's numbers (or the period's total)."""

    key: Any = None  # the agent's or campaign's row id, the number, the day
    group: str = ""  # its public name in the API: agent_…, campaign_…, +1…, 2025-01-31
    label: str = ""
    calls: int = 0
    ended: int = 0
    connected: int = 0
    talk_seconds: float = 0.0
    handle_seconds: float = 0.0
    handled_calls: int = 0
    outcomes: Counter = field(default_factory=Counter)

    def add(self, row: dict) -> None:
        for measure in MEASURES:
            setattr(self, measure, getattr(self, measure) + (row[measure] or 0))
        label = outcome_label(row["status"], row["end_reason"], row["error_code"])
        self.outcomes[label] += row["calls"] or 0

    @property
    def connect_rate(self) -> float | None:
        return self.connected / self.ended if self.ended else None

    @property
    def outcomes_ranked(self) -> list[tuple[str, int]]:
        """(label, calls), the commonest first, ties by label: the same order on every page and export."""
        return sorted(self.outcomes.items(), key=lambda item: (-item[1], item[0]))

    @property
    def connect_rate_text(self) -> str:
        return "–" if self.connect_rate is None else f"{self.connect_rate:.0%}"

    @property
    def minutes(self) -> float:
        return self.talk_seconds / 60

    @property
    def average_handle_seconds(self) -> float | None:
        return self.handle_seconds / self.handled_calls if self.handled_calls else None

    def as_json(self) -> dict:
        """The group as `GET /v1/analytics/calls` answers it (docs/contract.md)."""
        return {
            "group": self.group,
            "label": self.label,
            "calls": self.calls,
            "connected": self.connected,
            "connect_rate": None if self.connect_rate is None else round(self.connect_rate, 4),
            "minutes": round(self.minutes, 2),
            "average_handle_seconds": (
                None if self.average_handle_seconds is None else round(self.average_handle_seconds, 1)
            ),
            "outcomes": dict(self.outcomes_ranked),
        }


@dataclass(frozen=True)
class Report:
    group_by: str
    start: datetime
    end: datetime
    groups: list[Figures]
    total: Figures


def call_analytics(group_by: str, start: datetime, end: datetime) -> Report:
    """The calls created in [start, end) grouped by `group_by` (one of GROUP_BYS); days in the current zone."""
    first_whole, after_whole = _ceil_hour(start), hour_floor(end)
    groups: dict[Any, Figures] = {}
    live = Q(created_at__gte=start, created_at__lt=end)
    if first_whole < after_whole:
        stale = {hour for hour in dirty_hours() if first_whole <= hour < after_whole}
        days = _clean_days(first_whole, after_whole, stale, group_by)
        for row in _daily_rows(group_by, days):
            _figures_for(groups, row["key"]).add(row)
        for row in _table_rows(group_by, first_whole, after_whole, stale | _hours_of(days)):
            _figures_for(groups, row["key"]).add(row)
        live = (
            Q(created_at__gte=start, created_at__lt=first_whole)
            | Q(created_at__gte=after_whole, created_at__lt=end)
            | created_in(stale)
        )
    for row in hour_rows(Call.objects.filter(live)):
        key = row[GROUP_COLUMN[group_by]]
        # a partial first hour starts before the period does: its day is the period's first
        _figures_for(groups, _local_day(max(key, start)) if group_by == "day" else key).add(row)
    if group_by == "day":  # every day of the period, a quiet one too: a line over days has no gaps
        for day in _days(start, end):
            _figures_for(groups, day)
    ordered = _named(group_by, list(groups.values()))
    total = Figures(group="total", label="All calls")
    for figures in ordered:
        _merge(total, figures)
    return Report(group_by=group_by, start=start, end=end, groups=ordered, total=total)


def _days(start: datetime, end: datetime) -> list[date]:
    first, last = _local_day(start), _local_day(end - timedelta(microseconds=1))
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def _ceil_hour(moment: datetime) -> datetime:
    floor = hour_floor(moment)
    return floor if floor == moment else floor + HOUR


def _local_day(moment: datetime) -> date:
    return timezone.localtime(moment).date()


def _figures_for(groups: dict[Any, Figures], key: Any) -> Figures:
    if key not in groups:
        groups[key] = Figures(key=key)
    return groups[key]


def _merge(into: Figures, other: Figures) -> None:
    for measure in MEASURES:
        setattr(into, measure, getattr(into, measure) + getattr(other, measure))
    into.outcomes.update(other.outcomes)


def _clean_days(start: datetime, end: datetime, stale: set[datetime], group_by: str) -> list[date]:
    """The UTC days wholly inside [start, end) with no stale hour: read from CallDaily. None when grouping by
    day in a zone whose days are not UTC days (a UTC day would straddle two of the viewer's)."""
    zone = timezone.get_current_timezone()
    first = start.date() if start == _midnight_utc(start.date()) else start.date() + timedelta(days=1)
    stale_days = {hour.date() for hour in stale}
    days = []
    day = first
    while _midnight_utc(day) + timedelta(days=1) <= end:
        midnight = _midnight_utc(day)
        if day not in stale_days and (group_by != "day" or not midnight.astimezone(zone).utcoffset()):
            days.append(day)
        day += timedelta(days=1)
    return days


def _midnight_utc(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def _hours_of(days: list[date]) -> set[datetime]:
    return {_midnight_utc(day) + HOUR * n for day in days for n in range(24)}


def _daily_rows(group_by: str, days: list[date]) -> list[dict]:
    """CallDaily's rows of `days`, summed per group and outcome (the day of a row is its UTC day: only asked
    for grouping by day when the viewer's days are UTC days)."""
    if not days:
        return []
    column = "day" if group_by == "day" else GROUP_COLUMN[group_by]
    rows = CallDaily.objects.filter(day__in=days).annotate(key=F(column))
    return list(rows.values("key", *OUTCOME_PARTS).annotate(**{m: Sum(m) for m in MEASURES}).order_by())


def _table_rows(group_by: str, start: datetime, end: datetime, skipped: set[datetime]) -> list[dict]:
    """The rollup's rows of the whole hours [start, end) but the `skipped` ones (stale: counted live; or in a
    day read from CallDaily), summed per group and outcome. The hours wanted are named as ranges (not the
    period less the skipped): the index then reads only their rows."""
    hours_in_period = int((end - start) / HOUR)
    wanted = {start + HOUR * n for n in range(hours_in_period)} - skipped
    if not wanted:
        return []
    rows = CallHourly.objects.filter(created_in_hours(wanted))
    if group_by == "day":
        rows = rows.annotate(key=TruncDay("hour", tzinfo=timezone.get_current_timezone()))
    else:
        rows = rows.annotate(key=F(GROUP_COLUMN[group_by]))
    summed = rows.values("key", *OUTCOME_PARTS).annotate(**{m: Sum(m) for m in MEASURES}).order_by()
    result = list(summed)
    if group_by == "day":
        for row in result:  # TruncDay gives the local midnight, as an aware datetime
            row["key"] = timezone.localtime(row["key"]).date()
    return result


def _named(group_by: str, groups: list[Figures]) -> list[Figures]:
    """Each group's public name and label, in the order a reader expects: days in order, else busiest first."""
    if group_by == "agent":
        agents = Agent.objects.in_bulk([g.key for g in groups])
        for figures in groups:
            agent = agents.get(figures.key)
            figures.group, figures.label = (agent.public_id, agent.name) if agent else ("", "Deleted agent")
    elif group_by == "campaign":
        campaigns = Campaign.objects.in_bulk([g.key for g in groups if g.key is not None])
        for figures in groups:
            campaign = campaigns.get(figures.key)
            figures.group, figures.label = (
                (campaign.public_id, campaign.name) if campaign else (None, "No campaign")
            )
    elif group_by == "number":
        for figures in groups:
            figures.group, figures.label = figures.key or "", figures.key or "No number"
    else:
        for figures in groups:
            figures.group = figures.label = figures.key.isoformat()
        return sorted(groups, key=lambda g: g.key)
    return sorted(groups, key=lambda g: (-g.calls, g.label))


# --- campaigns' calls per status, for the wallboard -------------------------------------------------------


def campaign_call_counts(campaign_ids: Iterable[int]) -> dict[int, dict[str, int]]:
    """Each campaign's calls per status (every CallStatus) and their `total`, of all time, exact: the days
    and hours the rollup holds clean, the stale hours counted live. The same answer as
    campaigns.selectors.call_counts_by_campaign, without reading every call of the campaign."""
    ids = list(campaign_ids)
    counts = {pk: {**dict.fromkeys(CallStatus.values, 0), "total": 0} for pk in ids}
    if not ids:  # no campaign running: no query at all
        return counts
    stale = dirty_hours()
    stale_days = {hour.date() for hour in stale}
    sources = [
        CallDaily.objects.filter(campaign_id__in=ids).exclude(day__in=stale_days),
        CallHourly.objects.filter(campaign_id__in=ids).filter(created_in_hours(_hours_of(list(stale_days)))),
    ]
    rows = [
        *sources[0].values("campaign_id", "status").annotate(n=Sum("calls")).order_by(),
        *sources[1]
        .exclude(hour__in=stale)
        .values("campaign_id", "status")
        .annotate(n=Sum("calls"))
        .order_by(),
        *Call.objects.filter(created_in(stale), campaign_id__in=ids)
        .values("campaign_id", "status")
        .annotate(n=Count("id"))
        .order_by(),
    ]
    for row in rows:
        by_status = counts[row["campaign_id"]]
        by_status[row["status"]] = by_status.get(row["status"], 0) + row["n"]
        by_status["total"] += row["n"]
    return counts


# --- the period ---------------------------------------------------------------------------------------------

PRESETS = {"today": "Today", "7d": "Last 7 days", "30d": "Last 30 days"}
CUSTOM = "custom"
MAX_PERIOD_DAYS = 366


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=timezone.get_current_timezone())


def days_period(first: date, last: date) -> tuple[datetime, datetime]:
    """From the first day's midnight to the midnight after the last day, in the current time zone."""
    return _midnight(first), _midnight(last + timedelta(days=1))


def preset_days(key: str) -> tuple[date, date]:
    today = timezone.localdate()
    back = {"today": 0, "7d": 6, "30d": 29}[key]
    return today - timedelta(days=back), today
