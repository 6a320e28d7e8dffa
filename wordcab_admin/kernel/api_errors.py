"""Every API error has one shape: `{"error": {"code", "message", "field"}}`.

Services raise DomainError subclasses; DRF's own errors are reshaped here; Django's 404/405/500 for
`/v1/` paths that never reach DRF are answered in the same shape by the handlers and middleware below."""

import logging
from typing import Any

import redis
from asgiref.sync import iscoroutinefunction
from django import db
from django.core.exceptions import PermissionDenied, RequestDataTooBig, SuspiciousOperation
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.utils.decorators import sync_and_async_middleware
from django.utils.deprecation import MiddlewareMixin
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions as drf
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from wordcab_admin.kernel.errors import DomainError

log = logging.getLogger(__name__)


def error_body(code: str, message: str, field: str | None = None, **extra: Any) -> dict:
    return {"error": {"code": code, "message": message, "field": field, **extra}}


def _first_validation_error(detail: Any, prefix: str = "") -> tuple[str | None, str, str]:
    """Flatten DRF's nested ValidationError detail to the first (field, message, code)."""
    if isinstance(detail, dict):
        for key, value in detail.items():
            name = (
                None if key in ("non_field_errors", "detail") else (f"{prefix}{key}" if prefix else str(key))
            )
            field, message, code = _first_validation_error(value, f"{name}." if name else prefix)
            return field or name, message, code
    if isinstance(detail, list) and detail:
        return _first_validation_error(detail[0], prefix)
    code = getattr(detail, "code", "invalid") or "invalid"
    return None, str(detail), code


_STATUS_CODES = {
    drf.NotAuthenticated: "not_authenticated",
    drf.AuthenticationFailed: "authentication_failed",
    drf.PermissionDenied: "permission_denied",
    drf.NotFound: "not_found",
    drf.MethodNotAllowed: "method_not_allowed",
    drf.NotAcceptable: "not_acceptable",
    drf.UnsupportedMediaType: "unsupported_media_type",
    drf.Throttled: "throttled",
    drf.ParseError: "parse_error",
}


# A part we depend on is unreachable (the database, or Redis where a request needs it): a 503 the client
# may retry, never a 500. Every write of a request is in a transaction, so nothing half-made is left.
UNAVAILABLE = (db.OperationalError, db.InterfaceError, redis.ConnectionError, redis.TimeoutError)
RETRY_AFTER_SECONDS = 5


def unavailable_response(exc: Exception) -> JsonResponse:
    log.warning("answered 503: a part we depend on is unreachable: %s", exc)
    body = error_body(
        "service_unavailable",
        "A part of the service is unreachable right now; nothing was changed. Retry shortly.",
    )
    return JsonResponse(body, status=503, headers={"Retry-After": str(RETRY_AFTER_SECONDS)})


def api_exception_handler(exc: Exception, context: dict) -> Response | None:
    if isinstance(exc, UNAVAILABLE):
        return unavailable_response(exc)
    if isinstance(exc, DomainError):  # with its headers, if it has any (e.g. Retry-After of a 429)
        body = error_body(exc.code, exc.message, exc.field, **exc.extra)
        return Response(body, status=exc.status, headers=getattr(exc, "headers", None))
    if isinstance(exc, SuspiciousOperation):
        return Response(*_refused_request(exc))
    if isinstance(exc, Http404):
        exc = drf.NotFound(str(exc) or "Not found.")
    elif isinstance(exc, PermissionDenied):
        exc = drf.PermissionDenied(str(exc) or "You do not have permission to perform this action.")
    response = drf_exception_handler(exc, context)
    if response is None:
        return None  # unhandled: ApiErrorMiddleware logs it and answers a bare 500
    if isinstance(exc, drf.ValidationError):
        field, message, code = _first_validation_error(exc.detail)
        response.data = error_body(code, message, field)
        response.data["error"]["details"] = exc.detail
        return response
    code = next((c for cls, c in _STATUS_CODES.items() if isinstance(exc, cls)), "error")
    detail = getattr(exc, "detail", str(exc))
    response.data = error_body(code, str(detail))
    return response


def _refused_request(exc: SuspiciousOperation) -> tuple[dict, int]:
    """A request Django refuses to read (too large, too many fields, a bad host...): the client's fault."""
    if isinstance(exc, RequestDataTooBig):  # a body over DATA_UPLOAD_MAX_MEMORY_SIZE
        return error_body("request_too_large", str(exc)), 413
    return error_body("bad_request", str(exc)), 400  # e.g. more fields than DATA_UPLOAD_MAX_NUMBER_FIELDS


def is_api_path(path: str) -> bool:
    return path.startswith("/v1/") or path == "/v1"


@csrf_exempt  # a POST to an unknown path is a 404 too, not CSRF's HTML 403: nothing is changed here
def api_not_found(request: HttpRequest, path: str = "") -> HttpResponse:
    """The last `/v1/` route: an unknown API path is a JSON 404, DEBUG on or off."""
    return JsonResponse(error_body("not_found", f"No such endpoint: {request.path}"), status=404)


def json_404(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if is_api_path(request.path):
        return JsonResponse(error_body("not_found", f"No such endpoint: {request.path}"), status=404)
    from django.views.defaults import page_not_found

    return page_not_found(request, exception, template_name="404.html")


def json_500(request: HttpRequest) -> HttpResponse:
    if is_api_path(request.path):
        return JsonResponse(
            error_body("server_error", "Something went wrong on our side; it has been logged."), status=500
        )
    from django.views.defaults import server_error

    return server_error(request, template_name="500.html")


class ApiErrorMiddleware(MiddlewareMixin):
    """Unhandled exceptions under /v1/ are logged with their traceback and answered 500 without one.

    A MiddlewareMixin, so that it works in both modes and keeps Django's ASGI chain async to the view."""

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not is_api_path(request.path) or isinstance(exception, Http404 | PermissionDenied):
            return None
        if isinstance(exception, SuspiciousOperation):  # in a plain view under /v1/ (the Twilio webhooks)
            body, status = _refused_request(exception)
            return JsonResponse(body, status=status)
        if isinstance(exception, UNAVAILABLE):
            return unavailable_response(exception)
        log.error("Unhandled API error on %s %s", request.method, request.path, exc_info=exception)
        return json_500(request)


def _null_character_refusal(request: HttpRequest) -> HttpResponse | None:
    """A URL with a NUL character (`%00`) is refused before any view: no id, filter or search term holds one,
    and PostgreSQL refuses NUL in any string it is sent, which would make each such lookup a 500."""
    query = request.META.get("QUERY_STRING", "")
    if "\x00" not in request.path and "%00" not in query and "\x00" not in query:  # runs on every request
        return None
    message = "Null characters are not allowed in the URL."
    if is_api_path(request.path):
        return JsonResponse(error_body("null_characters_not_allowed", message), status=400)
    return HttpResponse(message, status=400, content_type="text/plain; charset=utf-8")


@sync_and_async_middleware
def refuse_null_characters(get_response):
    if iscoroutinefunction(get_response):

        async def middleware(request: HttpRequest) -> HttpResponse:
            return _null_character_refusal(request) or await get_response(request)

    else:

        def middleware(request: HttpRequest) -> HttpResponse:
            return _null_character_refusal(request) or get_response(request)

    return middleware
