"""Campaign status: the only module that moves a campaign (the demo creates it running).

Dispatching a campaign's contacts arrives with the campaigns issue; until then a running campaign is done
when its calls are. When contacts and retries arrive, "done" must also mean no contact is left to dial."""

from collections.abc import Iterable

from django.db.models import Exists, OuterRef
from django.utils import timezone

from calls.models import Call, CallStatus
from campaigns.models import Campaign, CampaignStatus


def campaigns_finish_if_done(campaign_ids: Iterable[int], **_signal: object) -> int:
    """Mark the running campaigns among `campaign_ids` whose calls have all ended as completed; returns how
    many. Run after the commit that ended a call (it receives `calls.announce.calls_ended`), as one statement: of two transactions that end a
    campaign's last two calls at once, neither sees the other's call ended before it commits, but the
    later of the two checks afterwards sees both."""
    still_calling = Call.objects.filter(campaign_id=OuterRef("pk"), status__in=CallStatus.active())
    return (
        Campaign.objects.filter(pk__in=list(campaign_ids), status=CampaignStatus.RUNNING)
        .exclude(Exists(still_calling))
        .update(status=CampaignStatus.COMPLETED, updated_at=timezone.now())
    )
