"""The browser leg in Debian's Chromium with its fake microphone (a beep every second) and fake consent
prompt: "Talk to this agent" on the demo agent's page opens a real WebRTC call to the server's aiortc peer
(host candidates only), the call shows in progress on the page and on the wallboard, Hang up ends it, and its
recording starts with the consent opener."""

import wave
from collections.abc import Iterator

import pytest
from playwright.sync_api import expect

from calls.models import Call, CallStatus, EndReason
from campaigns.demo import demo_agents_ensure
from compliance.models import ConsentOpener
from compliance.openers import opener_create
from recordings.models import Recording, RecordingStatus
from recordings.services import recordings_storage
from telephony.webrtc.leg import legs_here
from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, screenshot, sign_in
from tests.helpers import wait_for

try:
    import audioop
except ImportError:  # pragma: no cover -- Python 3.13+
    import audioop_lts as audioop

pytestmark = pytest.mark.browser

FAKE_MEDIA = ["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"]


def chromium_page(monkeypatch, request, media_args: list[str]) -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # see tests/e2e/conftest.py
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS + media_args, headless=True
        )
        context = browser.new_context(viewport={"width": 1280, "height": 800})
        context.set_default_timeout(15_000)
        page = context.new_page()
        yield page
        report = getattr(request.node, "rep_call", None)
        if report is not None and report.failed:
            screenshot(page, f"FAILED-{request.node.name}")
        context.close()
        browser.close()


@pytest.fixture
def microphone_page(monkeypatch, request) -> Iterator[object]:
    """A page of Chromium with a fake microphone whose use is allowed without a prompt."""
    yield from chromium_page(monkeypatch, request, FAKE_MEDIA)


@pytest.fixture
def refusing_page(monkeypatch, request) -> Iterator[object]:
    """A page of Chromium with a fake microphone, whose use the (headless) browser refuses."""
    yield from chromium_page(monkeypatch, request, ["--use-fake-device-for-media-stream"])


@pytest.fixture
def demo_agent(transactional_db, recording_store, uploads_in_place):
    """The demo's first agent, recording its calls, with the deployment's consent opener in place."""
    if not ConsentOpener.objects.exists():
        opener_create(actor=None, jurisdiction="", language="en-US", text="This call is recorded.")
    agent = demo_agents_ensure(actor=None)[0]
    agent.record = True
    agent.save(update_fields=["record"])
    return agent


def webrtc_call() -> Call | None:
    return Call.objects.filter(provider="webrtc").order_by("-pk").first()


def test_talk_to_this_agent_calls_the_demo_agent_from_the_browser_and_records_the_opener(
    live_asgi_url, microphone_page, demo_agent, alice
):
    page = microphone_page
    sign_in(page, live_asgi_url, alice)
    page.goto(f"{live_asgi_url}/agents/{demo_agent.public_id}/")
    page.get_by_role("button", name="Talk to this agent").click()
    panel = page.locator("[data-webrtc-call]")
    expect(panel.locator("[data-webrtc-state]")).to_have_text("In call", timeout=20_000)
    wait_for(lambda: (webrtc_call() or Call()).status == CallStatus.IN_PROGRESS, what="the call in progress")
    call = webrtc_call()
    expect(panel.locator("[data-webrtc-duration]")).not_to_have_text("0:00", timeout=5_000)  # it ticks
    screenshot(page, "webrtc-in-call")

    wallboard = page.context.new_page()  # the same operator's wallboard, in another tab
    wallboard.goto(f"{live_asgi_url}/")
    expect(wallboard.locator(f"#live-call-{call.public_id}")).to_have_attribute("data-status", "in_progress")
    screenshot(wallboard, "webrtc-on-the-wallboard")

    page.wait_for_timeout(
        3_000
    )  # let the opener play (and be recorded): the call's talk, not a wait for state
    page.get_by_role("button", name="Hang up").click()
    expect(panel.locator("[data-webrtc-state]")).to_have_text("Call ended.")
    wait_for(lambda: Call.objects.get(pk=call.pk).status == CallStatus.COMPLETED, what="the call to complete")
    expect(wallboard.locator(f"#live-call-{call.public_id}")).not_to_have_attribute(
        "data-status", "in_progress"
    )
    call.refresh_from_db()
    assert call.end_reason == EndReason.HANGUP
    wait_for(
        lambda: Recording.objects.filter(call=call, status=RecordingStatus.STORED).exists(),
        timeout=15,
        what="the recording to be stored",
    )
    recording = Recording.objects.get(call=call)
    with recordings_storage().open(recording.storage_key, "rb") as handle, wave.open(handle, "rb") as wav:
        first_seconds = wav.readframes(2 * wav.getframerate())
        caller = audioop.tomono(first_seconds, 2, 1, 0)
        agent_side = audioop.tomono(first_seconds, 2, 0, 1)
    assert audioop.rms(agent_side, 2) > 300, "the recording's first seconds are silence: no opener"
    assert len(caller) == len(agent_side)
    wait_for(lambda: legs_here() == 0, what="the server's peer connection to close")


def test_a_viewer_sees_no_talk_button_on_the_agent_page(live_asgi_url, microphone_page, demo_agent, bob):
    page = microphone_page
    sign_in(page, live_asgi_url, bob)
    page.goto(f"{live_asgi_url}/agents/{demo_agent.public_id}/")
    expect(page.get_by_role("heading", name=demo_agent.name)).to_be_visible()
    expect(page.get_by_role("button", name="Talk to this agent")).to_have_count(0)


def test_a_refused_microphone_is_said_in_words_and_makes_no_call(
    live_asgi_url, refusing_page, demo_agent, alice
):
    page = refusing_page
    sign_in(page, live_asgi_url, alice)
    page.goto(f"{live_asgi_url}/agents/{demo_agent.public_id}/")
    page.get_by_role("button", name="Talk to this agent").click()
    expect(page.locator("[data-webrtc-error]")).to_contain_text("Your microphone was refused")
    expect(page.get_by_role("button", name="Talk to this agent")).to_be_visible()  # may try again
    screenshot(page, "webrtc-microphone-refused")
    assert webrtc_call() is None
