"""The wallboard's resync endpoint and the demo button (the page itself is wordcab_admin.views.dashboard)."""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from calls.dashboard import wallboard_context
from calls.demo import demo_start
from wordcab_admin.roles import Capability, require


@require_GET
@require(Capability.VIEW)
def wallboard_board(request: HttpRequest) -> HttpResponse:
    """The board alone: live.js fetches it on every (re)connect, so nothing missed while offline is lost."""
    return render(request, "dashboard/_board.html", wallboard_context())


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
