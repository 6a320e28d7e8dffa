"""Cross-site websocket hijacking, in a real Chromium: a page served from another port of the product's own
host opens `ws://<product>/ws/calls`. The browser sends the signed-in user's session cookie with it (a
cookie is not bound to a port), so only the Origin check stands between that page and the live feed,
calls' `context` included. It must refuse it (4403), while the product's own pages keep their socket."""

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from live.publisher import call_update_publish
from tests.factories import CallFactory
from tests.helpers import wait_for

pytestmark = pytest.mark.browser

# Opens the socket and records what happens to it in window.probe.
PROBE = """
(url) => {
  window.probe = {events: [], messages: []};
  const ws = new WebSocket(url);
  ws.onopen = () => window.probe.events.push("open");
  ws.onmessage = (event) => window.probe.messages.push(JSON.parse(event.data));
  ws.onclose = (event) => window.probe.events.push("close:" + event.code);
}
"""


def probe(page) -> dict:
    return page.evaluate("() => window.probe || {events: [], messages: []}")


def settled(page) -> dict | None:
    """The probe once its socket was closed or it received something (the product's CSP forbids the string
    predicates of `page.wait_for_function`, so the test polls)."""
    seen = probe(page)
    return seen if seen["messages"] or any(e.startswith("close") for e in seen["events"]) else None


@pytest.fixture
def foreign_site(live_asgi_url) -> Iterator[str]:
    """Another web server on another port of 127.0.0.1, whose page opens the product's /ws/calls."""
    socket_url = live_asgi_url.replace("http://", "ws://") + "/ws/calls"
    page = f"<!doctype html><title>elsewhere</title><script>({PROBE})({socket_url!r});</script>".encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 -- http.server's naming
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(page)))
            self.end_headers()
            self.wfile.write(page)

        def log_message(self, format: str, *args) -> None:  # noqa: A002 -- http.server's signature
            """Quiet: no request lines in the test output."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, name="foreign-site", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def publish_a_call_with_a_secret():
    call = CallFactory(context={"customer": "Jane Doe", "account": "4111-secret"})
    call_update_publish(call=call)
    return call


def test_a_page_on_another_port_of_the_same_host_cannot_read_the_signed_in_users_live_feed(
    live_asgi_url, foreign_site, signed_in_page, bob
):
    page = signed_in_page(bob)
    assert foreign_site.rsplit(":", 1)[1] != live_asgi_url.rsplit(":", 1)[1]

    page.goto(foreign_site)
    wait_for(lambda: probe(page)["events"], what="the foreign page's socket to open or close")
    publish_a_call_with_a_secret()
    seen = wait_for(lambda: settled(page), what="the foreign page's socket to be closed or fed")
    assert seen["messages"] == [], "another origin read the live feed"
    assert seen["events"][-1] == "close:4403", seen

    # The product's own page, same browser, same cookie: its socket works.
    page.goto(f"{live_asgi_url}/calls/")
    page.evaluate(PROBE, live_asgi_url.replace("http://", "ws://") + "/ws/calls")
    wait_for(lambda: "open" in probe(page)["events"], what="the product page's socket to open")
    call = publish_a_call_with_a_secret()
    seen = wait_for(lambda: settled(page), what="the product page's socket to be fed")
    assert seen["events"] == ["open"], seen
    assert seen["messages"][0]["call"]["id"] == call.public_id
