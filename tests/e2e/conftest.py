"""End-to-end fixtures: the real ASGI application on a real port, and Debian's Chromium through Playwright.

    def test_something(live_asgi_url, browser_page, alice):
        sign_in(browser_page, live_asgi_url, alice)
        browser_page.goto(f"{live_asgi_url}/calls/")
        screenshot(browser_page, "calls-list")

`live_asgi_url` (defined in tests/conftest.py, so websocket tests anywhere can use it) serves the real ASGI
application on a free port of 127.0.0.1.

Browser tests are marked `@pytest.mark.browser`. While Playwright's sync API is started, an asyncio loop
is running in the test's thread, and Django then refuses every ORM call from that thread
(SynchronousOnlyOperation, seen in practice). So each browser test starts its own Playwright and Chromium
(~0.5 s) and sets DJANGO_ALLOW_ASYNC_UNSAFE only while they run: the ORM calls are the test's own,
made between page steps, and every other test keeps Django's check.
"""

import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import _live_server_connections, live_asgi_url  # noqa: F401 -- where some tests import them from

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
def signed_in_page(browser_page, live_asgi_url) -> Callable:  # noqa: F811
    """`signed_in_page(alice)` returns the browser page with alice signed in on the live server."""

    def sign_in_as(user, password: str = PASSWORD):
        sign_in(browser_page, live_asgi_url, user, password)
        return browser_page

    return sign_in_as
