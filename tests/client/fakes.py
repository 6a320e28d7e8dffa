"""Stand-ins for what a real server cannot be made to do on demand: fail with a 5xx, hang without answering,
or lose a connection after acting on the request. Each runs on 127.0.0.1 in a thread of the test."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit


@dataclass
class Answer:
    status: int
    body: object = None  # JSON; a str is sent as it is (text/html)
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class ScriptedServer:
    """Answers the requests in order with `answers` (the last one again once they run out), and keeps each
    request it got as (method, path)."""

    answers: list[Answer]
    requests: list[tuple[str, str]] = field(default_factory=list)
    url: str = ""


@contextmanager
def scripted_server(*answers: Answer) -> Iterator[ScriptedServer]:
    state = ScriptedServer(list(answers))

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            self.rfile.read(length)
            state.requests.append((self.command, self.path))
            answer = state.answers[min(len(state.requests), len(state.answers)) - 1]
            text = answer.body if isinstance(answer.body, str) else json.dumps(answer.body)
            payload = text.encode()
            self.send_response(answer.status)
            kind = "text/html" if isinstance(answer.body, str) else "application/json"
            for name, value in {"Content-Type": kind, **answer.headers}.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_PATCH = do_DELETE = _answer

        def log_message(self, *_args: object) -> None:  # quiet
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="scripted-server", daemon=True
    )
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@contextmanager
def silent_server() -> Iterator[str]:
    """Accepts connections and reads requests, and never answers: for timeouts."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.05)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
            except TimeoutError:
                continue
            held.append(connection)

    thread = threading.Thread(target=accept, name="silent-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        thread.join(timeout=5)
        for connection in held:
            connection.close()
        listener.close()


def unused_port_url() -> str:
    """A URL where nothing listens (the port was free a moment ago): every connection is refused."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}"


class DroppingProxy:
    """A TCP proxy in front of `upstream` that loses the answer of the first `drops` connections: it relays
    the request, waits for the server's answer to begin, and closes the client's connection without passing
    the answer on. The server has acted; the client sees a connection dropped with no answer. Later
    connections are relayed both ways."""

    def __init__(self, upstream: str, *, drops: int = 1):
        parts = urlsplit(upstream)
        self.upstream = (parts.hostname or "127.0.0.1", parts.port or 80)
        self.drops = drops
        self.connections = 0
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.05)  # so that the accepting loop sees `_stopped` soon
        self._stopped = threading.Event()
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        self._thread = threading.Thread(target=self._serve, name="dropping-proxy", daemon=True)

    def __enter__(self) -> DroppingProxy:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stopped.set()
        self._thread.join(timeout=5)
        self._listener.close()

    def _serve(self) -> None:
        while not self._stopped.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            client.settimeout(None)
            self.connections += 1
            drop = self.connections <= self.drops
            threading.Thread(target=self._handle, args=(client, drop), daemon=True).start()

    def _handle(self, client: socket.socket, drop: bool) -> None:
        server = socket.create_connection(self.upstream)
        if drop:
            with client, server:
                server.sendall(_read_request(client))
                server.recv(1)  # the server answered: it has acted on the request
            return
        relays = [
            threading.Thread(target=_relay, args=(client, server), daemon=True),
            threading.Thread(target=_relay, args=(server, client), daemon=True),
        ]
        for relay in relays:
            relay.start()
        for relay in relays:
            relay.join()
        client.close()
        server.close()


def _read_request(connection: socket.socket) -> bytes:
    """One whole HTTP request: its head, then Content-Length bytes of body."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = connection.recv(65536)
        if not chunk:
            return data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(body) < length:
        chunk = connection.recv(65536)
        if not chunk:
            break
        body += chunk
    return head + b"\r\n\r\n" + body


def _relay(source: socket.socket, target: socket.socket) -> None:
    try:
        while chunk := source.recv(65536):
            target.sendall(chunk)
        target.shutdown(socket.SHUT_WR)
    except OSError:
        return
