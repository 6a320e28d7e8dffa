"""The wallboard's numbers: read-only selectors, shared by the page and its resync endpoint."""

from datetime import datetime, timedelta
from heapq import nlargest

from django.db import connection
from django.db.models import Count, Func, IntegerField, Value
from django.db.models.functions import TruncMinute
from django.utils import timezone

from agents.models import Agent
from analytics.selectors import campaign_call_counts
from calls.models import Call, CallStatus
from campaigns.models import Campaign, CampaignStatus
from campaigns.selectors import CONTACT_DONE_STATES, campaigns_with_progress

ACTIVE_ROWS = 200  # the active-calls table shows at most this many; the tiles count them all
OCCUPANCY_AGENTS = 50
CHART_MINUTES = 60
CHART_WIDTH, CHART_HEIGHT, CHART_BAR_GAP = 600, 120, 2
ENDED_ROWS = 10
RUNNING_CAMPAIGNS = 10
ACTIVE_STATES = 5000
ACTIVE = [s.value for s in CallStatus.active()]
TERMINAL = [s.value for s in CallStatus.terminal()]


def start_of_today() -> datetime:
    """Midnight in the viewer's time zone (kernel/viewer_time_zone.py), else the deployment's."""
    return timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)


def start_of_tomorrow() -> datetime:
    """The next midnight, when "today"'s counts start again (a day is not always 24 hours long)."""
    tomorrow = timezone.localdate() + timedelta(days=1)
    return datetime(tomorrow.year, tomorrow.month, tomorrow.day, tzinfo=timezone.get_current_timezone())


def call_counts() -> dict[str, int]:
    """Live calls by state, and today's ended calls by outcome. Two narrow queries rather than one pass over
    every call ever made: live calls come from the partial index of active states, ended ones from today's
    slice of the creation-time index."""
    counts = dict.fromkeys([s.value for s in CallStatus], 0)
    live = Call.objects.filter(status__in=ACTIVE)
    ended_today = Call.objects.filter(created_at__gte=start_of_today(), status__in=TERMINAL)
    for queryset in (live, ended_today):
        for row in queryset.values("status").annotate(n=Count("id")).order_by():
            counts[row["status"]] = row["n"]
    return counts


def active_calls(limit: int = ACTIVE_ROWS) -> list[Call]:
    return list(
        Call.objects.filter(status__in=ACTIVE)
        .select_related("agent", "campaign", "recording")
        .order_by("-id")[:limit]
    )


def active_call_states(limit: int = ACTIVE_STATES) -> dict[str, dict]:
    """Every active call's state (not only the table's rows), so live.js can tell new from known calls."""
    rows = (
        Call.objects.filter(status__in=ACTIVE)
        .order_by("-id")
        .values_list("public_id", "status", "agent__public_id")
    )
    return {
        public_id: {"status": status, "agent_id": agent_id} for public_id, status, agent_id in rows[:limit]
    }


def ended_calls(limit: int = ENDED_ROWS) -> list[Call]:
    """The newest ended calls. One query per outcome, each reading the (status, newest) index only as far as it
    needs: a single `status IN (...)` query made SQLite sort every ended call ever made."""
    newest_ids = nlargest(
        limit,
        (
            pk
            for status in TERMINAL
            for pk in Call.objects.filter(status=status).order_by("-id").values_list("id", flat=True)[:limit]
        ),
    )
    return list(Call.objects.filter(pk__in=newest_ids).select_related("agent", "campaign", "recording"))


def agent_occupancy(limit: int = OCCUPANCY_AGENTS) -> list[dict]:
    """Active agents with their live calls, busiest first: how much of the floor each one holds. Counted from
    the live calls and today's calls only, not by joining every call each agent ever made."""
    live: dict[int, dict[str, int]] = {}
    for row in (
        Call.objects.filter(status__in=ACTIVE).values("agent_id", "status").annotate(n=Count("id")).order_by()
    ):
        agent_live = live.setdefault(row["agent_id"], {"active": 0, "talking": 0})
        agent_live["active"] += row["n"]
        if row["status"] == CallStatus.IN_PROGRESS:
            agent_live["talking"] += row["n"]
    today = dict(
        Call.objects.filter(created_at__gte=start_of_today())
        .values("agent_id")
        .annotate(n=Count("id"))
        .order_by()
        .values_list("agent_id", "n")
    )
    idle = {"active": 0, "talking": 0}
    agents = [
        {"id": public_id, "name": name, **live.get(pk, idle), "today": today.get(pk, 0)}
        for pk, public_id, name in Agent.objects.filter(is_active=True).values_list("pk", "public_id", "name")
    ]
    agents.sort(key=lambda a: (-a["active"], a["name"]))
    return agents[:limit]


