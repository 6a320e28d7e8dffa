"""The transport under every resource: the base URL and API key, timeouts, safe retries, error answers.

Retries, and why each is safe:
- a connection that could not be made (refused, or no connect within the timeout): nothing reached the
  server, so any request is sent again;
- 429 and 503: the server did nothing (a lockout or a rate limit; "nothing was changed" while a part it
  needs is down), so any request is sent again, after `Retry-After` when the server gives one, unless that
  wait is longer than `max_retry_wait` (a 15-minute lockout is raised at once);
- a dropped connection, a read timeout, any other 5xx: the server may have acted. Sent again only when
  repeating the request cannot do it twice: reads (GET), PATCH (our bodies set values, never add to them),
  DELETE (a repeat after a lost answer finds the object gone: NotFoundError), and a POST that carries an
  idempotency key (the server answers a repeat with the first result). The client
  adds a key to every call it creates, so a retry never places a second call; other POSTs (a campaign's
  upload, start, pause...) raise instead and let the caller look before trying again.
Waits grow exponentially from `backoff` seconds (with jitter), up to 10 s."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx

from wordcab_admin.client.errors import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    error_for_answer,
)

DEFAULT_BASE_URL = "http://127.0.0.1:8000"  # `make run`'s embedded server
DEFAULT_TIMEOUT = 30.0  # seconds for each read and write; connecting gets CONNECT_TIMEOUT
CONNECT_TIMEOUT = 5.0
DEFAULT_MAX_RETRIES = 3
DEFAULT_BACKOFF = 0.5
DEFAULT_MAX_RETRY_WAIT = 60.0
MAX_BACKOFF = 10.0
REPEATABLE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "PATCH", "DELETE"})
NOTHING_DONE_STATUSES = frozenset({429, 503})  # the server says it did nothing: always retried
MAYBE_DONE_STATUSES = frozenset({500, 502, 504})  # retried only when repeating is harmless


def api_root(base_url: str) -> str:
    """`http://host:8000`, `http://host:8000/` and `http://host:8000/v1` all name the same API root."""
    root = base_url.strip().rstrip("/")
    if root.endswith("/v1"):
        root = root[: -len("/v1")]
    if not root.startswith(("http://", "https://")):
        raise ValueError(f"base_url {base_url!r}: expected http://host[:port] or https://host")
    return root


class Transport:
    def __init__(
        self,
        *,
        base_url: str,
        api_key: str,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        backoff: float = DEFAULT_BACKOFF,
        max_retry_wait: float = DEFAULT_MAX_RETRY_WAIT,
        user_agent: str = "wordcab-admin-client",
        http_client: httpx.Client | None = None,
    ):
        if not isinstance(timeout, httpx.Timeout):
            timeout = httpx.Timeout(timeout, connect=min(CONNECT_TIMEOUT, timeout))
        self.base_url = api_root(base_url)
        self.max_retries, self.backoff, self.max_retry_wait = max_retries, backoff, max_retry_wait
        self._http = http_client or httpx.Client(timeout=timeout)
        self._owns_http = http_client is None
        self._headers = {
            "Authorization": f"Bearer {api_key}",
            "Accept": "application/json",
            "User-Agent": user_agent,
        }

    def close(self) -> None:
        if self._owns_http:
            self._http.close()

    def url(self, path: str) -> str:
        return f"{self.base_url}/v1{path}"

    def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json: Any = None,
        data: dict[str, Any] | None = None,
        files: dict[str, Any] | None = None,
        idempotent: bool = False,
    ) -> httpx.Response:
        """Send, retrying as the module says; the answer when it is a success, else its APIError.
        `idempotent`: a POST that the server deduplicates (it carries an idempotency key). A file in
        `files` is sent from its start each time (httpx seeks it back)."""

        def build() -> httpx.Request:
            return self._http.build_request(
                method, self.url(path), params=_query(params), json=json, data=data, files=files,
                headers=self._headers,
            )  # fmt: skip

        response = self._send(build, repeatable=idempotent or method in REPEATABLE_METHODS, stream=False)
        return _checked(response)

    @contextmanager
    def stream(self, path: str, *, params: dict[str, Any] | None = None) -> Iterator[httpx.Response]:
        """A GET whose body is read as it arrives (`response.iter_bytes()`); its errors raised first."""

        def build() -> httpx.Request:
            return self._http.build_request(
                "GET", self.url(path), params=_query(params), headers=self._headers
            )

        response = self._send(build, repeatable=True, stream=True)
        try:
            if response.is_error:
                response.read()
                _checked(response)
            yield response
        except httpx.TransportError as exc:  # the connection dropped mid-body
            raise _connection_error(exc) from exc
        finally:
            response.close()

    def _send(self, build: Callable[[], httpx.Request], *, repeatable: bool, stream: bool) -> httpx.Response:
        attempt = 0
        while True:
            try:
                response = self._http.send(build(), stream=stream)
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:  # nothing reached the server
                if attempt >= self.max_retries:
                    raise _connection_error(exc) from exc
                self._pause(attempt, None)
            except httpx.TransportError as exc:  # sent, but no answer: the server may have acted
                if not repeatable or attempt >= self.max_retries:
                    raise _connection_error(exc) from exc
                self._pause(attempt, None)
            else:
                if not self._retry_answer(response, attempt=attempt, repeatable=repeatable):
                    return response
                response.close()
            attempt += 1

    def _retry_answer(self, response: httpx.Response, *, attempt: int, repeatable: bool) -> bool:
        """Whether to send again after this answer (and, if so, after waiting as long as it asks)."""
        status = response.status_code
        if attempt >= self.max_retries:
            return False
        if status not in NOTHING_DONE_STATUSES and not (repeatable and status in MAYBE_DONE_STATUSES):
            return False
        retry_after = _retry_after(response)
        if retry_after is not None and retry_after > self.max_retry_wait:
            return False  # longer than the caller wants to wait: raise, with retry_after in the error
        self._pause(attempt, retry_after)
        return True

    def _pause(self, attempt: int, retry_after: float | None) -> None:
        if retry_after is None:
            retry_after = min(MAX_BACKOFF, self.backoff * 2**attempt) * random.uniform(0.5, 1.0)  # noqa: S311
        time.sleep(retry_after)


def _query(params: dict[str, Any] | None) -> dict[str, Any] | None:
    """Leave out filters not given; a list is sent as one comma-separated value, as the API's filters take."""
    if not params:
        return None
    query: dict[str, Any] = {}
    for name, value in params.items():
        if value is None:
            continue
        if isinstance(value, Iterable) and not isinstance(value, str | bytes):
            value = ",".join(str(v) for v in value)
        elif isinstance(value, bool):
            value = "true" if value else "false"
        query[name] = value
    return query


def _retry_after(response: httpx.Response) -> float | None:
    raw = response.headers.get("Retry-After", "").strip()
    try:
        return max(0.0, float(raw)) if raw else None
    except ValueError:  # an HTTP date: not something our server sends; fall back to the backoff
        return None


def _checked(response: httpx.Response) -> httpx.Response:
    if not response.is_error:
        return response
    try:
        body = response.json()
    except ValueError:
        body = None
    error = error_for_answer(
        response.status_code,
        body,
        request_id=response.headers.get("X-Request-ID"),
        reason=response.reason_phrase,
    )
    retry_after = _retry_after(response)
    if retry_after is not None:
        error.details.setdefault("retry_after", retry_after)
    raise error


def _connection_error(exc: httpx.TransportError) -> APIError:
    if isinstance(exc, httpx.TimeoutException):
        return APITimeoutError(f"No answer in time: {exc or type(exc).__name__}", code="timeout")
    return APIConnectionError(
        f"Could not talk to the server: {exc or type(exc).__name__}", code="connection_error"
    )
