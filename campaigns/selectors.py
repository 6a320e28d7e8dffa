"""A campaign's numbers, read-only: shared by the campaign pages, the wallboard and the live broadcast."""

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from calls.models import Call, CallStatus
from campaigns.models import Campaign

TERMINAL = [s.value for s in CallStatus.terminal()]


def campaigns_with_progress() -> QuerySet[Campaign]:
    """Campaigns, newest first, each with how many calls it has (`total`) and how many have ended (`ended`)."""
    return (
        Campaign.objects.select_related("agent")
        .annotate(total=Count("calls"), ended=Count("calls", filter=Q(calls__status__in=TERMINAL)))
        .order_by("-id")
    )


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
