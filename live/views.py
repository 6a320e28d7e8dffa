"""The wallboard: its page and its resync endpoint."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from live.wallboard import wallboard_context
from wordcab_admin.kernel.roles import Capability, require


@require(Capability.VIEW)
def dashboard(request: HttpRequest) -> HttpResponse:
    return render(request, "live/index.html", wallboard_context())


@require_GET
@require(Capability.VIEW)
def wallboard_board(request: HttpRequest) -> HttpResponse:
    """The board alone: live.js fetches it on every (re)connect, so nothing missed while offline is lost."""
    return render(request, "live/_board.html", wallboard_context())
