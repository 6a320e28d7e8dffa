"""The wallboard's and the campaign page's numbers: read-only selectors, shared by the pages,
their resync endpoints and the live broadcast (calls/events.py)."""

from datetime import datetime, timedelta

from django.db.models import Count, Q, QuerySet
from django.db.models.functions import TruncMinute
from django.utils import timezone

from agents.models import Agent
from calls.models import Call, CallStatus, Campaign, CampaignStatus
from calls.serializers import CallOutput

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
    return timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)


def call_counts() -> dict[str, int]:
    today = start_of_today()
    return Call.objects.aggregate(
        initiating=Count("id", filter=Q(status=CallStatus.INITIATING)),
        ringing=Count("id", filter=Q(status=CallStatus.RINGING)),
        in_progress=Count("id", filter=Q(status=CallStatus.IN_PROGRESS)),
        completed=Count("id", filter=Q(status=CallStatus.COMPLETED, created_at__gte=today)),
        failed=Count("id", filter=Q(status=CallStatus.FAILED, created_at__gte=today)),
        no_answer=Count("id", filter=Q(status=CallStatus.NO_ANSWER, created_at__gte=today)),
    )


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
    return list(
        Call.objects.filter(status__in=TERMINAL)
        .select_related("agent", "campaign", "recording")
        .order_by("-id")[:limit]
    )


def agent_occupancy(limit: int = OCCUPANCY_AGENTS) -> list[dict]:
    """Active agents with their live calls, busiest first: how much of the floor each one holds."""
    today = start_of_today()
    agents = (
        Agent.objects.filter(is_active=True)
        .annotate(
            active=Count("calls", filter=Q(calls__status__in=ACTIVE)),
            talking=Count("calls", filter=Q(calls__status=CallStatus.IN_PROGRESS)),
            today=Count("calls", filter=Q(calls__created_at__gte=today)),
        )
        .order_by("-active", "name")[:limit]
    )
    return [
        {"id": a.public_id, "name": a.name, "active": a.active, "talking": a.talking, "today": a.today}
        for a in agents
    ]


def campaigns_with_progress() -> QuerySet[Campaign]:
    """Campaigns, newest first, each with how many calls it has (`total`) and how many have ended (`ended`)."""
    return (
        Campaign.objects.select_related("agent")
        .annotate(total=Count("calls"), ended=Count("calls", filter=Q(calls__status__in=TERMINAL)))
        .order_by("-id")
    )


def running_campaigns(limit: int = RUNNING_CAMPAIGNS) -> list[Campaign]:
    """Running campaigns with how many of their calls have ended, newest first."""
    return list(campaigns_with_progress().filter(status=CampaignStatus.RUNNING)[:limit])


def calls_per_minute(*, now: datetime | None = None, minutes: int = CHART_MINUTES) -> list[dict]:
    """Calls created in each of the last `minutes` minutes, oldest first, the current minute last."""
    now = now or timezone.now()
    current = now.replace(second=0, microsecond=0)
    first = current - timedelta(minutes=minutes - 1)
    rows = (
        Call.objects.filter(created_at__gte=first)
        .annotate(minute=TruncMinute("created_at"))
        .values("minute")
        .annotate(n=Count("id"))
    )
    by_minute = {int(r["minute"].timestamp()) // 60: r["n"] for r in rows}
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
    return {"bars": bars, "peak": peak, "width": CHART_WIDTH, "height": CHART_HEIGHT}


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
        "agents": agents,
        "occupancy_peak": max([a["active"] for a in agents] + [1]),
        "chart": chart_bars(buckets),
        "has_calls": Call.objects.exists(),
        "has_agents": Agent.objects.exists(),
        "live_state": {
            "snapshot_at": now.isoformat(),
            "today": start_of_today().isoformat(),
            "counts": counts,
            "calls": active_call_states(),
            "agents": {a["id"]: a["name"] for a in agents},
            "chart": buckets,
        },
    }


def dashboard_context() -> dict:
    return wallboard_context()


def campaign_call_counts(campaign: Campaign) -> dict[str, int]:
    counts = dict.fromkeys([s.value for s in CallStatus], 0)
    for row in campaign.calls.values("status").annotate(n=Count("id")).order_by():
        counts[row["status"]] = row["n"]
    counts["total"] = sum(counts.values())
    return counts


def campaign_summary(campaign: Campaign) -> dict:
    """The campaign as `campaign.updated` carries it: identity, status and call counts per state."""
    return {
        "id": campaign.public_id,
        "name": campaign.name,
        "agent_id": campaign.agent.public_id,
        "status": campaign.status,
        "counts": campaign_call_counts(campaign),
        "updated_at": timezone.now().isoformat(),
    }


def campaign_calls(campaign: Campaign, limit: int = 100) -> list[Call]:
    return list(campaign.calls.select_related("agent", "campaign", "recording").order_by("-id")[:limit])


def call_payload(call: Call) -> dict:
    return CallOutput(call).data
