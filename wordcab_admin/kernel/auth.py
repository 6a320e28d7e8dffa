"""Authentication: API keys as `Authorization: Bearer` (DRF), with their lockout per client address; the
sign-in lockout (django-axes: its backend, handler and audit); and the password change that a one-time
password requires before anything else.

Where the pieces are wired: settings.py names the backend (AUTHENTICATION_BACKENDS), the handler
(AXES_HANDLER), `client_address` (AXES_CLIENT_IP_CALLABLE), the middleware (MIDDLEWARE) and the Bearer
authentication (REST_FRAMEWORK); wordcab_admin/apps.py connects the signal receivers."""

from asgiref.sync import iscoroutinefunction, markcoroutinefunction, sync_to_async
from axes.backends import AxesStandaloneBackend
from axes.exceptions import AxesBackendPermissionDenied
from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_client_username, get_cool_off
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from wordcab_admin.kernel.accounts import api_key_authenticate_from, password_change_required
from wordcab_admin.kernel.audit import audit_record


def client_address(request: HttpRequest) -> str | None:
    """The client's address as the server saw it. uvicorn puts the address a trusted proxy forwarded
    (X-Forwarded-For from FORWARDED_ALLOW_IPS, 127.0.0.1 by default) into REMOTE_ADDR, so behind a local
    reverse proxy this is the real client; a header the client sends itself is never believed."""
    return request.META.get("REMOTE_ADDR") or None


class BearerKeyAuthentication(authentication.BaseAuthentication):
    """`Authorization: Bearer <api key>`; the key's user, and so the user's role, is the request's.

    Too many unknown keys from one address lock it out (429 `too_many_failures`, Retry-After)."""

    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1").strip()
        if not header:
            return None
        scheme, _, raw = header.partition(" ")
        if scheme.lower() != self.keyword.lower():
            return None
        raw = raw.strip()
        if not raw:
            raise exceptions.AuthenticationFailed("Empty bearer token.")
        key = api_key_authenticate_from(raw, address=client_address(request))
        if key is None:
            raise exceptions.AuthenticationFailed("Invalid or revoked API key.")
        return key.user, key

    def authenticate_header(self, request) -> str:
        return self.keyword


class BearerKeyScheme(OpenApiAuthenticationExtension):
    """Tells drf-spectacular how the Bearer API key is sent, so the schema documents it."""

    target_class = BearerKeyAuthentication
    name = "apiKey"

    def get_security_definition(self, auto_schema) -> dict:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "An API key: `python manage.py create_api_key <username>` or Settings → API keys.",
        }


# --- the sign-in lockout (django-axes) ---------------------------------------------------------------------

REFUSED_WHILE_LOCKED_OUT = "wordcab_sign_in_refused"  # a request attribute: refused, no password tried


