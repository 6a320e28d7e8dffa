"""The agent and number pages for each role: everyone reads, only operators and admins change things."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from agents.models import Agent, PhoneNumber
from calls.models import Direction
from compliance.models import AuditEvent
from tests.factories import AgentFactory, CallFactory, PhoneNumberFactory

ROLES = ["ada", "alice", "bob", "carol"]
WRITERS = {"ada", "alice"}


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def cast(ada, alice, bob, carol) -> dict:
    return {"ada": ada, "alice": alice, "bob": bob, "carol": carol}


@pytest.fixture
def sip_number(agent):
    return PhoneNumberFactory(
        number="+14155550111",
        agent=agent,
        provider="sip",
        sip_uri="sip:+14155550111@pbx.example.com",
        sip_trunk="main",
    )


def pages(agent, number) -> list[str]:
    return [
        "/agents/",
        "/agents/?q=reminder",
        f"/agents/{agent.public_id}/",
        "/numbers/",
        "/numbers/?q=415&assigned=yes",
        f"/numbers/{number.public_id}/",
    ]


@pytest.mark.parametrize("who", ROLES)
def test_every_agent_and_number_page_renders_for_every_role(cast, who, agent, sip_number):
    CallFactory(
        agent=agent, direction=Direction.INBOUND, to_number=sip_number.number, from_number="+12125550100"
    )
    client = client_for(cast[who])
    for url in pages(agent, sip_number):
        response = client.get(url)
        assert response.status_code == 200, url
        has_forms = b"data-write" in response.content
        assert has_forms == (who in WRITERS), f"{url}: write forms shown to {who}: {has_forms}"


def test_signed_out_visitors_are_sent_to_the_login_page(client, agent):
    for url in ["/agents/", f"/agents/{agent.public_id}/", "/numbers/"]:
        response = client.get(url)
        assert response.status_code == 302
        assert response.url.startswith("/login/")


def post_urls(agent, number) -> list[tuple[str, dict]]:
    return [
        ("/agents/create", {"name": "Sneaky", "language": "en-US", "max_duration": 60}),
        (f"/agents/{agent.public_id}/edit", {"name": "Renamed", "language": "en-US", "max_duration": 60}),
        (f"/agents/{agent.public_id}/disable", {}),
        (f"/agents/{agent.public_id}/enable", {}),
        (f"/agents/{agent.public_id}/numbers/add", {"new_number": "+14155550199"}),
        (f"/agents/{agent.public_id}/numbers/{number.public_id}/remove", {}),
        ("/numbers/add", {"number": "+14155550188", "provider": "simulator"}),
        (f"/numbers/{number.public_id}/assign", {"agent": "", "seen": agent.public_id}),
        (f"/numbers/{number.public_id}/edit", {"friendly_name": "x"}),
        (f"/numbers/{number.public_id}/release", {}),
        (
            "/numbers/bulk/preview",
            {"agent": agent.public_id, "provider": "simulator", "numbers": "+14155550177"},
        ),
        ("/numbers/bulk/confirm", {"agent": agent.public_id, "numbers": "+14155550177"}),
    ]


@pytest.mark.parametrize("who", ["bob", "carol"])
def test_a_viewer_or_compliance_officer_may_not_post_any_change(cast, who, agent, sip_number):
    client = client_for(cast[who])
    for url, data in post_urls(agent, sip_number):
        assert client.post(url, data).status_code == 403, url
    assert Agent.objects.count() == 1
    agent.refresh_from_db()
    assert (agent.name, agent.is_active) == ("Reminder bot", True)
    assert list(PhoneNumber.objects.values_list("number", "agent_id", "friendly_name")) == [
        ("+14155550111", agent.pk, "")
    ]
    assert not AuditEvent.objects.exists()


def test_an_unknown_agent_or_number_page_is_a_404(alice):
    client = client_for(alice)
    assert client.get("/agents/agent_nope/").status_code == 404
    assert client.get("/numbers/num_nope/").status_code == 404


# Agents ------------------------------------------------------------------------------------------------------


def test_the_agent_list_shows_a_helpful_empty_state(alice, bob):
    assert b"No agents yet" in client_for(alice).get("/agents/").content
    assert b"An operator can create one" in client_for(bob).get("/agents/").content


def test_the_agent_search_narrows_the_list_and_says_when_nothing_matches(alice):
    AgentFactory(name="Billing helper")
    AgentFactory(name="Reminder bot")
    response = client_for(alice).get("/agents/", {"q": "billing"})
    assert b"Billing helper" in response.content
    assert b"Reminder bot" not in response.content
    assert "No agent matches “zzz”" in client_for(alice).get("/agents/", {"q": "zzz"}).content.decode()


def test_the_agent_search_answers_htmx_with_just_the_rows(alice):
    AgentFactory(name="Billing helper")
    response = client_for(alice).get("/agents/", {"q": "bill"}, HTTP_HX_REQUEST="true")
    assert response.content.decode().lstrip().startswith('<div id="agent-rows">')
    assert b"<html" not in response.content


def test_an_operator_creates_an_agent_from_the_list_page(alice):
    response = client_for(alice).post(
        "/agents/create",
        {
            "name": "Front desk",
            "agent_id": "agent_front",
            "language": "en-US",
            "max_duration": 120,
            "record": "on",
        },
    )
    assert response.status_code == 302
    assert response.url == "/agents/agent_front/"
    agent = Agent.objects.get(public_id="agent_front")
    assert (agent.name, agent.max_duration, agent.record) == ("Front desk", 120, True)


def test_a_taken_agent_id_shows_the_error_on_the_form(alice, agent):
    response = client_for(alice).post(
        "/agents/create", {"name": "Copy", "agent_id": "agent_abc", "language": "en-US", "max_duration": 60}
    )
    assert response.status_code == 400
    assert b"already exists" in response.content
    assert Agent.objects.count() == 1


def test_the_agent_page_shows_details_numbers_and_recent_calls(alice, agent, sip_number):
    CallFactory(agent=agent, to_number="+12125550100")
    CallFactory(agent=AgentFactory(), to_number="+12125550199")
    content = client_for(alice).get(f"/agents/{agent.public_id}/").content.decode()
    assert "Reminder bot" in content
    assert "agent_abc" in content
    assert "+14155550111" in content
    assert "+12125550100" in content
    assert "(212) 555-0100" in content  # the recent call's number for reading, as on the calls list
    assert "+12125550199" not in content
    assert 'id="place-call"' in content
    assert "<td>SIP trunk (your PBX)</td>" in content  # the number's provider by its label


def test_an_operator_edits_and_disables_an_agent(alice, agent):
    client = client_for(alice)
    response = client.post(
        f"/agents/{agent.public_id}/edit",
        {"name": "Reminder bot 2", "language": "fr-FR", "max_duration": 300, "instructions": "Bonjour"},
    )
    assert response.status_code == 302
    agent.refresh_from_db()
    assert (agent.name, agent.language, agent.max_duration, agent.instructions) == (
        "Reminder bot 2",
        "fr-FR",
        300,
        "Bonjour",
    )
    client.post(f"/agents/{agent.public_id}/disable")
    agent.refresh_from_db()
    assert agent.is_active is False
    assert b"Enable agent" in client.get(f"/agents/{agent.public_id}/").content


def test_an_invalid_edit_shows_the_form_errors(alice, agent):
    response = client_for(alice).post(f"/agents/{agent.public_id}/edit", {"name": "", "max_duration": 0})
    assert response.status_code == 400
    assert b"errorlist" in response.content


def test_an_operator_assigns_an_unassigned_number_from_the_agent_page(alice, agent):
    PhoneNumberFactory(number="+14155550122")
    client = client_for(alice)
    client.post(f"/agents/{agent.public_id}/numbers/add", {"number": "+14155550122"})
    assert PhoneNumber.objects.get(number="+14155550122").agent == agent
    client.post(
        f"/agents/{agent.public_id}/numbers/add", {"new_number": "(415) 555-0133", "provider": "twilio"}
    )
    added = PhoneNumber.objects.get(number="+14155550133")
    assert (added.agent, added.provider) == (agent, "twilio")


def test_assigning_a_number_held_elsewhere_names_the_holder_keeps_what_was_typed_and_offers_to_move_it(
    alice, agent
):
    PhoneNumberFactory(number="+14155550122", agent=AgentFactory(public_id="agent_other", name="Billing"))
    response = client_for(alice).post(
        f"/agents/{agent.public_id}/numbers/add", {"new_number": "(415) 555-0122", "provider": "twilio"}
    )
    assert response.status_code == 409
    content = response.content.decode()
    assert 'is assigned to <a href="/agents/agent_other/">Billing</a>' in content
    assert "agent_other;" not in content  # a person reads a name, not an id
    assert 'value="(415) 555-0122"' in content  # what was typed stays in the form
    assert '<option value="twilio" selected>' in content
    assert "Move it here from Billing" in content
    assert PhoneNumber.objects.get(number="+14155550122").agent.public_id == "agent_other"


def test_move_it_here_moves_the_number_and_says_from_whom(alice, agent):
    number = PhoneNumberFactory(
        number="+14155550122", agent=AgentFactory(public_id="agent_other", name="Billing")
    )
    response = client_for(alice).post(
        f"/agents/{agent.public_id}/numbers/add",
        {"new_number": "+14155550122", "move": "yes", "seen": "agent_other"},
        follow=True,
    )
    number.refresh_from_db()
    assert number.agent == agent
    assert "Moved" in response.content.decode()
    assert (
        'from <a href="/agents/agent_other/" title="agent_other">Billing</a> to <a href="/agents/agent_abc/"'
        in (response.content.decode())
    )
    event = AuditEvent.objects.get(action="number.assigned")
    assert (event.before["agent_id"], event.after["agent_id"]) == ("agent_other", "agent_abc")


def test_move_it_here_is_refused_when_the_holder_changed_since_it_was_offered(alice, agent):
    PhoneNumberFactory(number="+14155550122", agent=AgentFactory(public_id="agent_third", name="Third"))
    AgentFactory(public_id="agent_other", name="Billing")
    response = client_for(alice).post(
        f"/agents/{agent.public_id}/numbers/add",
        {"new_number": "+14155550122", "move": "yes", "seen": "agent_other"},
    )
    assert response.status_code == 400
    assert "changed meanwhile: it is now assigned to Third (agent_third)" in response.content.decode()
    assert PhoneNumber.objects.get(number="+14155550122").agent.public_id == "agent_third"


def test_an_invalid_number_on_the_agent_page_is_explained_and_kept_in_the_form(alice, agent):
    response = client_for(alice).post(f"/agents/{agent.public_id}/numbers/add", {"new_number": "555-01"})
    assert response.status_code == 400
    content = response.content.decode()
    assert "is not a valid phone number" in content
    assert 'value="555-01"' in content
    assert not PhoneNumber.objects.exists()


def test_unassigning_from_the_agent_page_asks_first_naming_who_loses_it(alice, agent, sip_number):
    client = client_for(alice)
    asked = client.post(f"/agents/{agent.public_id}/numbers/{sip_number.public_id}/remove")
    assert asked.status_code == 200
    assert "Unassign +1 415-555-0111 from Reminder bot?" in asked.content.decode()
    assert "Reminder bot loses it" in asked.content.decode()
    assert '<input type="hidden" name="confirmed" value="yes">' in asked.content.decode()
    sip_number.refresh_from_db()
    assert sip_number.agent == agent  # nothing changed yet

    done = client.post(
        f"/agents/{agent.public_id}/numbers/{sip_number.public_id}/remove", {"confirmed": "yes"}, follow=True
    )
    sip_number.refresh_from_db()
    assert sip_number.agent is None
    assert "Unassigned" in done.content.decode()
    assert AuditEvent.objects.get(action="number.unassigned").actor == alice


# Numbers -------------------------------------------------------------------------------------------------------


def test_the_numbers_page_shows_a_helpful_empty_state(alice):
    assert b"No phone numbers yet" in client_for(alice).get("/numbers/").content


def test_an_operator_adds_a_number_from_the_numbers_page(alice, agent):
    response = client_for(alice).post(
        "/numbers/add",
        {"number": "(212) 555-0100", "provider": "twilio", "agent": "agent_abc", "friendly_name": "NY"},
    )
    number = PhoneNumber.objects.get()
    assert response.url == f"/numbers/{number.public_id}/"
    assert (number.number, number.jurisdiction, number.agent, number.friendly_name) == (
        "+12125550100",
        "US-NY",
        agent,
        "NY",
    )


def test_adding_an_invalid_or_existing_number_shows_the_error(alice):
    PhoneNumberFactory(number="+14155550111")
    client = client_for(alice)
    response = client.post("/numbers/add", {"number": "12", "provider": "simulator"})
    assert response.status_code == 400
    assert b"not a valid phone number" in response.content
    response = client.post("/numbers/add", {"number": "415 555 0111", "provider": "simulator"})
    content = response.content.decode()
    assert "is already in the inventory, unassigned: open it to change it." in content
    assert (
        f'<a href="/numbers/{PhoneNumber.objects.get().public_id}/" class="mono">+1 415-555-0111</a>'
        in content
    )
    assert 'value="415 555 0111"' in content  # what was typed stays


def test_the_picker_assigns_an_unassigned_number_at_once_and_answers_htmx_with_the_row(alice, agent):
    number = PhoneNumberFactory(number="+14155550122")
    response = client_for(alice).post(
        f"/numbers/{number.public_id}/assign", {"agent": "agent_abc", "seen": ""}, HTTP_HX_REQUEST="true"
    )
    content = response.content.decode()
    assert content.lstrip().startswith(f'<tr id="number-{number.public_id}">')
    assert "Assigned" in content
    assert 'title="agent_abc">Reminder bot</a>' in content
    number.refresh_from_db()
    assert number.agent == agent
    event = AuditEvent.objects.get(action="number.assigned")
    assert (event.actor, event.before["agent_id"], event.after["agent_id"]) == (alice, None, "agent_abc")


def test_the_picker_asks_before_taking_a_number_from_its_agent_and_names_who_loses_it(alice, agent):
    number = PhoneNumberFactory(
        number="+14155550122", agent=AgentFactory(public_id="agent_other", name="Billing")
    )
    client = client_for(alice)
    asked = client.post(
        f"/numbers/{number.public_id}/assign",
        {"agent": "agent_abc", "seen": "agent_other"},
        HTTP_HX_REQUEST="true",
    )
    row = asked.content.decode()
    assert "Move +1 415-555-0122 from Billing to Reminder bot?" in row
    assert "Billing loses it" in row
    assert "Keep it with Billing" in row
    number.refresh_from_db()
    assert number.agent.public_id == "agent_other"  # nothing moved yet
    assert not AuditEvent.objects.exists()

    moved = client.post(
        f"/numbers/{number.public_id}/assign",
        {"agent": "agent_abc", "seen": "agent_other", "confirmed": "yes"},
        HTTP_HX_REQUEST="true",
    )
    assert "Moved" in moved.content.decode()
    assert 'from <a href="/agents/agent_other/" title="agent_other">Billing</a> to' in moved.content.decode()
    number.refresh_from_db()
    assert number.agent == agent


def test_keeping_the_number_with_its_agent_changes_nothing(alice, agent):
    number = PhoneNumberFactory(
        number="+14155550122", agent=AgentFactory(public_id="agent_other", name="Billing")
    )
    kept = client_for(alice).post(
        f"/numbers/{number.public_id}/assign",
        {"agent": "agent_other", "seen": "agent_other"},
        HTTP_HX_REQUEST="true",
    )
    assert "No change" in kept.content.decode()
    number.refresh_from_db()
    assert number.agent.public_id == "agent_other"
    assert not AuditEvent.objects.exists()


def test_without_javascript_the_picker_asks_on_a_page_of_its_own_then_moves(alice, agent):
    number = PhoneNumberFactory(
        number="+14155550122", agent=AgentFactory(public_id="agent_other", name="Billing")
    )
    client = client_for(alice)
    asked = client.post(
        f"/numbers/{number.public_id}/assign",
        {"agent": "", "seen": "agent_other", "next": f"/numbers/{number.public_id}/"},
    )
    page = asked.content.decode()
    assert asked.status_code == 200
    assert "Unassign +1 415-555-0122 from Billing?" in page
    assert "Billing loses it: calls to +1 415-555-0122 will hear a polite message and be hung up." in page
    assert f'<input type="hidden" name="next" value="/numbers/{number.public_id}/">' in page
    assert f'<a href="/numbers/{number.public_id}/" role="button"' in page  # Cancel: back where it was
    number.refresh_from_db()
    assert number.agent is not None

    done = client.post(
        f"/numbers/{number.public_id}/assign",
        {"agent": "", "seen": "agent_other", "next": f"/numbers/{number.public_id}/", "confirmed": "yes"},
    )
    assert done.url == f"/numbers/{number.public_id}/"
    number.refresh_from_db()
    assert number.agent is None
    assert "Unassigned" in client.get(done.url).content.decode()


def test_the_picker_refuses_when_the_number_changed_since_the_page_was_drawn(alice, agent):
    number = PhoneNumberFactory(
        number="+14155550122", agent=AgentFactory(public_id="agent_other", name="Billing")
    )
    response = client_for(alice).post(
        f"/numbers/{number.public_id}/assign", {"agent": "agent_abc", "seen": ""}, HTTP_HX_REQUEST="true"
    )
    assert "changed meanwhile: it is now assigned to Billing (agent_other)" in response.content.decode()
    number.refresh_from_db()
    assert number.agent.public_id == "agent_other"


def test_the_picker_without_javascript_redirects_back(alice, agent):
    number = PhoneNumberFactory(number="+14155550122")
    response = client_for(alice).post(
        f"/numbers/{number.public_id}/assign",
        {"agent": "agent_abc", "seen": "", "next": f"/numbers/{number.public_id}/"},
    )
    assert response.url == f"/numbers/{number.public_id}/"
    response = client_for(alice).post(
        f"/numbers/{number.public_id}/assign",
        {"agent": "", "seen": "agent_abc", "next": "https://evil.example/", "confirmed": "yes"},
    )
    assert response.url == "/numbers/"


def test_the_picker_carries_what_the_browser_needs_to_ask(alice, agent):
    PhoneNumberFactory(number="+442079460958", agent=agent)
    content = client_for(alice).get("/numbers/").content.decode()
    assert 'data-number="+44 20 7946 0958" data-holder="Reminder bot"' in content


def test_the_number_page_shows_its_history_in_sentences(alice, agent):
    number = PhoneNumberFactory(
        number="+14155550122", agent=AgentFactory(public_id="agent_other", name="Billing")
    )
    client = client_for(alice)
    client.post(
        f"/numbers/{number.public_id}/assign",
        {"agent": "agent_abc", "seen": "agent_other", "confirmed": "yes"},
    )
    content = client.get(f"/numbers/{number.public_id}/").content.decode()
    assert (
        '<a href="/audit/?actor=alice" title="Everything alice did">alice</a> moved '
        f'<a href="/numbers/{number.public_id}/" title="+14155550122">+1 415-555-0122</a> from '
        '<a href="/agents/agent_other/" title="agent_other">Billing</a> to '
        '<a href="/agents/agent_abc/" title="agent_abc">Reminder bot</a>.'
    ) in content


def test_a_sip_numbers_page_shows_what_a_pbx_needs(bob, agent, sip_number, settings):
    settings.SIP_GATEWAY_DOMAIN = "sip.gateway.example.com"
    content = client_for(bob).get(f"/numbers/{sip_number.public_id}/").content.decode()
    assert "sip:+14155550111@sip.gateway.example.com" in content
    assert "sip:agent_abc@sip.gateway.example.com" in content
    assert "agent_abc" in content
    assert "sip.gateway.example.com" in content
    assert "sip:+14155550111@pbx.example.com" in content  # its stored URI
    assert "main" in content


def test_an_operator_edits_a_sip_numbers_uri_and_a_bad_uri_is_refused(alice, sip_number):
    client = client_for(alice)
    client.post(
        f"/numbers/{sip_number.public_id}/edit",
        {"friendly_name": "Lobby", "sip_uri": "sip:lobby@pbx.example.com", "sip_trunk": "t2"},
    )
    sip_number.refresh_from_db()
    assert (sip_number.friendly_name, sip_number.sip_uri, sip_number.sip_trunk) == (
        "Lobby",
        "sip:lobby@pbx.example.com",
        "t2",
    )
    response = client.post(f"/numbers/{sip_number.public_id}/edit", {"sip_uri": "nonsense"})
    assert response.status_code == 400
    assert b"not a SIP URI" in response.content


def test_an_operator_releases_a_number_once_confirmed(alice, agent, sip_number):
    client = client_for(alice)
    asked = client.post(f"/numbers/{sip_number.public_id}/release")
    assert "Release +1 415-555-0111?" in asked.content.decode()
    assert "Reminder bot loses it" in asked.content.decode()
    assert PhoneNumber.objects.exists()
    response = client.post(f"/numbers/{sip_number.public_id}/release", {"confirmed": "yes"})
    assert response.url == "/numbers/"
    assert not PhoneNumber.objects.exists()
    assert AuditEvent.objects.get(action="number.released").before["agent_id"] == "agent_abc"


# Bulk assignment -------------------------------------------------------------------------------------------------


PASTED = "+14155550111\n(415) 555-0122\nnot a number\n+14155550133\n415-555-0111\n+14155550144"


def test_the_bulk_preview_shows_every_row_and_its_conflicts_and_saves_nothing(alice, agent):
    other = AgentFactory(name="Other bot", public_id="agent_other")
    PhoneNumberFactory(number="+14155550122")  # unassigned: will be assigned
    PhoneNumberFactory(number="+14155550133", agent=other)  # held by another agent: conflict
    PhoneNumberFactory(number="+14155550144", agent=agent)  # already this agent's
    before = list(PhoneNumber.objects.order_by("number").values_list("number", "agent_id"))
    response = client_for(alice).post(
        "/numbers/bulk/preview",
        {"agent": "agent_abc", "provider": "twilio", "numbers": PASTED},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    content = response.content.decode()
    assert "Nothing has been saved yet" in content
    assert 'held by <a href="/agents/agent_other/">Other bot</a>' in content
    assert '<tr class="plan-invalid">\n    <td>3</td>' in content  # the invalid row, with its row number
    assert '<tr class="plan-duplicate">\n    <td>5</td>' in content
    assert "same as row 1" in content
    assert "2 to assign" in content  # +14155550111 (new) and +14155550122
    assert list(PhoneNumber.objects.order_by("number").values_list("number", "agent_id")) == before
    assert not AuditEvent.objects.exists()


def test_confirming_the_bulk_preview_assigns_and_skips_held_numbers_unless_asked(alice, agent):
    other = AgentFactory(public_id="agent_other", name="Other bot")
    PhoneNumberFactory(number="+14155550133", agent=other)
    client = client_for(alice)
    response = client.post(
        "/numbers/bulk/confirm",
        {"agent": "agent_abc", "provider": "twilio", "numbers": "+14155550111\n+14155550133\n"},
    )
    assert response.url == "/numbers/"  # the whole list, not silently filtered to one agent
    content = client.get(response.url).content.decode()
    assert (
        'assigned to <a href="/agents/agent_abc/" title="agent_abc">Reminder bot</a> (1 new to the inventory).'
        in (content)
    )
    assert (
        '+1 415-555-0133 skipped: held by <a href="/agents/agent_other/" title="agent_other">Other bot</a>.'
        in (content)
    )
    assert PhoneNumber.objects.get(number="+14155550111").provider == "twilio"
    assert PhoneNumber.objects.get(number="+14155550111").agent == agent
    assert PhoneNumber.objects.get(number="+14155550133").agent == other
    client.post("/numbers/bulk/confirm", {"agent": "agent_abc", "numbers": "+14155550133", "move_held": "on"})
    assert PhoneNumber.objects.get(number="+14155550133").agent == agent


def test_a_csv_names_its_numbers_new_ones_and_those_it_renames(alice, agent):
    PhoneNumberFactory(number="+14155550122", agent=agent, friendly_name="Old name")
    csv = b"phone,name\n+14155550111,Front desk\n+14155550122,Back office\n"
    client = client_for(alice)
    preview = client.post(
        "/numbers/bulk/preview",
        {"agent": "agent_abc", "provider": "simulator", "file": SimpleUploadedFile("n.csv", csv, "text/csv")},
    ).content.decode()
    assert "<td>Front desk</td>" in preview
    assert "<td><del>Old name</del> Back office</td>" in preview
    assert "+14155550111\tFront desk\n+14155550122\tBack office" in preview  # what the confirmation posts

    done = client.post(
        "/numbers/bulk/confirm",
        {
            "agent": "agent_abc",
            "provider": "simulator",
            "numbers": "+14155550111\tFront desk\n+14155550122\tBack office\n",
        },
        follow=True,
    )
    assert "2 numbers assigned to" not in done.content.decode()  # one was Reminder bot's already
    assert "1 number assigned to" in done.content.decode()
    assert "1 number renamed." in done.content.decode()
    assert dict(PhoneNumber.objects.values_list("number", "friendly_name")) == {
        "+14155550111": "Front desk",
        "+14155550122": "Back office",
    }
    assert AuditEvent.objects.get(action="number.updated").after["friendly_name"] == "Back office"


def test_numbers_may_be_added_to_the_inventory_unassigned(alice, agent):
    PhoneNumberFactory(number="+14155550133", agent=agent)
    client = client_for(alice)
    preview = client.post(
        "/numbers/bulk/preview",
        {"agent": "", "provider": "twilio", "numbers": "+14155550111\n+14155550133"},
        HTTP_HX_REQUEST="true",
    ).content.decode()
    assert "Preview: add to the inventory, unassigned" in preview
    assert "Confirm: add to the inventory" in preview
    assert "nothing to do" in preview  # +14155550133 stays Reminder bot's

    response = client.post(
        "/numbers/bulk/confirm", {"agent": "", "provider": "twilio", "numbers": "+14155550111\n"}
    )
    assert response.url == "/numbers/"
    assert "1 number added to the inventory, unassigned." in client.get("/numbers/").content.decode()
    added = PhoneNumber.objects.get(number="+14155550111")
    assert (added.agent, added.provider) == (None, "twilio")
    assert PhoneNumber.objects.get(number="+14155550133").agent == agent
    assert list(AuditEvent.objects.values_list("action", flat=True)) == ["number.added"]


def test_the_bulk_form_is_offered_before_any_agent_exists(alice):
    content = client_for(alice).get("/numbers/").content.decode()
    assert 'action="/numbers/bulk/preview"' in content
    assert "No agent: add them to the inventory, unassigned" in content


def test_a_csv_upload_is_previewed_with_spreadsheet_row_numbers(alice, agent):
    from django.core.files.uploadedfile import SimpleUploadedFile

    csv = "name;phone\nJane;+14155550111\nJoe;bogus\n".encode("utf-8-sig")
    response = client_for(alice).post(
        "/numbers/bulk/preview",
        {"agent": "agent_abc", "provider": "simulator", "file": SimpleUploadedFile("n.csv", csv, "text/csv")},
    )
    content = response.content.decode()
    assert response.status_code == 200
    assert '<tr class="plan-new">\n    <td>2</td>' in content
    assert '<tr class="plan-invalid">\n    <td>3</td>' in content
    assert not PhoneNumber.objects.exists()


def test_a_bulk_preview_with_nothing_in_it_says_so(alice, agent):
    response = client_for(alice).post(
        "/numbers/bulk/preview", {"agent": "agent_abc", "provider": "simulator"}
    )
    assert response.status_code == 400
    assert b"Paste some numbers or choose a CSV file" in response.content


def test_a_file_that_is_not_utf8_is_refused_readably(alice, agent):
    from django.core.files.uploadedfile import SimpleUploadedFile

    response = client_for(alice).post(
        "/numbers/bulk/preview",
        {
            "agent": "agent_abc",
            "provider": "simulator",
            "file": SimpleUploadedFile("n.csv", b"\xff\xfe\x00bad", "text/csv"),
        },
    )
    assert response.status_code == 400
    assert b"not UTF-8" in response.content


def test_the_list_pages_do_not_grow_queries_with_rows(alice, django_assert_max_num_queries):
    for _ in range(30):
        agent = AgentFactory()
        PhoneNumberFactory(agent=agent)
        PhoneNumberFactory()
    client = client_for(alice)
    client.get("/numbers/")  # warm the session and role caches
    with django_assert_max_num_queries(10):
        assert client.get("/numbers/").status_code == 200
    with django_assert_max_num_queries(10):
        assert client.get("/agents/").status_code == 200


def test_the_agent_list_pages_through_many_agents(bob):
    AgentFactory.create_batch(105)
    client = client_for(bob)
    first = client.get("/agents/").content.decode()
    assert "Page 1 of 2" in first
    second = client.get("/agents/", {"page": 2}).content.decode()
    assert "Page 2 of 2" in second
    assert second.count('<tr>\n  <td><a href="/agents/') == 5


def test_a_csv_the_csv_module_cannot_read_is_refused_readably_not_a_500(alice, agent):
    from django.core.files.uploadedfile import SimpleUploadedFile

    huge_cell = b'number\n"' + b"1" * 200_000 + b'"\n'  # over the csv module's field size limit
    response = client_for(alice).post(
        "/numbers/bulk/preview",
        {
            "agent": "agent_abc",
            "provider": "simulator",
            "file": SimpleUploadedFile("n.csv", huge_cell, "text/csv"),
        },
    )
    assert response.status_code == 400
    assert b"The file is not a CSV we can read" in response.content
    assert not PhoneNumber.objects.exists()
