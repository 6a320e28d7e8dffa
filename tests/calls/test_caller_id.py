"""Caller ID and numbers as people type them (issue #18 items 3 and 4): a call is placed from the agent's
number in the callee's country (and area code, where it has one) unless the caller chooses one, and the
API reads a number however it is typed, answering E.164."""

import pytest

from agents.models import Provider
from calls.models import Call
from calls.services import call_create
from tests.factories import AgentFactory, PhoneNumberFactory

pytestmark = pytest.mark.django_db

UK, SAN_FRANCISCO, NEW_YORK = "+442079460100", "+14155550100", "+12125550100"


@pytest.fixture
def agent_in_two_countries():
    agent = AgentFactory()
    for number, jurisdiction in [(UK, "GB"), (SAN_FRANCISCO, "US-CA"), (NEW_YORK, "US-NY")]:
        PhoneNumberFactory(agent=agent, number=number, jurisdiction=jurisdiction, provider=Provider.SIMULATOR)
    return agent


def test_a_new_york_customer_is_called_from_the_new_york_number_not_the_uk_one(agent_in_two_countries):
    call, _ = call_create(agent=agent_in_two_countries, to_number="+12125550123")
    assert call.from_number == NEW_YORK


def test_a_callee_in_another_us_area_is_called_from_a_us_number(agent_in_two_countries):
    call, _ = call_create(agent=agent_in_two_countries, to_number="+13125550142")  # Chicago
    assert call.from_number in {SAN_FRANCISCO, NEW_YORK}


def test_a_london_callee_is_called_from_the_uk_number(agent_in_two_countries):
    call, _ = call_create(agent=agent_in_two_countries, to_number="+442079460958")
    assert call.from_number == UK


def test_the_caller_may_choose_the_number_through_the_api(api, alice, agent_in_two_countries):
    body = {"phone_number": "+12125550123", "from_number": "+1 (415) 555-0100"}
    response = api(alice).post(f"/v1/agents/{agent_in_two_countries.public_id}/calls", body, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["from_number"] == SAN_FRANCISCO


def test_a_number_the_agent_does_not_hold_is_refused_naming_the_field(api, alice, agent_in_two_countries):
    body = {"phone_number": "+12125550123", "from_number": "+13125550100"}
    response = api(alice).post(f"/v1/agents/{agent_in_two_countries.public_id}/calls", body, format="json")
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_from_number"
    assert response.json()["error"]["field"] == "from_number"
    assert not Call.objects.exists()


@pytest.mark.parametrize("typed", ["(415) 555-0199", "415.555.0199", "+1 415 555 0199", "1-415-555-0199"])
def test_the_api_reads_a_number_as_people_type_it(api, alice, agent, typed):
    response = api(alice).post(f"/v1/agents/{agent.public_id}/calls", {"phone_number": typed}, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["phone_number"] == "+14155550199"


def test_a_number_that_cannot_exist_says_why(api, alice, agent):
    response = api(alice).post(
        f"/v1/agents/{agent.public_id}/calls", {"phone_number": "+10005550123"}, format="json"
    )
    assert response.status_code == 400
    assert "numbering plan" in response.json()["error"]["message"]


def test_numbers_are_shown_for_reading_and_carry_their_e164_to_copy(client, alice, settings):
    from django.template import Context, Template

    settings.DEFAULT_PHONE_REGION = "US"
    template = Template("{% load agent_links %}{{ local|phone }} {{ abroad|phone }} {{ none|phone }}")
    html = template.render(Context({"local": "+14155550123", "abroad": "+442079460958", "none": ""}))
    assert '<span class="phone" data-e164="+14155550123" title="+14155550123">(415) 555-0123</span>' in html
    assert ">+44 20 7946 0958</span>" in html
    assert html.endswith("—")


def test_the_call_page_shows_from_and_to_for_reading(client, alice, agent_in_two_countries):
    call, _ = call_create(agent=agent_in_two_countries, to_number="+442079460958")
    client.force_login(alice)
    page = client.get(f"/calls/{call.public_id}/").content.decode()
    assert 'data-e164="+442079460100"' in page
    assert "+44 20 7946 0958" in page
