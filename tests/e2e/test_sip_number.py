"""A SIP number's page in a real Chromium: the Cisco configuration names the number, and "Test this number"
delivers a simulated call that the page shows reaching the agent and completing."""

import pytest
from playwright.sync_api import expect

from agents.models import Provider
from calls.models import Call, CallStatus
from tests.e2e.conftest import screenshot
from tests.factories import AgentFactory, PhoneNumberFactory

pytestmark = pytest.mark.browser


def test_an_operator_reads_the_cisco_config_tests_the_number_and_sees_the_completed_call(
    live_asgi_url, signed_in_page, alice, celery_worker_thread, settings
):
    settings.SIP_GATEWAY_DOMAIN = "acme-wordcab.sip.twilio.com"
    settings.SIMULATOR_SPEED = 20
    settings.SIMULATOR_DISORDER = False
    agent = AgentFactory(public_id="agent_support", name="Support")
    number = PhoneNumberFactory(number="+14155550111", provider=Provider.SIP, agent=agent)
    page = signed_in_page(alice)
    page.goto(f"{live_asgi_url}/numbers/{number.public_id}/")

    cisco = page.locator("#snippet-cisco")
    expect(cisco).to_contain_text("destination-pattern +14155550111")
    expect(cisco).to_contain_text("session target dns:acme-wordcab.sip.twilio.com:5060")

    page.get_by_role("button", name="Test this number").click()
    outcome = page.locator("#sip-test-outcome")
    expect(outcome).to_contain_text("it reached the agent and ended normally.", timeout=20_000)
    call = Call.objects.get()
    assert (call.status, call.provider, call.agent_id) == (CallStatus.COMPLETED, Provider.SIP, agent.pk)
    expect(outcome.get_by_role("link", name=call.public_id)).to_have_attribute(
        "href", f"/calls/{call.public_id}/"
    )
    screenshot(page, "sip-number-test-call")
