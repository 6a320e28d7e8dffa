"""The wallboard: its page, its TV mode, its resync endpoint and its metrics' live refresh."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from live.metrics import PRESETS, metrics_for, period_from_query
from live.wallboard import wallboard_context
from wordcab_admin.kernel.roles import Capability, require


def _context(request: HttpRequest, *, tv: bool = False) -> dict:
    period, period_error = period_from_query(request.GET)
    return {
        **wallboard_context(),
        "metrics": metrics_for(period),
        "period_error": period_error,
        "periods": PRESETS,
        "tv": tv,
    }


@require_GET
@require(Capability.VIEW)
def dashboard(request: HttpRequest) -> HttpResponse:
    return render(request, "live/index.html", _context(request))


@require_GET
@require(Capability.VIEW)
def wallboard_tv(request: HttpRequest) -> HttpResponse:
    """The wallboard for a screen on the wall: full screen, large type, no navigation; it reconnects by itself."""
    return render(request, "live/tv.html", _context(request, tv=True))


@require_GET
@require(Capability.VIEW)
def wallboard_board(request: HttpRequest) -> HttpResponse:
    """The board alone: live.js fetches it on every (re)connect, so nothing missed while offline is lost."""
    return render(request, "live/_board.html", _context(request, tv=request.GET.get("tv") == "1"))


@require_GET
@require(Capability.VIEW)
def wallboard_metrics(request: HttpRequest) -> HttpResponse:
    """The metrics alone, for the period asked: live.js fetches them again a few seconds after calls change."""
    period, period_error = period_from_query(request.GET)
    context = {"metrics": metrics_for(period), "period_error": period_error, "periods": PRESETS}
    context["tv"] = request.GET.get("tv") == "1"
    return render(request, "live/_metrics.html", context)
