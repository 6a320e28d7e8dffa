"""The calls list and the call page follow a call live in Chromium (their markup belongs to the calls pages;
static/js/live.js feeds them from /ws/calls): no reload, no polling."""

import pytest
from playwright.sync_api import expect

from calls.models import CallStatus
from calls.services import call_create
from tests.e2e.conftest import screenshot
from tests.e2e.test_wallboard import open_live, place_call_through_the_api, status_of
from tests.helpers import wait_for

pytestmark = pytest.mark.browser


def test_a_new_call_appears_on_the_calls_list_and_its_row_follows_it_to_the_end(
    live_asgi_url, signed_in_page, alice, agent, celery_worker_thread, settings
):
    settings.SIMULATOR_SPEED = 5
    page = signed_in_page(alice)
    open_live(page, f"{live_asgi_url}/calls/")

    call_id = place_call_through_the_api(live_asgi_url, alice, agent.public_id, "+14155550184")

    row = page.locator(f"#call-row-{call_id}")
    expect(row).to_be_visible()
    expect(row.locator(".badge")).to_have_text("Voicemail", timeout=20_000)  # its outcome, not "Completed"
    assert page.evaluate("window.__sameDocument") is True
    screenshot(page, "calls-list-live")


def test_the_call_page_moves_through_the_lifecycle_without_a_reload(
    live_asgi_url, signed_in_page, alice, agent, celery_worker_thread, settings
):
    settings.SIMULATOR_SPEED = 2  # rings 1-2 s, talks 1.5-3 s: long enough to watch it
    call, _ = call_create(agent=agent, to_number="+14155550123", actor=alice)
    page = signed_in_page(alice)
    open_live(page, f"{live_asgi_url}/calls/{call.public_id}/")

    badge = page.locator("#call-detail [data-call-status]")
    expect(badge).to_have_text("In Progress", timeout=20_000)
    expect(badge).to_have_text("Completed", timeout=20_000)
    wait_for(
        lambda: status_of(call.public_id) == CallStatus.COMPLETED, timeout=5, what="the call to complete"
    )
    expect(page.locator("#call-detail")).to_contain_text("end_reason hangup")
    assert page.evaluate("window.__sameDocument") is True
    screenshot(page, "call-page-live")
