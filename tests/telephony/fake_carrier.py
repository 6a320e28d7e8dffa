"""The plumbing of a local fake carrier HTTP API (fake_twilio.py, fake_telnyx.py, fake_plivo.py): a server
on a free port of 127.0.0.1 in a thread of its own, for a carrier's real SDK pointed at `base_url`; every
request recorded in `requests`; queued answers in `next_status` before the carrier's own. A subclass gives
only its API's shape: how a body reads, what it answers."""

from __future__ import annotations

import json
import threading
from abc import ABC, abstractmethod
from email.message import Message
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar, Self

Answer = tuple[int, dict | None]  # the HTTP status and the JSON body (None: no body)


class FakeCarrier(ABC):
    """One fake carrier API, started with `start()` and stopped with `stop()` by the test that uses it."""

    api_root: ClassVar[str] = ""  # the path the SDK's base URL ends in, as the carrier's own does
    methods: ClassVar[tuple[str, ...]] = ("POST",)  # others answered 501, as by a server that lacks them

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.next_status: list[Answer] = []  # answers to give first, in order, whatever the request
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{self.api_root}"

    def start(self) -> Self:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def body_read(self, raw: bytes) -> dict[str, object]:
        """The request body as recorded, under a key that names its encoding: JSON unless overridden."""
        return {"json": json.loads(raw) if raw else {}}

    @abstractmethod
    def answer(self, request: dict) -> Answer:
        """The carrier's answer to `request` (as recorded) when none is queued."""

    def _serve(self, method: str, path: str, headers: Message, raw: bytes) -> Answer:
        """Record the request, then answer it: a queued answer first, so that a test can make the carrier
        fail its next request whatever that is."""
        request = {
            "method": method,
            "path": path,
            "auth": headers.get("Authorization"),
            "content_type": headers.get("Content-Type"),
            **self.body_read(raw),
        }
        self.requests.append(request)
        return self.next_status.pop(0) if self.next_status else self.answer(request)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                return None

            def do_POST(self) -> None:
                self._respond("POST")

            def do_DELETE(self) -> None:
                self._respond("DELETE")

            def _respond(self, method: str) -> None:
                if method not in fake.methods:
                    self.send_error(HTTPStatus.NOT_IMPLEMENTED, f"Unsupported method ({method!r})")
                    return
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                status, answer = fake._serve(method, self.path, self.headers, raw)
                payload = json.dumps(answer).encode() if answer is not None else b""
                self.send_response(status)
                if payload:
                    self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        return Handler