def running_campaigns(limit: int = RUNNING_CAMPAIGNS) -> list[Campaign]:
    """Running campaigns with their progress (contacts done, or calls ended for one without contacts), newest
    first."""
    running = Campaign.objects.select_related("agent").filter(status=CampaignStatus.RUNNING).order_by("-id")
    # their calls per status from the analytics rollup: counting them from the calls table reads every call
    # of every running campaign (bench_history at a million calls: 343 ms, 68 ms from the (campaign, status,
    # id) index alone, 17 ms from the rollup)
    return campaigns_with_progress(running[:limit], call_counter=campaign_call_counts)


class EpochMinute(Func):
    """Whole minutes since 1970 of a datetime column, computed by SQLite itself. (TruncMinute makes SQLite call
    back into Python for every row: 0.87 s for a busy hour of 200,000 calls, against 0.1 s this way.)"""

    output_field = IntegerField()

    def as_sqlite(self, compiler, connection, **extra):
        seconds, params = compiler.compile(
            Func(Value("%s"), *self.get_source_expressions(), function="strftime")
        )
        return f"(CAST({seconds} AS INTEGER) / 60)", params


def _minute_of(row_minute: int | datetime) -> int:
    return row_minute if isinstance(row_minute, int) else int(row_minute.timestamp()) // 60


def calls_per_minute(*, now: datetime | None = None, minutes: int = CHART_MINUTES) -> list[dict]:
    """Calls created in each of the last `minutes` minutes, oldest first, the current minute last."""
    now = now or timezone.now()
    current = now.replace(second=0, microsecond=0)
    first = current - timedelta(minutes=minutes - 1)
    # PostgreSQL groups by its native date_trunc fastest, and SQLite by the integer minute.
    bucket = EpochMinute("created_at") if connection.vendor == "sqlite" else TruncMinute("created_at")
    rows = (
        Call.objects.filter(created_at__gte=first)
        .annotate(minute=bucket)
        .values("minute")
        .annotate(n=Count("id"))
        .order_by()
    )
    by_minute = {_minute_of(r["minute"]): r["n"] for r in rows}
    start = int(first.timestamp()) // 60
    return [{"minute": m, "n": by_minute.get(m, 0)} for m in range(start, start + minutes)]


def chart_bars(buckets: list[dict]) -> dict:
    """Geometry of the server-rendered SVG bar chart; static/js/live.js redraws it the same way."""
    peak = max([b["n"] for b in buckets] + [1])
    width = CHART_WIDTH / len(buckets)
    bars = []
    for i, b in enumerate(buckets):
        height = round(b["n"] / peak * (CHART_HEIGHT - 4), 1)
        bars.append(
            {
                **b,
                "x": round(i * width, 2),
                "y": round(CHART_HEIGHT - height, 1),
                "w": round(width - CHART_BAR_GAP, 2),
                "h": height,
            }
        )
    total = sum(b["n"] for b in buckets)  # none: the caption says so rather than "peak 1/min"
    return {"bars": bars, "peak": peak, "total": total, "width": CHART_WIDTH, "height": CHART_HEIGHT}


def wallboard_context() -> dict:
    """Everything the wallboard shows, as of now; the page and its resync endpoint render it."""
    now = timezone.now()
    calls = active_calls()
    buckets = calls_per_minute(now=now)
    agents = agent_occupancy()
    counts = call_counts()
    return {
        "counts": counts,
        "active_calls": calls,
        "ended_calls": ended_calls(),
        "campaigns": running_campaigns(),
        "contact_done_states": " ".join(CONTACT_DONE_STATES),
        "agents": agents,
        "occupancy_peak": max([a["active"] for a in agents] + [1]),
        "chart": chart_bars(buckets),
        "has_calls": Call.objects.exists(),
        "has_agents": Agent.objects.exists(),
        "live_state": {
            "snapshot_at": now.isoformat(),
            "today": start_of_today().isoformat(),
            "tomorrow": start_of_tomorrow().isoformat(),
            "counts": counts,
            "calls": active_call_states(),
            "agents": {a["id"]: a["name"] for a in agents},
            "chart": buckets,
        },
    }
