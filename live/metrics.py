"""The numbers contact centers run on, for the wallboard: answer rate, average handle time, the shares of calls
abandoned and failed, calls waiting; in all, per agent and per campaign; for today or a chosen period.

What counts (docs/live.md, "Wallboard metrics"; `outcome_kind` decides), of the calls created in the period:

* ended: calls that have ended (their outcome is known); the shares below are of these.
* connected: ended calls that reached a person: completed but not by a voicemail, or answered and then
  failed (their end was lost).
* answer rate: connected / ended.
* average handle time: the mean talk time (answer to end) of the connected calls whose talk time is known
  (a call whose end was lost has none).
* voicemail, no answer (busy included): as the outcome labels name them (calls/outcomes.py).
* abandoned: ended before anyone answered because someone gave up: cancelled by an operator or the API
  (`end_reason=canceled`), or an inbound caller who hung up before the agent answered.
* failed: failed for any other reason (carrier, number, lost news).
* waiting (now, whatever the period): calls placed or ringing, not yet answered; and for a running campaign
  its contacts whose next attempt is due.

One grouped query over the period's slice of the creation-time index gives every agent's and campaign's
counts per status, end reason, direction and answer, and their talk time. The live refresh of the wallboard
(many screens after the same call ends) is answered from a cache of a couple of seconds, so a busy floor
costs one computation per process however many screens watch it."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.db.models import BooleanField, Count, ExpressionWrapper, Q, Sum
from django.http import QueryDict
from django.utils import timezone

from agents.models import Agent
from calls.models import Call, CallStatus, Direction, EndReason
from calls.outcomes import reached_a_person
from campaigns.models import Campaign, CampaignStatus, Contact, ContactStatus
from wordcab_admin.kernel.sql_time import SecondsBetween

MAX_PERIOD_DAYS = 92
AGENT_ROWS = 50
CAMPAIGN_ROWS = 20
# A period that includes now: the live refresh of every screen shares one computation. static/js/live.js
# waits longer than this after a change before it asks, so that it never gets figures from before it.
LIVE_CACHE_SECONDS = 2.0
PAST_CACHE_SECONDS = 60.0  # a period over: it changes only when a late event lands
CACHE_ENTRIES = 64
PRESETS = {"today": "Today", "yesterday": "Yesterday", "7d": "Last 7 days", "30d": "Last 30 days"}
CUSTOM = "custom"


# --- the period ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    key: str  # a preset of PRESETS, or "custom"
    first_day: date
    last_day: date  # inclusive
    start: datetime  # the first day's midnight, in the viewer's zone
    end: datetime  # the midnight after the last day (exclusive)
    label: str

    @property
    def includes_now(self) -> bool:
        return self.start <= timezone.now() < self.end

    @property
    def query(self) -> str:
        """The period as the page's query string (the wallboard's links, its live refreshes, TV mode)."""
        params = QueryDict(mutable=True)
        params["period"] = self.key
        if self.key == CUSTOM:
            params["from"], params["to"] = self.first_day.isoformat(), self.last_day.isoformat()
        return params.urlencode()


def _midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=zone)


def _period(key: str, first: date, last: date, label: str) -> Period:
    zone = timezone.get_current_timezone()
    return Period(key, first, last, _midnight(first, zone), _midnight(last + timedelta(days=1), zone), label)


def period_from_query(query: QueryDict) -> tuple[Period, str]:
    """The period the page asks for (`period=today|yesterday|7d|30d`, or `period=custom&from=&to=` as dates),
    in the viewer's time zone, and what was wrong with the request ("" if nothing): a bad request shows
    today, saying why."""
    today = timezone.localdate()
    key = query.get("period", "today")
    if key == CUSTOM:
        try:
            first = date.fromisoformat(query.get("from", ""))
            last = date.fromisoformat(query.get("to", "") or query.get("from", ""))
        except ValueError:
            return _preset("today", today), "Enter the period's first and last day as dates."
        if last < first:
            first, last = last, first
        if (last - first).days >= MAX_PERIOD_DAYS:
            return _preset("today", today), f"Choose a period of at most {MAX_PERIOD_DAYS} days."
        label = first.isoformat() if first == last else f"{first.isoformat()} – {last.isoformat()}"
        return _period(CUSTOM, first, last, label), ""
    if key not in PRESETS:
        return _preset("today", today), ""
    return _preset(key, today), ""


def _preset(key: str, today: date) -> Period:
    first, last = {
        "today": (today, today),
        "yesterday": (today - timedelta(days=1), today - timedelta(days=1)),
        "7d": (today - timedelta(days=6), today),
        "30d": (today - timedelta(days=29), today),
    }[key]
    return _period(key, first, last, PRESETS[key])


# --- the numbers --------------------------------------------------------------------------------------------


TALK = SecondsBetween("answered_at", "ended_at")  # NULL unless answered and ended: SUM and COUNT skip it


TERMINAL = frozenset(s.value for s in CallStatus.terminal())
WAITING_STATES = [s.value for s in CallStatus.active() if s != CallStatus.IN_PROGRESS]
KINDS = ("connected", "voicemail", "no_answer", "abandoned", "failed")


def outcome_kind(status: str, end_reason: str, direction: str, answered: bool) -> str:
    """Which share an ended call counts in (one of KINDS), "" for a call still running: the first that fits."""
    if status not in TERMINAL:
        return ""
    if status == CallStatus.COMPLETED and end_reason == EndReason.VOICEMAIL:
        return "voicemail"
    if reached_a_person(status=status, end_reason=end_reason, answered=answered):
        return "connected"
    if end_reason == EndReason.CANCELED or direction == Direction.INBOUND:
        return "abandoned"  # given up before anyone answered: by us, or by an inbound caller
    if status == CallStatus.NO_ANSWER:
        return "no_answer"
    return "failed"


@dataclass
class Figures:
    """One row of the metrics: every agent, every campaign, and all calls of the period."""

    calls: int = 0
    ended: int = 0
    connected: int = 0
    voicemail: int = 0
    no_answer: int = 0
    abandoned: int = 0
    failed: int = 0
    talk_seconds: float = 0.0
    talk_calls: int = 0
    waiting: int = 0  # now: calls not yet answered
    due: int | None = None  # now: a running campaign's contacts due to be called (None: not a campaign)
    name: str = ""
    public_id: str = ""

    def add(self, other: Figures) -> None:
        for name in ("calls", "ended", "connected", "voicemail", "no_answer", "abandoned", "failed"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.talk_seconds += other.talk_seconds
        self.talk_calls += other.talk_calls

    def share(self, part: int) -> float | None:
        return part / self.ended if self.ended else None

    @property
    def answer_rate(self) -> float | None:
        return self.share(self.connected)

    @property
    def abandoned_share(self) -> float | None:
        return self.share(self.abandoned)

    @property
    def failed_share(self) -> float | None:
        return self.share(self.failed)

    @property
    def voicemail_share(self) -> float | None:
        return self.share(self.voicemail)

    @property
    def no_answer_share(self) -> float | None:
        return self.share(self.no_answer)

    @property
    def average_handle_seconds(self) -> float | None:
        return self.talk_seconds / self.talk_calls if self.talk_calls else None


@dataclass
class Metrics:
    period: Period
    total: Figures
    agents: list[Figures] = field(default_factory=list)
    campaigns: list[Figures] = field(default_factory=list)
    computed_at: datetime = field(default_factory=timezone.now)


def _figures_by_agent_and_campaign(period: Period) -> dict[tuple[int, int | None], Figures]:
    """Every agent's and campaign's figures for the period. The database only groups (by agent, campaign and
    what decides an outcome: status, end reason, direction, answered or not) and sums the talk time: a few
    hundred groups however many calls; `outcome_kind` then counts each group in its share."""
    rows = (
        Call.objects.filter(created_at__gte=period.start, created_at__lt=period.end)
        .values(
            "agent_id",
            "campaign_id",
            "status",
            "end_reason",
            "direction",
            answered=ExpressionWrapper(Q(answered_at__isnull=False), output_field=BooleanField()),
        )
        .annotate(n=Count("id"), talk_seconds=Sum(TALK), talk_calls=Count(TALK))
        .order_by()
    )
    figures: dict[tuple[int, int | None], Figures] = {}
    for row in rows:
        group = figures.setdefault((row["agent_id"], row["campaign_id"]), Figures())
        group.calls += row["n"]
        kind = outcome_kind(row["status"], row["end_reason"], row["direction"], row["answered"])
        if not kind:
            continue
        group.ended += row["n"]
        setattr(group, kind, getattr(group, kind) + row["n"])
        if kind == "connected" and row["end_reason"] != EndReason.LOST:  # a lost end: talk time unknown
            group.talk_seconds += max(0.0, row["talk_seconds"] or 0.0)
            group.talk_calls += row["talk_calls"]
    return figures


def _waiting_now() -> dict[tuple[int, int | None], int]:
    rows = (
        Call.objects.filter(status__in=WAITING_STATES)
        .values("agent_id", "campaign_id")
        .annotate(n=Count("id"))
    )
    return {(row["agent_id"], row["campaign_id"]): row["n"] for row in rows.order_by()}


def _due_now(campaign_ids: list[int]) -> dict[int, int]:
    """Pending contacts of running campaigns whose next attempt is due (the partial index `contact_due`)."""
    if not campaign_ids:
        return {}
    due = Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=timezone.now())
    rows = (
        Contact.objects.filter(campaign_id__in=campaign_ids, status=ContactStatus.PENDING)
        .filter(due)
        .values("campaign_id")
        .annotate(n=Count("id"))
        .order_by()
    )
    return {row["campaign_id"]: row["n"] for row in rows}


def metrics_compute(period: Period) -> Metrics:
    """The period's numbers, in all and per agent and per campaign (busiest first). A few queries, however
    many calls: one grouped pass over the period's calls, the calls waiting now, the names."""
    by_pair = _figures_by_agent_and_campaign(period)
    waiting = _waiting_now()
    total, agents, campaigns = Figures(), {}, {}
    for (agent_id, campaign_id), figures in by_pair.items():
        total.add(figures)
        agents.setdefault(agent_id, Figures()).add(figures)
        if campaign_id is not None:
            campaigns.setdefault(campaign_id, Figures()).add(figures)
    for (agent_id, campaign_id), n in waiting.items():
        total.waiting += n
        agents.setdefault(agent_id, Figures()).waiting += n
        if campaign_id is not None:
            campaigns.setdefault(campaign_id, Figures()).waiting += n
    running = list(Campaign.objects.filter(status=CampaignStatus.RUNNING).values_list("pk", flat=True))
    for campaign_id in running:
        campaigns.setdefault(campaign_id, Figures())
    for campaign_id, n in _due_now(running).items():
        campaigns[campaign_id].due = n
    for campaign_id in running:
        if campaigns[campaign_id].due is None:
            campaigns[campaign_id].due = 0
    _name(agents, Agent.objects.filter(pk__in=list(agents)).values_list("pk", "public_id", "name"))
    _name(campaigns, Campaign.objects.filter(pk__in=list(campaigns)).values_list("pk", "public_id", "name"))
    return Metrics(
        period=period,
        total=total,
        agents=_busiest(agents.values(), AGENT_ROWS),
        campaigns=_busiest(campaigns.values(), CAMPAIGN_ROWS),
    )


