"""End-to-end fixtures: the real ASGI application on a real port, and Debian's Chromium through Playwright.

    def test_something(live_asgi_url, browser_page, alice):
        sign_in(browser_page, live_asgi_url, alice)
        browser_page.goto(f"{live_asgi_url}/calls/")
        screenshot(browser_page, "calls-list")

`live_asgi_url` serves `wordcab_admin.asgi.application` (HTTP and websockets) with uvicorn in a thread of
the test process, against the test database (`transactional_db`: rows the test writes are committed, so the
server's threads see them). Websocket tests use it too: `ws://` + the URL without its `http://`.

Browser tests are marked `@pytest.mark.browser`. While Playwright's sync API is started, an asyncio loop
is running in the test's thread, and Django then refuses every ORM call from that thread
(SynchronousOnlyOperation, seen in practice). So each browser test starts its own Playwright and Chromium
(~0.5 s) and sets DJANGO_ALLOW_ASYNC_UNSAFE only while they run: the ORM calls are the test's own,
made between page steps, and every other test keeps Django's check.
"""

import re
import socket
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PASSWORD = "correct horse battery staple"  # what tests/factories.py UserFactory sets


@pytest.fixture(scope="session")
def _live_server_connections(django_db_setup, django_db_blocker) -> Iterator[None]:
    """At the end of the session, before the test database is dropped, end the database sessions that
    the live server's request threads left open (each request runs in a thread of its own that Django
    does not close on exit); PostgreSQL would otherwise refuse to drop a database still in use."""
    yield
    from django.db import connection

    with django_db_blocker.unblock():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )


@pytest.fixture
def live_asgi_url(_live_server_connections, transactional_db) -> Iterator[str]:
    """Base URL (`http://127.0.0.1:<port>`) of the ASGI app served by uvicorn in a background thread."""
    import uvicorn

    from wordcab_admin.asgi import application

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))  # bound here, handed to uvicorn: no race for the port
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        application,
        lifespan="off",
        log_level="warning",
        access_log=False,
        ws="websockets-sansio",
        timeout_graceful_shutdown=5,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="live-asgi", daemon=True)
    thread.start()
    from tests.helpers import wait_for

    wait_for(lambda: server.started or not thread.is_alive(), timeout=15, what="uvicorn to start")
    if not server.started:
        raise RuntimeError("uvicorn did not start; see the log above")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        sock.close()
        assert not thread.is_alive(), "uvicorn did not shut down within 15 s"


@pytest.fixture
def browser(monkeypatch) -> Iterator[object]:
    """Debian's Chromium, headless, for one test (never a downloaded browser)."""
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `apt-get install -y chromium`")
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # see the module docstring
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def browser_page(browser, request) -> Iterator[object]:
    """A fresh page (own cookies) at a laptop size; on failure its screenshot lands in artifacts/."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.set_default_timeout(10_000)
    page = context.new_page()
    yield page
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        screenshot(page, f"FAILED-{request.node.name}")
    context.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


def screenshot(page, name: str, *, full_page: bool = True) -> Path:
    """Save the page as artifacts/<name>.png (kept after the run; artifacts/ is gitignored)."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{re.sub(r'[^A-Za-z0-9_.-]+', '-', name)}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path


def sign_in(page, base_url: str, user, password: str = PASSWORD) -> None:
    """Sign `user` in through the login form and wait until the browser has left the login page."""
    page.goto(f"{base_url}/login/")
    page.get_by_label("Username").fill(user.get_username())
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/login/" not in url)


@pytest.fixture
def signed_in_page(browser_page, live_asgi_url) -> Callable:
    """`signed_in_page(alice)` returns the browser page with alice signed in on the live server."""

    def sign_in_as(user, password: str = PASSWORD):
        sign_in(browser_page, live_asgi_url, user, password)
        return browser_page

    return sign_in_as
