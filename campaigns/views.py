"""Campaign pages: the list, a campaign's page with its call counts and calls, live (static/js/live.js,
`?campaign_id=` on /ws/calls), and the demo button of the empty wallboard."""

from django.contrib import messages
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from calls.models import CallStatus
from campaigns.demo import demo_start
from campaigns.evidence import campaign_evidence_zip
from campaigns.models import Campaign
from campaigns.selectors import campaign_calls, campaign_summary, campaigns_with_progress
from wordcab_admin.kernel.roles import Capability, require


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
    return render(request, "campaigns/detail.html", campaign_context(campaign_for_page(campaign_id)))


@require_GET
@require(Capability.VIEW)
def campaign_board(request: HttpRequest, campaign_id: str) -> HttpResponse:
    """The page's live part alone, fetched by live.js on every (re)connect."""
    return render(request, "campaigns/_board.html", campaign_context(campaign_for_page(campaign_id)))


@require_GET
@require(Capability.COMPLIANCE)
def campaign_evidence(request: HttpRequest, campaign_id: str) -> FileResponse:
    """Every call's evidence record, zipped (campaigns/evidence.py)."""
    campaign = campaign_for_page(campaign_id)
    name = f"{campaign.public_id}-evidence.zip"
    return FileResponse(campaign_evidence_zip(campaign), as_attachment=True, filename=name)


@require(Capability.VIEW)
def campaign_list(request: HttpRequest) -> HttpResponse:
    return render(request, "campaigns/list.html", {"campaigns": campaigns_with_progress()[:100]})


@require_POST
@require(Capability.OPERATE)
def demo_start_view(request: HttpRequest) -> HttpResponse:
    result = demo_start(actor=request.user)
    if result.calls:
        messages.success(
            request, f"Demo started: {len(result.calls)} simulated calls in campaign {result.campaign.name}."
        )
    else:
        messages.error(request, "The demo placed no call: " + "; ".join(result.refused))
    return redirect("dashboard")
