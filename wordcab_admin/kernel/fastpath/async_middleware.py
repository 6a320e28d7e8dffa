"""Django's stock middleware with their hooks run on the event loop under ASGI.

Justified by `make bench BENCH=status_callbacks` (callbacks per second, at least half a bare view's on
the same stack): under an async stack `MiddlewareMixin` sends every `process_request` and
`process_response` of a sync middleware to a worker thread (`sync_to_async`): with the nine middleware of
MIDDLEWARE that is about seventeen thread hand-offs per request, the largest cost of a webhook such as
Twilio's status callback (and of every API call). Almost all of those hooks are plain Python that neither
touch the database nor block, so here they run inline. The few that may touch the database (saving a
modified session, storing flash messages, CSRF tokens kept in the session) still go to a thread, and
only when they have work.

Under WSGI (Django's test client) nothing changes: `MiddlewareMixin.__call__` runs the hooks as before.
Without the benchmark MIDDLEWARE would name Django's own classes (`django.middleware.security.
SecurityMiddleware`, ...) and django-csp's `csp.middleware.CSPMiddleware`, and neither these subclasses
nor `deploy_checks_see_subclasses` would exist.

Private Django API it leans on: `MiddlewareMixin.__acall__` (overridden: `__call__` hands over to it in
`async_mode`), `request._messages` and its storage's `used` / `added_new` (when `BaseStorage.update`
stores anything), and `django.core.checks.security.base._security_middleware`, `base._xframe_middleware`
and `csrf._csrf_middleware` (replaced by `deploy_checks_see_subclasses`). Pinned by
tests/core/test_asgi_chain.py (no hook on a thread; sessions, messages and CSRF through the chain),
tests/core/test_fastpath.py (the message storage's flags) and tests/core/test_settings.py (deploy checks)."""

from __future__ import annotations

from functools import partial

from asgiref.sync import sync_to_async
from csp import middleware as csp_middleware
from django.conf import settings
from django.contrib.auth import middleware as auth
from django.contrib.messages import middleware as messages
from django.contrib.sessions import middleware as sessions
from django.http import HttpRequest, HttpResponseBase
from django.middleware import clickjacking, common, csrf, security
from django.utils.module_loading import import_string


class InlineHooksMixin:
    """`__acall__` without thread hops, for hooks that never touch the database. A subclass whose hook
    sometimes does says when, in `request_needs_thread` / `response_needs_thread`."""

    def request_needs_thread(self, request: HttpRequest) -> bool:
        return False

    def response_needs_thread(self, request: HttpRequest, response: HttpResponseBase) -> bool:
        return False

    async def __acall__(self, request: HttpRequest) -> HttpResponseBase:
        response = None
        if hasattr(self, "process_request"):
            if self.request_needs_thread(request):
                response = await sync_to_async(self.process_request, thread_sensitive=True)(request)
            else:
                response = self.process_request(request)
        response = response or await self.get_response(request)
        if hasattr(self, "process_response"):
            if self.response_needs_thread(request, response):
                response = await sync_to_async(self.process_response, thread_sensitive=True)(
                    request, response
                )
            else:
                response = self.process_response(request, response)
        return response


class SecurityMiddleware(InlineHooksMixin, security.SecurityMiddleware):
    """Redirects to HTTPS and sets security headers: request and response only."""


class CommonMiddleware(InlineHooksMixin, common.CommonMiddleware):
    """Host checks and the trailing-slash redirect: the URL resolver only."""


class XFrameOptionsMiddleware(InlineHooksMixin, clickjacking.XFrameOptionsMiddleware):
    """Sets one response header."""


class CSPMiddleware(InlineHooksMixin, csp_middleware.CSPMiddleware):
    """django-csp's Content-Security-Policy header: a lazy nonce on the request, one header on the response."""


class AuthenticationMiddleware(InlineHooksMixin, auth.AuthenticationMiddleware):
    """Only sets a lazy `request.user`; the user is loaded when a view asks for it."""


class SessionMiddleware(InlineHooksMixin, sessions.SessionMiddleware):
    """The session store is created lazily; only saving a changed session reaches the database."""

    def response_needs_thread(self, request: HttpRequest, response: HttpResponseBase) -> bool:
        session = getattr(request, "session", None)
        return session is not None and (session.modified or settings.SESSION_SAVE_EVERY_REQUEST)


class MessageMiddleware(InlineHooksMixin, messages.MessageMiddleware):
    """Messages are stored (cookie, else session) only when some were added or read."""

    def response_needs_thread(self, request: HttpRequest, response: HttpResponseBase) -> bool:
        storage = getattr(request, "_messages", None)
        return storage is not None and (storage.used or storage.added_new)


class CsrfViewMiddleware(InlineHooksMixin, csrf.CsrfViewMiddleware):
    """The token lives in a cookie, unless CSRF_USE_SESSIONS puts it in the session (the database)."""

    def request_needs_thread(self, request: HttpRequest) -> bool:
        return settings.CSRF_USE_SESSIONS

    def response_needs_thread(self, request: HttpRequest, response: HttpResponseBase) -> bool:
        return settings.CSRF_USE_SESSIONS


def middleware_in_use(stock_path: str) -> bool:
    """Whether MIDDLEWARE holds Django's middleware `stock_path` or a subclass of it (such as the above)."""
    stock = import_string(stock_path)
    for path in settings.MIDDLEWARE:
        try:
            middleware = import_string(path)
        except ImportError:
            continue
        if isinstance(middleware, type) and issubclass(middleware, stock):
            return True
    return False


def deploy_checks_see_subclasses() -> None:
    """Django's deploy checks (`check --deploy`) look for the stock middleware by dotted path: without
    this they would report them missing, and skip the HSTS, SSL-redirect, CSRF-cookie and X-Frame-Options
    checks that only apply when they are present."""
    from django.core.checks.security import base, csrf

    base._security_middleware = partial(middleware_in_use, "django.middleware.security.SecurityMiddleware")
    base._xframe_middleware = partial(
        middleware_in_use, "django.middleware.clickjacking.XFrameOptionsMiddleware"
    )
    csrf._csrf_middleware = partial(middleware_in_use, "django.middleware.csrf.CsrfViewMiddleware")
