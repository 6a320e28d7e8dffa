"""The viewer's time zone: pages show times in the zone the person chose in Settings; the API and the exports
stay in UTC.

The choice is kept in a cookie of the browser (`wc_time_zone`, an IANA name such as `Europe/Paris`, for a
year), so it needs no column of its own; without one, pages show the deployment's `TIME_ZONE` (UTC). The
middleware activates the zone for the pages only: never for `/v1/` (the API speaks UTC, and a naive time in
its filters is UTC), and a streamed export is written after the middleware has returned, in UTC, besides
formatting its times as UTC itself. Activated, the zone is what Django's `date` filter, `localtime()` (the
wallboard's "today") and the time inputs of the pages' filters use."""

from collections.abc import Callable
from functools import lru_cache
from zoneinfo import ZoneInfo, available_timezones

from asgiref.sync import iscoroutinefunction
from django.conf import settings
from django.http import HttpRequest, HttpResponseBase
from django.utils import timezone
from django.utils.decorators import sync_and_async_middleware

TIME_ZONE_COOKIE = "wc_time_zone"
TIME_ZONE_COOKIE_MAX_AGE = 365 * 24 * 3600
API_PREFIX = "/v1/"


@lru_cache(maxsize=1)
def time_zone_names() -> tuple[str, ...]:
    """Every IANA zone this machine knows, UTC first: what Settings offers and what the cookie may hold."""
    names = available_timezones() - {"UTC"}
    return (
        "UTC",
        *sorted(name for name in names if "/" in name and not name.startswith(("Etc/", "SystemV/"))),
    )


def time_zone_valid(name: str) -> bool:
    return name in _known_names()


@lru_cache(maxsize=1)
def _known_names() -> frozenset[str]:
    return frozenset(time_zone_names())


def viewer_time_zone_name(request: HttpRequest) -> str:
    """The zone the viewer chose, else the deployment's."""
    chosen = request.COOKIES.get(TIME_ZONE_COOKIE, "")
    return chosen if time_zone_valid(chosen) else settings.TIME_ZONE


def _activate(request: HttpRequest) -> bool:
    if request.path.startswith(API_PREFIX):
        return False
    name = viewer_time_zone_name(request)
    if name == settings.TIME_ZONE:
        return False
    timezone.activate(ZoneInfo(name))
    return True


@sync_and_async_middleware
def viewer_time_zone_middleware(get_response: Callable) -> Callable:
    if iscoroutinefunction(get_response):

        async def middleware(request: HttpRequest) -> HttpResponseBase:
            activated = _activate(request)
            try:
                return await get_response(request)
            finally:
                if activated:
                    timezone.deactivate()

    else:

        def middleware(request: HttpRequest) -> HttpResponseBase:
            activated = _activate(request)
            try:
                return get_response(request)
            finally:
                if activated:
                    timezone.deactivate()

    return middleware


def time_zone_context(request: HttpRequest) -> dict:
    """Template context: `time_zone`, the name of the zone the page's times are shown in."""
    return {"time_zone": timezone.get_current_timezone_name()}
