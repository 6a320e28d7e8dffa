"""The wallboard and the campaign page in a real Chromium, fed by the real simulator through a real Celery
worker, Redis and /ws/calls: calls appear and finish without a reload, and a dropped socket misses nothing."""

import json
import urllib.request

import pytest
from django.template.loader import render_to_string
from playwright.sync_api import expect

from calls.models import Call, CallStatus
from calls.services import call_create
from campaigns.models import Campaign, CampaignStatus
from tests.e2e.conftest import screenshot
from tests.helpers import apply_event, wait_for
from wordcab_admin.kernel.accounts import api_key_create

pytestmark = pytest.mark.browser


@pytest.fixture
def fast_simulator(settings):
    settings.SIMULATOR_SPEED = 10  # a call rings, talks and ends within about a second


def place_call_through_the_api(base_url: str, user, agent_id: str, phone_number: str) -> str:
    _, raw = api_key_create(user=user, name="e2e")
    request = urllib.request.Request(  # noqa: S310 -- http to our own live test server
        f"{base_url}/v1/agents/{agent_id}/calls",
        data=json.dumps({"phone_number": phone_number}).encode(),
        headers={"Authorization": f"Bearer {raw}", "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 -- our own live test server
        assert response.status == 201
        return json.loads(response.read())["id"]


def open_live(page, url: str) -> None:
    page.goto(url)
    # Polled from the test: the product's Content-Security-Policy refuses `page.wait_for_function`'s eval.
    live = "!!(window.wordcabLive && window.wordcabLive.connected() && window.wordcabLive.synced())"
    wait_for(lambda: page.evaluate(live), what="the page's live connection to be open and synced")
    page.evaluate("window.__sameDocument = true")  # gone if the page ever reloads


def status_of(call_id: str) -> str:
    return Call.objects.get(public_id=call_id).status


def server_badge(status: CallStatus) -> str:
    """The status badge as the server renders it in every call row (calls/_status_badge.html)."""
    return render_to_string("calls/_status_badge.html", {"status": status.value, "label": status.label})


def test_a_call_placed_through_the_api_appears_and_completes_on_the_wallboard_without_a_reload(
    live_asgi_url, signed_in_page, alice, agent, celery_worker_thread, fast_simulator
):
    page = signed_in_page(alice)
    open_live(page, f"{live_asgi_url}/")
    expect(page.locator("[data-live-status]")).to_have_text("Live")

    call_id = place_call_through_the_api(live_asgi_url, alice, agent.public_id, "+14155550123")

    row = page.locator(f"#live-call-{call_id}")
    expect(row).to_be_visible()
    expect(row).to_contain_text("Reminder bot")
    ended = page.locator(f"#ended-calls #live-call-{call_id}")
    expect(ended.locator(".badge")).to_have_text(CallStatus.COMPLETED.label, timeout=20_000)
    assert ended.locator(".badge").evaluate("el => el.outerHTML") == server_badge(CallStatus.COMPLETED)
    expect(page.locator('[data-count="completed"]')).to_have_text("1")
    expect(page.locator('[data-count="ringing"]')).to_have_text("0")
    expect(page.locator('[data-count="in_progress"]')).to_have_text("0")
    expect(page.locator("#active-calls tr")).to_have_count(0)
    expect(page.locator(f'#occupancy li[data-agent-id="{agent.public_id}"] [data-agent-today]')).to_have_text(
        "1"
    )
    assert page.evaluate("window.__sameDocument") is True
    assert status_of(call_id) == CallStatus.COMPLETED
    screenshot(page, "wallboard-call-completed")


def test_the_live_badge_shows_the_servers_label_for_its_state(
    live_asgi_url, signed_in_page, alice, agent, monkeypatch
):
    """live.js copies no label: it paints the badge the page's status table (calls/templatetags/call_status.py)
    brought, so a label changed on the server is the one a live update shows."""
    monkeypatch.setattr(CallStatus.COMPLETED, "_label_", "Done, as the server says")
    page = signed_in_page(alice)
    open_live(page, f"{live_asgi_url}/")
    call = Call.objects.create(agent=agent, to_number="+14155550199", status=CallStatus.IN_PROGRESS)
    # A live update of a call the page never had: live.js paints its row from the blank one.
    apply_event(call=call, status=CallStatus.COMPLETED, source="test")

    badge = page.locator(f"#ended-calls #live-call-{call.public_id} .badge")
    expect(badge).to_have_text("Done, as the server says")
    assert badge.evaluate("el => el.outerHTML") == server_badge(CallStatus.COMPLETED)
    assert page.evaluate("window.__sameDocument") is True


def test_after_the_socket_drops_the_page_shows_what_happened_meanwhile(
    live_asgi_url, signed_in_page, alice, agent, celery_worker_thread, fast_simulator
):
    page = signed_in_page(alice)
    open_live(page, f"{live_asgi_url}/")

    page.evaluate("window.wordcabLive.drop()")  # closed like a network failure; reconnect held
    expect(page.locator("#live-banner")).to_be_visible()
    expect(page.locator("[data-live-status]")).to_have_text("Reconnecting…")

    busy_id = place_call_through_the_api(live_asgi_url, alice, agent.public_id, "+14155550163")
    done_id = place_call_through_the_api(live_asgi_url, alice, agent.public_id, "+14155550123")
    wait_for(
        lambda: status_of(busy_id) in CallStatus.terminal() and status_of(done_id) in CallStatus.terminal(),
        timeout=20,
        what="both calls to end while the page is disconnected",
    )
    expect(page.locator(f"#live-call-{done_id}")).to_have_count(0)  # nothing arrived while down
    screenshot(page, "wallboard-disconnected")

    page.evaluate("window.wordcabLive.resume()")
    expect(page.locator("#live-banner")).to_be_hidden()
    expect(page.locator(f"#ended-calls #live-call-{done_id} .badge")).to_have_text("Completed")
    expect(page.locator(f"#ended-calls #live-call-{busy_id} .badge")).to_have_text("Busy")  # its outcome
    expect(page.locator('[data-count="completed"]')).to_have_text("1")
    expect(page.locator('[data-count="no_answer"]')).to_have_text("1")
    assert page.evaluate("window.__sameDocument") is True

    # and it is live again: a third call arrives over the new socket
    third_id = place_call_through_the_api(live_asgi_url, alice, agent.public_id, "+14155550171")
    expect(page.locator(f"#ended-calls #live-call-{third_id} .badge")).to_have_text(
        "Failed: carrier rejected", timeout=20_000
    )
    expect(page.locator('[data-count="failed"]')).to_have_text("1")
    screenshot(page, "wallboard-after-reconnect")


def test_the_campaign_page_counts_its_calls_live(
    live_asgi_url, signed_in_page, alice, agent, celery_worker_thread, fast_simulator
):
    campaign = Campaign.objects.create(name="Spring reminders", agent=agent, status=CampaignStatus.RUNNING)
    page = signed_in_page(alice)
    open_live(page, f"{live_asgi_url}/campaigns/{campaign.public_id}/")
    expect(page.locator('[data-campaign-call="total"]')).to_have_text("0")

    for number in ("+14155550123", "+14155550150", "+14155550184"):
        call_create(agent=agent, to_number=number, actor=alice, campaign=campaign)
    call_create(agent=agent, to_number="+14155550131", actor=alice)  # not in the campaign

    expect(page.locator('[data-campaign-call="total"]')).to_have_text("3")
    expect(page.locator('[data-campaign-call="completed"]')).to_have_text("2", timeout=20_000)
    expect(page.locator('[data-campaign-call="no_answer"]')).to_have_text("1", timeout=20_000)
    expect(page.locator("#campaign-calls tr")).to_have_count(3)
    expect(page.locator("[data-campaign-done]")).to_have_text("3")  # and its progress bar is full
    expect(page.locator("[data-campaign-unit]")).to_have_text("calls ended")  # a campaign without contacts
    expect(page.locator("[data-campaign-progress]")).to_have_attribute("value", "3")
    expect(page.locator("[data-campaign-progress]")).to_have_attribute("max", "3")
    assert page.evaluate("window.__sameDocument") is True
    screenshot(page, "campaign-live")


def test_the_wallboard_lists_running_campaigns_counts_their_ended_calls_and_drops_finished_ones(
    live_asgi_url, signed_in_page, alice, agent, celery_worker_thread, fast_simulator
):
    page = signed_in_page(alice)
    open_live(page, f"{live_asgi_url}/")
    campaign = Campaign.objects.create(name="Autumn survey", agent=agent, status=CampaignStatus.RUNNING)
    # A call of the campaign that stays in progress (no simulator drives it) keeps the campaign running.
    held = Call.objects.create(
        agent=agent, campaign=campaign, to_number="+14155550199", status=CallStatus.IN_PROGRESS
    )
    call_create(agent=agent, to_number="+14155550123", actor=alice, campaign=campaign)
    call_create(agent=agent, to_number="+14155550171", actor=alice, campaign=campaign)

    item = page.locator(f'#running-campaigns li[data-campaign-id="{campaign.public_id}"]')
    expect(item).to_contain_text("Autumn survey")
    expect(item.locator("[data-campaign-total]")).to_have_text("3")
    expect(item.locator("[data-campaign-done]")).to_have_text("2", timeout=20_000)
    expect(item.locator("progress")).to_have_attribute("value", "2")

    apply_event(call=held, status=CallStatus.COMPLETED, source="test")  # its last call ends
    expect(item).to_have_count(0, timeout=20_000)
    expect(page.locator("#running-campaigns")).to_contain_text("No campaign is running.")
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.COMPLETED
    page.goto(f"{live_asgi_url}/campaigns/{campaign.public_id}/")
    expect(page.locator("[data-campaign-status]")).to_have_text("Completed")
    expect(page.locator('[data-campaign-call="failed"]')).to_have_text("1")
