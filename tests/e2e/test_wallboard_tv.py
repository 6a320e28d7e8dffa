"""The wallboard for a supervisor's day (issue #18, items 5, 11 and 12) in a real Chromium: TV mode (large type,
no navigation, reconnects by itself), the metrics and the outcome labels updated live, a quiet chart that
says so, and the call page's duration ticking while the call is live."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from calls.models import CallStatus
from live.metrics import metrics_cache_clear
from tests.e2e.conftest import screenshot, sign_in
from tests.e2e.test_wallboard import fast_simulator, open_live, place_call_through_the_api  # noqa: F401
from tests.factories import CallFactory, number_inside_calling_hours
from tests.helpers import wait_for

pytestmark = pytest.mark.browser

TV = {"width": 1920, "height": 1080}
ROOT_FONT_PX = "() => parseFloat(getComputedStyle(document.documentElement).fontSize)"


@pytest.fixture(autouse=True)
def fresh_metrics():
    metrics_cache_clear()
    yield
    metrics_cache_clear()


def test_tv_mode_is_full_screen_large_type_without_navigation_and_reconnects_by_itself(
    live_asgi_url, browser, bob, agent, tmp_path
):
    CallFactory(agent=agent, status=CallStatus.COMPLETED, answered_at=timezone.now(), ended_at=timezone.now())
    context = browser.new_context(viewport=TV)
    page = context.new_page()
    sign_in(page, live_asgi_url, bob)
    open_live(page, f"{live_asgi_url}/")
    desk_font = page.evaluate(ROOT_FONT_PX)
    open_live(page, f"{live_asgi_url}/tv/")
    expect(page.locator("[data-live-status]")).to_have_text("Live")
    assert page.locator("nav.mainnav").count() == 0  # no navigation
    assert page.locator("header.topbar").count() == 0
    assert page.evaluate(ROOT_FONT_PX) >= 1.4 * desk_font  # large type, for the far end of the room
    expect(page.locator('[data-metric="answer_rate"]')).to_have_text("100 %")
    expect(page.get_by_role("button", name="Full screen")).to_be_visible()
    assert re.fullmatch(r"\d\d:\d\d( [AP]M)?", page.locator("[data-tv-clock]").inner_text())
    assert page.evaluate("document.documentElement.scrollWidth") <= TV["width"]
    page.screenshot(path=str(tmp_path / "tv-mode.png"))
    screenshot(page, "tv-mode", full_page=False)

    # The network drops: nobody touches the screen, and it comes back, with what happened meanwhile.
    page.evaluate("window.wordcabLive.interrupt()")
    expect(page.locator("[data-live-status]")).to_have_text("Reconnecting…")
    expect(page.locator("#live-banner button")).to_be_hidden()  # nobody at the wall to press "Reconnect now"
    CallFactory(agent=agent, status=CallStatus.RINGING)  # made while the screen was away: no live message
    expect(page.locator("[data-live-status]")).to_have_text("Live", timeout=15_000)
    expect(page.locator('[data-count="ringing"]')).to_have_text("1")
    expect(page.locator("[data-waiting]")).to_have_text("1")
    assert page.evaluate("window.__sameDocument") is True  # reconnected and resynced, not reloaded
    context.close()


def test_a_busy_call_shows_as_busy_and_moves_the_metrics_live(
    live_asgi_url,
    signed_in_page,
    alice,
    agent,
    celery_worker_thread,
    fast_simulator,  # noqa: F811
):
    page = signed_in_page(alice)
    open_live(page, f"{live_asgi_url}/")
    expect(page.locator("[data-cpm-quiet]")).to_have_text("No calls in the last hour")
    expect(page.locator("[data-cpm-busy]")).to_be_hidden()
    expect(page.locator('[data-metric="calls"]')).to_have_text("0")

    call_id = place_call_through_the_api(
        live_asgi_url, alice, agent.public_id, number_inside_calling_hours("0163")
    )
    ended = page.locator(f"#ended-calls #live-call-{call_id} .badge")
    expect(ended).to_have_text("Busy", timeout=20_000)  # as every page names it, never "No Answer"
    expect(page.locator("[data-cpm-busy]")).to_be_visible()  # the chart has a call now
    expect(page.locator("[data-cpm-quiet]")).to_be_hidden()
    # the metrics follow within seconds, without a reload
    expect(page.locator('[data-metric="calls"]')).to_have_text("1", timeout=15_000)
    expect(page.locator('[data-metric="answer_rate"]')).to_have_text("0 %", timeout=15_000)
    expect(page.locator(f'#metrics-agents tr[data-agent-id="{agent.public_id}"] td').nth(1)).to_have_text("1")
    assert page.evaluate("window.__sameDocument") is True
    screenshot(page, "wallboard-busy-call-and-metrics")


def test_the_call_pages_duration_ticks_while_the_call_is_live(live_asgi_url, signed_in_page, bob):
    call = CallFactory(status=CallStatus.IN_PROGRESS, answered_at=timezone.now() - timedelta(seconds=65))
    page = signed_in_page(bob)
    open_live(page, f"{live_asgi_url}/calls/{call.public_id}/")
    clock = page.locator("[data-live-duration] [data-live-clock]")
    expect(clock).to_have_text(re.compile(r"1:0[5-9]"))
    first = clock.inner_text()
    wait_for(lambda: clock.inner_text() != first, timeout=3, what="the call's duration to tick")
    expect(page.locator("[data-live-duration]")).to_contain_text("talking so far")