class SignInLockoutBackend(AxesStandaloneBackend):
    """axes' backend, first in AUTHENTICATION_BACKENDS: a username or an address locked out after too many
    failures is refused before any password is checked (the sign-in page and the Django admin alike).

    It marks the requests it refuses, so that the receivers below tell a refused attempt from a wrong
    password. A call without a request (a test's `client.login`, a command) is no sign-in over HTTP and is
    left to the next backend; axes' own backend raises on it."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        try:
            return super().authenticate(request, username, password, **kwargs)
        except AxesBackendPermissionDenied:
            setattr(request, REFUSED_WHILE_LOCKED_OUT, True)
            raise


class SignInAttempts(AxesDatabaseHandler):
    """axes' database handler (AXES_HANDLER). A successful sign-in (AXES_RESET_ON_SUCCESS) forgets only
    the failures of that username from that address: axes' own reset also drops every failure from the
    address, so that someone with an account of their own could guess another's password forever, signing
    in to their own account after every nine guesses."""

    def reset_user_attempts(self, request, credentials: dict | None = None) -> int:
        username = get_client_username(request, credentials)
        deleted, _ = AccessAttempt.objects.filter(
            username=username, ip_address=request.axes_ip_address
        ).delete()
        return deleted


def cool_off_seconds(request: HttpRequest) -> int | None:
    """How long a sign-in lockout lasts (AXES_COOLOFF_TIME); None: until an admin lifts it."""
    cool_off = get_cool_off(request)
    return None if cool_off is None else int(cool_off.total_seconds())


def _is_sign_in_attempt(request: HttpRequest | None) -> bool:
    """A password tried over HTTP (not refused unread during a lockout, not a call without a request)."""
    return request is not None and not getattr(request, REFUSED_WHILE_LOCKED_OUT, False)


def sign_in_failure_audit(sender, credentials: dict, request: HttpRequest | None = None, **kwargs) -> None:
    """`user_login_failed`: a wrong username or password on a sign-in page is audited; an attempt refused
    during a lockout is not (the lockout is, once)."""
    if not _is_sign_in_attempt(request):
        return
    username = str(credentials.get("username") or "")
    audit_record(
        actor=None, action="auth.sign_in_failed", object_type="user", object_id=username[:64],
        after={"username": username, "ip_address": client_address(request), "path": request.path},
    )  # fmt: skip


def sign_in_lockout_audit(sender, request: HttpRequest | None, username: str | None, ip_address, **kwargs):
    """axes' `user_locked_out`: sent by every attempt while locked out; audited when a lockout begins (the
    failure that reached AXES_FAILURE_LIMIT), not for each attempt it then refuses."""
    if not _is_sign_in_attempt(request):
        return
    audit_record(
        actor=None, action="auth.locked_out", object_type="user", object_id=(username or "")[:64],
        after={
            "username": username, "ip_address": ip_address, "path": request.path,
            "failures": getattr(request, "axes_failures_since_start", None),
            "cool_off_seconds": cool_off_seconds(request),
        },
    )  # fmt: skip


# --- one-time passwords: the password change comes first ----------------------------------------------------

ONE_TIME_SIGN_IN = "wordcab_one_time_sign_in"  # a session key: signed in with a one-time password


def password_change_pending_note(
    sender, request: HttpRequest | None, user: AbstractBaseUser, **kwargs
) -> None:
    """`user_logged_in`: whoever signs in with a one-time password has it noted in their session, so that
    PasswordChangeRequiredMiddleware needs no query of its own on every request."""
    if request is not None and password_change_required(user):
        request.session[ONE_TIME_SIGN_IN] = True


def password_change_pending(request: HttpRequest) -> bool:
    return bool(request.session.get(ONE_TIME_SIGN_IN))


def password_change_pending_clear(request: HttpRequest) -> None:
    request.session.pop(ONE_TIME_SIGN_IN, None)


class PasswordChangeRequiredMiddleware:
    """After a sign-in with a one-time password, every page redirects to the password change page, and
    the API answers 403 `password_change_required` to that session, until the password is changed.

    Requests with an `Authorization` header (API keys: credentials of their own) and requests without a
    session cookie (webhooks, most API clients) pass untouched, without a thread hop under ASGI; a request
    with a session cookie reads its session on a thread here (the view would read it anyway)."""

    async_capable = True
    sync_capable = True

    def __init__(self, get_response):
        self.get_response = get_response
        self.async_mode = iscoroutinefunction(get_response)
        if self.async_mode:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest):
        if self.async_mode:
            return self.__acall__(request)
        return (self._may_be_pending(request) and self._refusal(request)) or self.get_response(request)

    async def __acall__(self, request: HttpRequest) -> HttpResponse:
        if self._may_be_pending(request):
            refusal = await sync_to_async(self._refusal, thread_sensitive=True)(request)
            if refusal is not None:
                return refusal
        return await self.get_response(request)

    @staticmethod
    def _may_be_pending(request: HttpRequest) -> bool:
        return settings.SESSION_COOKIE_NAME in request.COOKIES and "HTTP_AUTHORIZATION" not in request.META

    @staticmethod
    def _refusal(request: HttpRequest) -> HttpResponse | None:
        if not password_change_pending(request):
            return None
        change = reverse("password_change")
        if request.path in (change, reverse("logout")):
            return None
        if request.path.startswith("/v1/"):
            # kernel/api_errors.py's shape, written out: that module imports DRF's views, whose APIView
            # imports this module (DEFAULT_AUTHENTICATION_CLASSES), so importing it here would be a cycle.
            message = f"You signed in with a one-time password: change it first ({change})."
            body = {"error": {"code": "password_change_required", "message": message, "field": None}}
            return JsonResponse(body, status=403)
        return redirect(change)
