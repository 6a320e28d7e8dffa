"""`Client`: the API's resources over one connection pool."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable

import httpx

from wordcab_admin.client._http import (
    DEFAULT_BACKOFF,
    DEFAULT_BASE_URL,
    DEFAULT_MAX_RETRIES,
    DEFAULT_MAX_RETRY_WAIT,
    DEFAULT_TIMEOUT,
    Transport,
)
from wordcab_admin.client.models import CALL_TERMINAL_STATUSES, APIObject, Call
from wordcab_admin.client.resources.agents import Agents
from wordcab_admin.client.resources.calls import Calls
from wordcab_admin.client.resources.campaigns import Campaigns
from wordcab_admin.client.resources.compliance import AuditEvents, DoNotCall
from wordcab_admin.client.resources.numbers import Numbers

VERSION = "0.1.0"


class Client:
    """`Client(base_url="http://127.0.0.1:8000", api_key="wck_…")`; either may come from the environment
    instead (`WORDCAB_BASE_URL`, `WORDCAB_API_KEY`). Keys are made with `manage.py create_api_key <user>`
    or under Settings, and carry their user's role.

    `timeout`: seconds to wait for each read or write (connecting: at most 5 s). `max_retries`: how many
    times a request that may safely be repeated is sent again after a dropped connection, a 429 or a
    5xx, waiting `backoff` seconds, then twice as long each time (or the server's `Retry-After`, when it
    is at most `max_retry_wait`). Use it as a context manager, or `close()` it, to free its connections."""

    def __init__(
        self,
        base_url: str | None = None,
        api_key: str | None = None,
        *,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        backoff: float = DEFAULT_BACKOFF,
        max_retry_wait: float = DEFAULT_MAX_RETRY_WAIT,
        http_client: httpx.Client | None = None,
    ):
        base_url = base_url or os.environ.get("WORDCAB_BASE_URL") or DEFAULT_BASE_URL
        api_key = api_key or os.environ.get("WORDCAB_API_KEY")
        if not api_key:
            raise ValueError("No API key: pass api_key= or set WORDCAB_API_KEY")
        self._transport = Transport(
            base_url=base_url, api_key=api_key, timeout=timeout, max_retries=max_retries, backoff=backoff,
            max_retry_wait=max_retry_wait, user_agent=f"wordcab-admin-client/{VERSION}", http_client=http_client,
        )  # fmt: skip
        self.base_url = self._transport.base_url
        self.agents = Agents(self._transport)
        self.calls = Calls(self._transport)
        self.campaigns = Campaigns(self._transport)
        self.numbers = Numbers(self._transport)
        self.do_not_call = DoNotCall(self._transport)
        self.audit_events = AuditEvents(self._transport)

    def me(self) -> APIObject:
        """Whose key this is: `username`, `role`, `capabilities`."""
        return APIObject(self._transport.request("GET", "/me").json())

    def wait_for(
        self,
        call_id: str,
        statuses: Iterable[str] = CALL_TERMINAL_STATUSES,
        timeout: float | None = 300.0,
        *,
        recording: bool = False,
        poll_interval: float = 1.0,
        on_update: Callable[[Call], None] | None = None,
    ) -> Call:
        """`client.calls.wait_for`: the call once its status is one of `statuses` (by default, once it ended)."""
        return self.calls.wait_for(
            call_id, statuses, timeout, recording=recording, poll_interval=poll_interval, on_update=on_update
        )

    def close(self) -> None:
        self._transport.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<wordcab_admin.client.Client {self.base_url}>"
