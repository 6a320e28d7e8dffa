"""A supervisor in Chromium (fake microphone and consent prompt): a browser call to the demo agent runs in
one tab; the operator opens the call's page in another, clicks Listen and hears it within seconds (the
page counts the audio chunks received), then Barge in sends the microphone (the page counts the frames
sent) and the audit trail says so; the wallboard's live row offers Listen too."""

import pytest
from playwright.sync_api import expect

from calls.models import CallStatus
from compliance.models import AuditEvent
from tests.e2e.conftest import screenshot, sign_in
from tests.e2e.test_webrtc_call import demo_agent, microphone_page, webrtc_call  # noqa: F401 -- fixtures
from tests.helpers import wait_for

pytestmark = pytest.mark.browser


def test_an_operator_listens_to_a_live_call_and_barges_in(live_asgi_url, microphone_page, demo_agent, alice):  # noqa: F811
    page = microphone_page
    sign_in(page, live_asgi_url, alice)
    page.goto(f"{live_asgi_url}/agents/{demo_agent.public_id}/")
    page.get_by_role("button", name="Talk to this agent").click()
    expect(page.locator("[data-webrtc-state]")).to_have_text("In call", timeout=20_000)
    wait_for(
        lambda: (webrtc_call() or None) and webrtc_call().status == CallStatus.IN_PROGRESS, what="the call"
    )
    call = webrtc_call()

    wallboard = page.context.new_page()
    wallboard.goto(f"{live_asgi_url}/")
    expect(wallboard.locator(f"#live-call-{call.public_id} [data-supervise-row-listen]")).to_be_visible()

    supervisor = page.context.new_page()
    supervisor.goto(f"{live_asgi_url}/calls/{call.public_id}/")
    panel = supervisor.locator("[data-supervise]")
    panel.get_by_role("button", name="Listen").click()
    expect(panel.locator("[data-supervise-state]")).to_have_text("Listening.", timeout=5_000)
    wait_for(
        lambda: int(panel.locator("[data-supervise-received]").inner_text()) >= 5,
        timeout=5,
        what="the call's audio in the supervisor's page",
    )
    panel.get_by_role("button", name="Barge in").click()
    expect(panel.locator("[data-supervise-state]")).to_contain_text("Barged in", timeout=10_000)
    wait_for(
        lambda: int(panel.locator("[data-supervise-sent]").inner_text()) >= 25,
        timeout=10,
        what="the supervisor's microphone on the call",
    )
    screenshot(supervisor, "supervise-barged-in")
    assert AuditEvent.objects.filter(action="call.listen_started", object_id=call.public_id).exists()
    assert AuditEvent.objects.filter(action="call.supervisor_mode", after__mode="barge").exists()
    page.get_by_role("button", name="Hang up").click()
    expect(panel.locator("[data-supervise-state]")).to_have_text("The call ended.", timeout=10_000)
    wait_for(
        lambda: AuditEvent.objects.filter(action="call.listen_stopped", object_id=call.public_id).exists(),
        what="the listen's end in the audit trail",
    )