def _name(figures: dict[int, Figures], names) -> None:
    for pk, public_id, name in names:
        figures[pk].public_id, figures[pk].name = public_id, name


def _busiest(figures, limit: int) -> list[Figures]:
    return sorted(figures, key=lambda f: (-f.calls, -f.waiting, f.name.lower()))[:limit]


# --- the cache of the live refresh --------------------------------------------------------------------------

_cache: dict[tuple, tuple[float, Metrics]] = {}
_cache_lock = threading.Lock()


def metrics_for(period: Period) -> Metrics:
    """The period's metrics, from a cache LIVE_CACHE_SECONDS old at most while the period includes now (a
    minute for a period that is over), so that every screen refreshing after the same call shares one
    computation."""
    key = (period.start, period.end)
    now = time.monotonic()
    with _cache_lock:
        cached = _cache.get(key)
    if cached is not None and cached[0] > now:
        return replace(cached[1], period=period)  # the same days may be asked as "today" or as dates
    metrics = metrics_compute(period)
    ttl = LIVE_CACHE_SECONDS if period.includes_now else PAST_CACHE_SECONDS
    with _cache_lock:
        if len(_cache) >= CACHE_ENTRIES:
            _cache.clear()
        _cache[key] = (now + ttl, metrics)
    return metrics


def metrics_cache_clear() -> None:
    with _cache_lock:
        _cache.clear()
