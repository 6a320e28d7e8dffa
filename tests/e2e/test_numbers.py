"""Numbers in a real Chromium: the picker assigns a number and it stays assigned; bulk assign previews first."""

import pytest
from playwright.sync_api import expect

from agents.models import PhoneNumber
from compliance.models import AuditEvent
from tests.e2e.conftest import screenshot
from tests.factories import AgentFactory, PhoneNumberFactory

pytestmark = pytest.mark.browser


def test_an_operator_assigns_a_number_with_the_picker_and_sees_it_saved(live_asgi_url, signed_in_page, alice):
    AgentFactory(name="Front desk", public_id="agent_front")
    number = PhoneNumberFactory(number="+14155550122", friendly_name="Lobby line")
    page = signed_in_page(alice)
    page.goto(f"{live_asgi_url}/numbers/")
    row = page.locator(f"#number-{number.public_id}")
    expect(row).to_contain_text("+14155550122")

    row.get_by_label("Agent for +14155550122").select_option(
        label="Front desk"
    )  # nobody loses it: no question
    expect(page.locator(f"#number-{number.public_id}").get_by_role("status")).to_have_text(
        "Assigned +1 415-555-0122 to Front desk."
    )
    screenshot(page, "numbers-picker-saved")
    assert PhoneNumber.objects.get(pk=number.pk).agent.public_id == "agent_front"
    assert AuditEvent.objects.get(action="number.assigned").actor_label == "alice"

    page.reload()  # saved on the server, not only on the page
    expect(page.get_by_label("Agent for +14155550122")).to_have_value("agent_front")
    page.goto(f"{live_asgi_url}/agents/agent_front/")
    expect(page.locator("#numbers")).to_contain_text("+14155550122")


def test_moving_a_number_from_its_agent_asks_first_naming_who_loses_it(live_asgi_url, signed_in_page, alice):
    AgentFactory(name="Front desk", public_id="agent_front")
    night = AgentFactory(name="Night shift", public_id="agent_night")
    number = PhoneNumberFactory(number="+14155550122", agent=night)
    page = signed_in_page(alice)
    page.goto(f"{live_asgi_url}/numbers/")
    picker = page.get_by_label("Agent for +14155550122")
    questions = []

    def answer(dialog, accept: bool) -> None:
        questions.append(dialog.message)
        dialog.accept() if accept else dialog.dismiss()

    page.once("dialog", lambda dialog: answer(dialog, accept=False))
    picker.select_option(label="Front desk")
    expect(picker).to_have_value("agent_night")  # cancelled: the picker shows the holder again
    assert questions[0].startswith("Move +1 415-555-0122 from Night shift to Front desk?")
    assert "Night shift loses it: calls to it will reach Front desk instead." in questions[0]
    assert PhoneNumber.objects.get(pk=number.pk).agent == night
    assert not AuditEvent.objects.exists()

    page.once("dialog", lambda dialog: answer(dialog, accept=True))
    picker.select_option(label="Front desk")
    status = page.locator(f"#number-{number.public_id}").get_by_role("status")
    expect(status).to_have_text("Moved +1 415-555-0122 from Night shift to Front desk.")
    expect(status.get_by_role("link", name="Night shift")).to_have_attribute("href", "/agents/agent_night/")
    screenshot(page, "numbers-picker-moved")
    assert PhoneNumber.objects.get(pk=number.pk).agent.public_id == "agent_front"
    event = AuditEvent.objects.get(action="number.assigned")
    assert (event.before["agent_id"], event.after["agent_id"]) == ("agent_night", "agent_front")


