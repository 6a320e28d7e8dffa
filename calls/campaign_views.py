"""The campaign page: its call counts and calls, live (static/js/live.js, `?campaign_id=` on /ws/calls)."""

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from calls.dashboard import campaign_calls, campaign_summary
from calls.models import CallStatus, Campaign
from wordcab_admin.roles import Capability, require


def campaign_for_page(campaign_id: str) -> Campaign:
    try:
        return Campaign.objects.select_related("agent").get(public_id=campaign_id)
    except Campaign.DoesNotExist:
        raise Http404(f"No campaign {campaign_id}") from None


def campaign_context(campaign: Campaign) -> dict:
    summary = campaign_summary(campaign)
    ended = sum(summary["counts"][status] for status in CallStatus.terminal())
    return {"campaign": campaign, "summary": summary, "ended": ended, "calls": campaign_calls(campaign)}


@require_GET
@require(Capability.VIEW)
def campaign_detail(request: HttpRequest, campaign_id: str) -> HttpResponse:
    return render(request, "calls/campaign_detail.html", campaign_context(campaign_for_page(campaign_id)))


@require_GET
@require(Capability.VIEW)
def campaign_board(request: HttpRequest, campaign_id: str) -> HttpResponse:
    """The page's live part alone, fetched by live.js on every (re)connect."""
    return render(request, "calls/_campaign_board.html", campaign_context(campaign_for_page(campaign_id)))
