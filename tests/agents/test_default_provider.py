"""An agent's default provider (blank = automatic): which of its numbers a call without `from_number` goes
out from when it has numbers on several providers, and whether an agent without numbers may call at all."""

import pytest

from agents.models import Agent, Provider
from calls.models import Call
from calls.services import outbound_line
from tests.factories import AgentFactory, PhoneNumberFactory

pytestmark = pytest.mark.django_db

CALLEE = "+14155550123"  # San Francisco


def two_provider_agent(default_provider: str = "") -> Agent:
    """An agent with a San Francisco number on the simulator and a New York one on Twilio."""
    agent = AgentFactory(public_id="agent_two", default_provider=default_provider)
    PhoneNumberFactory(number="+14155550101", provider=Provider.SIMULATOR, agent=agent)
    PhoneNumberFactory(number="+12125550102", provider=Provider.TWILIO, agent=agent)
    return agent


def test_the_agent_api_round_trips_the_default_provider(api, alice):
    created = api(alice).post("/v1/agents", {"name": "Sales", "default_provider": "twilio"}, format="json")
    assert created.status_code == 201, created.json()
    agent_id = created.json()["id"]
    assert created.json()["default_provider"] == "twilio"
    assert api(alice).get(f"/v1/agents/{agent_id}").json()["default_provider"] == "twilio"
    patched = api(alice).patch(f"/v1/agents/{agent_id}", {"default_provider": ""}, format="json")
    assert patched.json()["default_provider"] == ""
    assert Agent.objects.get(public_id=agent_id).default_provider == ""


def test_an_agent_without_a_default_provider_reads_as_automatic_blank(api, alice, agent):
    assert api(alice).get(f"/v1/agents/{agent.public_id}").json()["default_provider"] == ""


@pytest.mark.parametrize("provider", ["sip", "nonesuch"])
def test_a_default_provider_that_places_no_calls_is_refused_with_a_422(api, alice, agent, provider):
    response = api(alice).patch(
        f"/v1/agents/{agent.public_id}", {"default_provider": provider}, format="json"
    )
    assert response.status_code == 422
    error = response.json()["error"]
    assert (error["code"], error["field"]) == ("invalid_default_provider", "default_provider")
    assert "Leave it blank (automatic) or use one of simulator, twilio" in error["message"]
    assert Agent.objects.get(pk=agent.pk).default_provider == ""


def test_without_a_default_the_callers_id_is_the_number_most_like_the_callees():
    agent = two_provider_agent()
    assert outbound_line(agent=agent, callee=CALLEE) == ("+14155550101", Provider.SIMULATOR)


def test_with_a_default_provider_its_number_is_the_caller_id_even_if_another_looks_more_like_the_callee():
    agent = two_provider_agent(default_provider=Provider.TWILIO)
    assert outbound_line(agent=agent, callee=CALLEE) == ("+12125550102", Provider.TWILIO)


def test_among_the_default_providers_numbers_the_one_most_like_the_callee_wins():
    agent = two_provider_agent(default_provider=Provider.TWILIO)
    PhoneNumberFactory(number="+14155550103", provider=Provider.TWILIO, agent=agent)
    assert outbound_line(agent=agent, callee=CALLEE) == ("+14155550103", Provider.TWILIO)


def test_a_default_provider_with_no_number_of_the_agent_falls_back_to_the_others():
    agent = AgentFactory(default_provider=Provider.TWILIO)
    PhoneNumberFactory(number="+14155550101", provider=Provider.SIMULATOR, agent=agent)
    assert outbound_line(agent=agent, callee=CALLEE) == ("+14155550101", Provider.SIMULATOR)


def test_an_explicit_from_number_beats_the_default_provider():
    agent = two_provider_agent(default_provider=Provider.TWILIO)
    line = outbound_line(agent=agent, callee=CALLEE, from_number="+14155550101")
    assert line == ("+14155550101", Provider.SIMULATOR)


def test_a_sip_trunk_number_hosted_by_the_default_provider_counts_as_one_of_its_lines():
    agent = AgentFactory(default_provider=Provider.TWILIO)
    PhoneNumberFactory(number="+14155550101", provider=Provider.SIMULATOR, agent=agent)
    PhoneNumberFactory(number="+12125550111", provider=Provider.SIP, trunk_provider="twilio", agent=agent)
    assert outbound_line(agent=agent, callee=CALLEE) == ("+12125550111", Provider.TWILIO)


def test_an_agent_without_numbers_calls_through_the_simulator_by_default_or_when_it_is_the_default(
    api, alice
):
    for default in ("", Provider.SIMULATOR):
        agent = AgentFactory(default_provider=default)
        response = api(alice).post(
            f"/v1/agents/{agent.public_id}/calls", {"phone_number": CALLEE}, format="json"
        )
        assert response.status_code == 201, response.json()
        assert Call.objects.get(public_id=response.json()["id"]).provider == Provider.SIMULATOR


def test_an_agent_without_numbers_whose_default_needs_a_number_is_refused_saying_why(api, alice):
    agent = AgentFactory(public_id="agent_bare", default_provider=Provider.TWILIO)
    response = api(alice).post(f"/v1/agents/{agent.public_id}/calls", {"phone_number": CALLEE}, format="json")
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "no_outbound_number"
    assert error["message"] == (
        "Agent agent_bare has no number to call from, and its default provider twilio needs one: give the "
        "agent a twilio number, or set its default provider to simulator or automatic."
    )
    assert not Call.objects.exists()


def test_the_agent_page_shows_and_edits_the_default_provider(client, alice, bob):
    agent = AgentFactory(public_id="agent_page", name="Page agent")
    client.force_login(alice)
    page = client.get(f"/agents/{agent.public_id}/").content.decode()
    assert "Default provider" in page
    assert "automatic" in page
    form = {"name": "Page agent", "language": "en-US", "max_duration": 600, "default_provider": "twilio"}
    assert client.post(f"/agents/{agent.public_id}/edit", form).status_code == 302
    assert Agent.objects.get(pk=agent.pk).default_provider == "twilio"
    client.force_login(bob)  # the viewer sees it, and may not change it
    assert "<td>twilio</td>" in client.get(f"/agents/{agent.public_id}/").content.decode()
    form["default_provider"] = ""
    assert client.post(f"/agents/{agent.public_id}/edit", form).status_code == 403
    assert Agent.objects.get(pk=agent.pk).default_provider == "twilio"
