"""Every request has an id, so that whatever it did can be found again: the audit events it wrote (see
kernel/audit.py), the logs of the proxy in front, the client's own logs.

The middleware (first in MIDDLEWARE, so that even an early refusal carries it) takes the client's or the
proxy's `X-Request-ID` when it is sane (1 to 64 of letters, digits and `._:-`: it is stored and shown, so
nothing else is believed), makes one otherwise, puts it on the response and keeps it in a context variable
for the request's duration. asgiref copies context variables into the threads that run sync views under
ASGI, so a view or service on any thread reads the request's id. Outside a request (a Celery task, a
command) there is none; `request_id_current` then answers the running task's id, or ""."""

import re
import uuid
from collections.abc import Callable
from contextvars import ContextVar, Token

from asgiref.sync import iscoroutinefunction
from celery import current_task
from django.http import HttpRequest, HttpResponseBase
from django.utils.decorators import sync_and_async_middleware

REQUEST_ID_HEADER = "X-Request-ID"
REQUEST_ID_MAX_LENGTH = 64  # AuditEvent.request_id's length
_SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")

_request_id: ContextVar[str] = ContextVar("request_id", default="")


def request_id_for(request: HttpRequest) -> str:
    """The incoming `X-Request-ID` when it is sane, else a new one (32 hex digits)."""
    incoming = request.headers.get(REQUEST_ID_HEADER, "")
    if _SANE_REQUEST_ID.fullmatch(incoming):
        return incoming
    return uuid.uuid4().hex


def request_id_current() -> str:
    """The id of the request being served, else of the Celery task being run, else ""."""
    request_id = _request_id.get()
    if request_id:
        return request_id
    task_request = getattr(current_task, "request", None)  # no task: current_task proxies None
    return str(getattr(task_request, "id", None) or "")[:REQUEST_ID_MAX_LENGTH]


def _serving(request: HttpRequest) -> tuple[str, Token[str]]:
    request_id = request.request_id = request_id_for(request)
    return request_id, _request_id.set(request_id)


@sync_and_async_middleware
def request_id_middleware(get_response: Callable) -> Callable:
    if iscoroutinefunction(get_response):

        async def middleware(request: HttpRequest) -> HttpResponseBase:
            request_id, token = _serving(request)
            try:
                response = await get_response(request)
            finally:
                _request_id.reset(token)
            response[REQUEST_ID_HEADER] = request_id
            return response

    else:

        def middleware(request: HttpRequest) -> HttpResponseBase:
            request_id, token = _serving(request)
            try:
                response = get_response(request)
            finally:
                _request_id.reset(token)
            response[REQUEST_ID_HEADER] = request_id
            return response

    return middleware