def test_bulk_assign_shows_conflicts_before_saving_then_assigns_on_confirm(
    live_asgi_url, signed_in_page, alice
):
    AgentFactory(name="Front desk", public_id="agent_front")
    other = AgentFactory(name="Night shift", public_id="agent_night")
    PhoneNumberFactory(number="+14155550133", agent=other)
    page = signed_in_page(alice)
    page.goto(f"{live_asgi_url}/numbers/")
    page.get_by_text("Bulk add or assign").click()
    page.get_by_label("Assign to").select_option(label="Front desk (agent_front)")
    page.get_by_label("Paste numbers (one per line)").fill("+14155550111\nnonsense\n+14155550133")
    page.get_by_role("button", name="Preview").click()

    preview = page.locator("#bulk-preview")
    expect(preview).to_contain_text("Nothing has been saved yet")
    expect(preview).to_contain_text("held by Night shift agent_night")
    expect(preview.locator("tr.plan-invalid")).to_contain_text("2")
    screenshot(page, "numbers-bulk-preview")
    assert not PhoneNumber.objects.filter(number="+14155550111").exists()

    preview.get_by_role("button", name="Confirm: assign to Front desk").click()
    expect(page.get_by_role("status").first).to_contain_text(
        "1 number assigned to Front desk (1 new to the inventory)."
    )
    expect(page.get_by_role("status").nth(1)).to_contain_text("+1 415-555-0133 skipped: held by Night shift.")
    expect(page.locator("#number-table")).to_contain_text("+14155550133")  # the whole list, not one agent's
    screenshot(page, "numbers-bulk-confirmed")
    assert PhoneNumber.objects.get(number="+14155550111").agent.public_id == "agent_front"
    assert PhoneNumber.objects.get(number="+14155550133").agent.public_id == "agent_night"


def test_a_viewer_sees_an_agent_and_its_sip_numbers_routing_but_no_controls(
    live_asgi_url, signed_in_page, bob, agent
):
    number = PhoneNumberFactory(number="+14155550111", agent=agent, provider="sip", sip_trunk="main-trunk")
    page = signed_in_page(bob)
    page.goto(f"{live_asgi_url}/agents/{agent.public_id}/")
    expect(page.get_by_role("heading", name="Reminder bot", level=1)).to_be_visible()
    expect(page.locator("#numbers")).to_contain_text("+14155550111")
    expect(page.locator("[data-write]")).to_have_count(0)
    screenshot(page, "agent-detail-viewer")

    page.get_by_role("link", name="+14155550111").click()
    routing = page.locator("#sip-routing")
    expect(routing).to_contain_text("sip:+14155550111@sip.wordcab.local")
    expect(routing).to_contain_text("sip:agent_abc@sip.wordcab.local")
    expect(routing).to_contain_text("main-trunk")
    expect(page.locator("[data-write]")).to_have_count(0)
    screenshot(page, "number-sip-viewer")
    assert number.public_id in page.content()


def test_a_number_held_elsewhere_is_offered_to_move_here_from_the_agent_page(
    live_asgi_url, signed_in_page, alice
):
    AgentFactory(name="Front desk", public_id="agent_front")
    night = AgentFactory(name="Night shift", public_id="agent_night")
    PhoneNumberFactory(number="+14155550122", agent=night)
    page = signed_in_page(alice)
    page.goto(f"{live_asgi_url}/agents/agent_front/")
    page.get_by_label("New number", exact=True).fill("(415) 555-0122")
    page.get_by_role("button", name="Assign number").click()

    conflict = page.locator("#number-error")
    expect(conflict).to_contain_text("+1 415-555-0122 is assigned to Night shift.")
    expect(conflict.get_by_role("link", name="Night shift")).to_have_attribute("href", "/agents/agent_night/")
    typed = page.get_by_label("New number", exact=True)
    expect(typed).to_have_value("(415) 555-0122")  # what was typed stays
    screenshot(page, "agent-number-conflict")

    conflict.get_by_role("button", name="Move it here from Night shift").click()
    expect(page.get_by_role("status").first).to_have_text(
        "Moved +1 415-555-0122 from Night shift to Front desk."
    )
    expect(page.locator("#numbers")).to_contain_text("+14155550122")
    assert PhoneNumber.objects.get(number="+14155550122").agent.public_id == "agent_front"
