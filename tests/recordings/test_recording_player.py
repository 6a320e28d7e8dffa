"""The call page's recording player in Chromium: waveform, playback through the session, the audit event."""

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from calls.models import CallStatus
from compliance.models import AuditEvent
from telephony.simulator.tasks import simulate_recording
from tests.e2e.conftest import (  # noqa: F401 -- fixtures shared with the browser tests
    _live_server_connections,
    browser,
    browser_page,
    live_asgi_url,
    screenshot,
    signed_in_page,
)
from tests.factories import CallFactory
from tests.helpers import wait_for


@pytest.mark.browser
def test_an_operator_plays_a_recording_from_the_call_page_and_it_is_audited(
    signed_in_page,  # noqa: F811
    live_asgi_url,  # noqa: F811
    recording_store,
    uploads_in_place,
    alice,
):
    call = CallFactory(
        status=CallStatus.COMPLETED, record=True, answered_at=timezone.now(), ended_at=timezone.now()
    )
    simulate_recording(call_id=call.pk, talk_seconds=4)
    page = signed_in_page(alice)
    page.goto(f"{live_asgi_url}/calls/{call.public_id}/")
    waveform = page.locator("[data-waveform]")
    assert waveform.locator("rect").count() == 201  # 200 peaks and the progress overlay
    assert page.get_by_role("button", name="Download WAV").is_visible()
    assert not AuditEvent.objects.filter(action="recording.played").exists()  # preload="none"
    page.wait_for_load_state("networkidle")  # the live connection is up and has resynced the page
    waveform.click(position={"x": 20, "y": 30})
    playing = "() => { const a = document.querySelector('[data-audio]'); return a.duration > 3.9 && a.currentTime > 0 && !a.paused; }"
    # Polled from the test: the product's Content-Security-Policy refuses `page.wait_for_function`'s eval.
    wait_for(lambda: page.evaluate(playing), timeout=20, what="the recording to play")
    screenshot(page, "call-recording-player")
    # A live update re-renders the call page around the player: the playback goes on.
    page.evaluate("() => { document.querySelector('[data-audio]').dataset.marker = 'before'; }")
    with page.expect_response(lambda r: r.url.endswith(f"/calls/{call.public_id}/partial")):
        page.evaluate("() => document.body.dispatchEvent(new CustomEvent('call-updated'))")
    wait_for(lambda: page.evaluate(playing), timeout=5, what="the recording to play on")
    assert page.evaluate("() => document.querySelector('[data-audio]').dataset.marker") == "before"
    wait_for(
        lambda: AuditEvent.objects.filter(
            action="recording.played", actor=alice, object_id=call.public_id
        ).exists(),
        timeout=10,
        what="the playback's audit event",
    )


@pytest.mark.browser
def test_the_player_is_ready_on_load_labelled_and_played_with_the_keyboard_alone(
    signed_in_page,  # noqa: F811
    live_asgi_url,  # noqa: F811
    recording_store,
    uploads_in_place,
    alice,
):
    call = CallFactory(
        status=CallStatus.COMPLETED, record=True, answered_at=timezone.now(), ended_at=timezone.now()
    )
    simulate_recording(call_id=call.pk, talk_seconds=12)
    page = signed_in_page(alice)
    page.goto(f"{live_asgi_url}/calls/{call.public_id}/")
    # Ready before anything is fetched or clicked: its controls, the length, the waveform as a slider.
    play = page.get_by_role("button", name="Play")
    expect(play).to_be_visible()
    expect(page.locator("[data-length]")).to_have_text("0:12")
    assert page.locator("[data-audio]").get_attribute("controls") is None  # ours replace the browser's
    slider = page.get_by_role("slider", name="Position in the recording")
    expect(slider).to_have_attribute("aria-valuetext", "0:00 of 0:12")
    expect(slider).to_have_attribute("tabindex", "0")
    assert (
        "Space plays or pauses" in page.locator(f"#{slider.get_attribute('aria-describedby')}").inner_text()
    )
    assert not AuditEvent.objects.filter(action="recording.played").exists()  # nothing heard yet

    slider.focus()
    page.keyboard.press("ArrowRight")
    expect(slider).to_have_attribute("aria-valuetext", "0:05 of 0:12")  # a position chosen before loading
    page.keyboard.press("End")
    expect(slider).to_have_attribute("aria-valuenow", "12")
    page.keyboard.press("Home")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("ArrowRight")
    scroll = page.evaluate("window.scrollY")
    page.keyboard.press("Space")  # plays from 0:05, and the page does not scroll
    started = "() => { const a = document.querySelector('[data-audio]'); return !a.paused && a.currentTime >= 4.9; }"
    # Polled from the test: the product's Content-Security-Policy refuses `page.wait_for_function`'s eval.
    wait_for(lambda: page.evaluate(started), timeout=20, what="the recording to play from 0:05")
    assert page.evaluate("window.scrollY") == scroll
    expect(page.get_by_role("button", name="Pause")).to_have_attribute("aria-pressed", "true")
    page.keyboard.press("Space")
    wait_for(
        lambda: page.evaluate("() => document.querySelector('[data-audio]').paused"),
        timeout=5,
        what="the recording to pause",
    )
    expect(page.get_by_role("button", name="Play")).to_have_attribute("aria-pressed", "false")
    wait_for(
        lambda: AuditEvent.objects.filter(action="recording.played", object_id=call.public_id).exists(),
        timeout=10,
        what="the playback's audit event",
    )
    screenshot(page, "call-recording-player-keyboard")
