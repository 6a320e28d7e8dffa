"""When the live feed loses Redis, the pages say so and catch up afterwards, in a real Chromium: the server
closes the socket with 4503, the page shows "Live updates interrupted — reconnecting…", retries with
backoff (not in a tight loop) while Redis is down, and once Redis is back it is live again (notice gone)
and shows the calls made during the outage without a reload (every reconnect resyncs, the refused
attempts during the outage included), and later calls arrive over the socket again.

The channel layer is a private redis-server (tests/live/private_redis.py), killed with SIGKILL and
started again on the same port."""

import pytest
from playwright.sync_api import expect

from calls.models import Call, CallStatus
from live.publisher import call_update_publish, live_events_flush
from tests.e2e.conftest import screenshot
from tests.helpers import wait_for
from tests.live.private_redis import layer_on_private_redis, private_redis  # noqa: F401 -- fixtures

pytestmark = pytest.mark.browser

NOTICE = "Live updates interrupted — reconnecting…"
OUTAGE_MS = 6_000  # how long Redis stays down while the page retries
# The backoff (0.5 s doubling, jitter down to half) allows 4 attempts in 6 s, at 0.25, 0.75, 1.75 and
# 3.75 s at the earliest; a loop that every refused open reset to the first delay makes 12 or more.
MOST_ATTEMPTS = 5
BACK_WITHIN_MS = 20_000  # the backoff's next attempt (at most 8 s after this outage) plus the resync


def open_live(page, url: str) -> None:
    page.goto(url)
    # Polled from the test: the product's Content-Security-Policy refuses `page.wait_for_function`'s eval.
    live = "!!(window.wordcabLive && window.wordcabLive.connected() && window.wordcabLive.synced())"
    wait_for(lambda: page.evaluate(live), what="the page's live connection to be open and synced")
    page.evaluate("window.__sameDocument = true")  # gone if the page ever reloads


def call_announced(agent, phone_number: str) -> Call:
    """A new call, announced as the product announces one after its commit (lost while Redis is down)."""
    call = Call.objects.create(agent=agent, to_number=phone_number, status=CallStatus.RINGING)
    call_update_publish(call=call)
    live_events_flush()
    return call


def kill_redis_and_see_the_notice(page, redis) -> list[object]:
    """Kill Redis; the notice shows at once. Returns the list that records, from the kill on, every socket
    the page opens."""
    attempts: list[object] = []

    def opened(socket) -> None:
        attempts.append(socket)

    page.on("websocket", opened)
    redis.kill()
    banner = page.locator("#live-banner")
    expect(banner).to_be_visible()
    expect(banner).to_contain_text(NOTICE)
    expect(banner).to_be_in_viewport()
    return attempts


def test_the_wallboard_shows_the_outage_and_then_the_call_made_meanwhile_without_a_reload(
    live_asgi_url,
    layer_on_private_redis,  # noqa: F811 -- the fixture imported above
    signed_in_page,
    alice,
    agent,
):
    page = signed_in_page(alice)
    open_live(page, f"{live_asgi_url}/")
    expect(page.locator("[data-live-status]")).to_have_text("Live")

    attempts = kill_redis_and_see_the_notice(page, layer_on_private_redis)
    expect(page.locator("[data-live-status]")).to_have_text("Reconnecting…")
    screenshot(page, "wallboard-live-interrupted", full_page=False)
    during = call_announced(agent, "+14155550142")
    page.wait_for_timeout(OUTAGE_MS)  # Redis stays down; the page keeps trying (events pumped meanwhile)
    assert 1 <= len(attempts) <= MOST_ATTEMPTS, f"{len(attempts)} connection attempts in {OUTAGE_MS} ms"
    expect(page.locator("#live-banner")).to_contain_text(NOTICE)  # each attempt was told 4503 again

    layer_on_private_redis.start()  # on the same port, empty
    expect(page.locator("#live-banner")).to_be_hidden(timeout=BACK_WITHIN_MS)
    expect(page.locator("[data-live-status]")).to_have_text("Live")
    expect(page.locator(f"#active-calls #live-call-{during.public_id}")).to_be_visible()
    expect(page.locator('[data-count="ringing"]')).to_have_text("1")

    after = call_announced(agent, "+14155550143")  # and the socket is fed again
    expect(page.locator(f"#active-calls #live-call-{after.public_id}")).to_be_visible()
    expect(page.locator('[data-count="ringing"]')).to_have_text("2")
    assert page.evaluate("window.__sameDocument") is True
    screenshot(page, "wallboard-live-after-outage")


def test_the_calls_list_shows_the_outage_and_then_the_call_made_meanwhile_without_a_reload(
    live_asgi_url,
    layer_on_private_redis,  # noqa: F811 -- the fixture imported above
    signed_in_page,
    alice,
    agent,
):
    before = call_announced(agent, "+14155550141")
    page = signed_in_page(alice)
    open_live(page, f"{live_asgi_url}/calls/")
    expect(page.locator(f"#call-row-{before.public_id}")).to_be_visible()

    attempts = kill_redis_and_see_the_notice(page, layer_on_private_redis)
    during = call_announced(agent, "+14155550142")
    page.wait_for_timeout(OUTAGE_MS)
    assert 1 <= len(attempts) <= MOST_ATTEMPTS, f"{len(attempts)} connection attempts in {OUTAGE_MS} ms"

    layer_on_private_redis.start()
    expect(page.locator("#live-banner")).to_be_hidden(timeout=BACK_WITHIN_MS)
    expect(page.locator(f"#call-row-{during.public_id}")).to_be_visible()
    rows = page.locator("#call-rows > tr")
    expect(rows.first).to_have_id(f"call-row-{during.public_id}")  # newest first, above the one before
    expect(rows).to_have_count(2)

    after = call_announced(agent, "+14155550143")
    expect(rows.first).to_have_id(f"call-row-{after.public_id}")
    expect(rows).to_have_count(3)
    assert page.evaluate("window.__sameDocument") is True
