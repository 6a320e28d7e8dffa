"""Outbound calls from SIP trunk numbers: `trunk_provider` names the carrier that hosts the trunk, checked at
number creation (API, bulk API, form), and an agent's call from such a number goes through that carrier with
the number as caller id; without one the number stays inbound-only and says how to change that."""

import pytest

from agents.models import PhoneNumber, Provider
from calls.models import Call
from calls.services import call_place
from tests.factories import AgentFactory, PhoneNumberFactory
from tests.telephony.fake_twilio import FakeTwilio

pytestmark = pytest.mark.django_db

SIP_NUMBER = "+14155550111"


@pytest.fixture
def fake_twilio(twilio_settings):
    fake = FakeTwilio().start()
    twilio_settings.TWILIO_API_BASE_URL = fake.base_url
    yield fake
    fake.stop()


def add_number(api, user, **body):
    return api(user).post("/v1/numbers", {"number": SIP_NUMBER, "provider": "sip", **body}, format="json")


def test_a_sip_number_with_twilio_as_trunk_provider_is_added_and_listed_with_it(api, alice):
    response = add_number(api, alice, trunk_provider="twilio", sip_trunk="acme-trunk")
    assert response.status_code == 201, response.json()
    assert response.json()["trunk_provider"] == "twilio"
    listed = api(alice).get("/v1/numbers").json()["results"]
    assert [(n["number"], n["trunk_provider"]) for n in listed] == [(SIP_NUMBER, "twilio")]
    assert PhoneNumber.objects.get(number=SIP_NUMBER).trunk_provider == "twilio"


def test_a_number_of_another_provider_lists_a_blank_trunk_provider(api, alice):
    PhoneNumberFactory(number="+14155550122", provider=Provider.SIMULATOR)
    (listed,) = api(alice).get("/v1/numbers").json()["results"]
    assert listed["trunk_provider"] == ""


@pytest.mark.parametrize(
    ("trunk_provider", "why"),
    [
        ("simulator", "it cannot place calls"),
        ("sip", "it cannot place calls"),
        ("bandwidth", "there is no such provider"),
    ],
)
def test_a_trunk_provider_that_cannot_originate_is_refused_with_a_422_saying_what_to_do(
    api, alice, trunk_provider, why
):
    response = add_number(api, alice, trunk_provider=trunk_provider)
    assert response.status_code == 422
    error = response.json()["error"]
    assert (error["code"], error["field"]) == ("trunk_provider_cannot_originate", "trunk_provider")
    assert why in error["message"]
    assert "Set it to the carrier that hosts your SIP trunk (twilio" in error["message"]
    assert "or leave it blank to keep the number inbound-only" in error["message"]
    assert not PhoneNumber.objects.exists()


def test_a_trunk_provider_on_a_number_that_is_not_sip_is_refused(api, alice):
    response = api(alice).post(
        "/v1/numbers", {"number": SIP_NUMBER, "provider": "twilio", "trunk_provider": "twilio"}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["error"]["field"] == "trunk_provider"


def test_bulk_creation_refuses_the_whole_batch_when_one_trunk_provider_cannot_originate(api, alice):
    body = {
        "provider": "sip",
        "numbers": [
            {"number": "+14155550111", "trunk_provider": "twilio"},
            {"number": "+14155550112", "trunk_provider": "simulator"},
        ],
    }
    response = api(alice).post("/v1/numbers/bulk", body, format="json")
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "trunk_provider_cannot_originate"
    assert not PhoneNumber.objects.exists()


def test_the_add_number_form_refuses_a_trunk_provider_outside_its_choices(client, alice):
    client.force_login(alice)
    response = client.post(
        "/numbers/add", {"number": SIP_NUMBER, "provider": "sip", "trunk_provider": "simulator"}
    )
    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()
    assert not PhoneNumber.objects.exists()


def test_the_add_number_form_saves_the_trunk_provider(client, alice):
    client.force_login(alice)
    response = client.post(
        "/numbers/add", {"number": SIP_NUMBER, "provider": "sip", "trunk_provider": "twilio"}
    )
    assert response.status_code == 302
    assert PhoneNumber.objects.get(number=SIP_NUMBER).trunk_provider == "twilio"


def test_patching_the_trunk_provider_enables_and_then_disables_outbound_calls(api, alice):
    number = PhoneNumberFactory(number=SIP_NUMBER, provider=Provider.SIP)
    url = f"/v1/numbers/{number.public_id}"
    assert (
        api(alice).patch(url, {"trunk_provider": "twilio"}, format="json").json()["trunk_provider"]
        == "twilio"
    )
    assert api(alice).patch(url, {"trunk_provider": "simulator"}, format="json").status_code == 422
    assert api(alice).patch(url, {"trunk_provider": ""}, format="json").json()["trunk_provider"] == ""


def test_an_agents_call_from_a_twilio_hosted_trunk_number_goes_through_twilio_with_that_caller_id(
    api, alice, fake_twilio
):
    agent = AgentFactory(public_id="agent_trunk")
    PhoneNumberFactory(number=SIP_NUMBER, provider=Provider.SIP, trunk_provider="twilio", agent=agent)
    response = api(alice).post(
        f"/v1/agents/{agent.public_id}/calls", {"phone_number": "+14155550123"}, format="json"
    )
    assert response.status_code == 201, response.json()
    call = Call.objects.get(public_id=response.json()["id"])
    assert (call.provider, call.from_number) == (Provider.TWILIO, SIP_NUMBER)
    sid = call_place(call_id=call.pk)
    (request,) = fake_twilio.creates()
    assert (request["form"]["From"], request["form"]["To"]) == ([SIP_NUMBER], ["+14155550123"])
    assert Call.objects.get(pk=call.pk).provider_call_id == sid


def test_a_call_from_an_inbound_only_sip_number_is_refused_saying_how_to_enable_it(api, alice):
    agent = AgentFactory(public_id="agent_pbx")
    PhoneNumberFactory(number=SIP_NUMBER, provider=Provider.SIP, agent=agent)
    response = api(alice).post(
        f"/v1/agents/{agent.public_id}/calls", {"phone_number": "+14155550123"}, format="json"
    )
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "no_outbound_number"
    assert f"{SIP_NUMBER} is a SIP trunk number that only receives calls" in error["message"]
    assert "set its trunk_provider to the carrier that hosts the trunk (twilio" in error["message"]
    assert "give that provider its credentials" in error["message"]
    assert not Call.objects.exists()


def test_choosing_an_inbound_only_sip_number_as_from_number_is_refused_saying_how_to_enable_it(api, alice):
    agent = AgentFactory(public_id="agent_pbx")
    PhoneNumberFactory(number=SIP_NUMBER, provider=Provider.SIP, agent=agent)
    PhoneNumberFactory(number="+14155550122", provider=Provider.SIMULATOR, agent=agent)
    body = {"phone_number": "+14155550123", "from_number": SIP_NUMBER}
    response = api(alice).post(f"/v1/agents/{agent.public_id}/calls", body, format="json")
    assert response.status_code == 422
    error = response.json()["error"]
    assert (error["code"], error["field"]) == ("invalid_from_number", "from_number")
    assert "only receives calls. To call from it, set its trunk_provider" in error["message"]


def test_a_trunk_number_whose_carrier_has_no_credentials_is_refused_naming_what_to_set(api, alice, settings):
    settings.TWILIO_ACCOUNT_SID = settings.TWILIO_AUTH_TOKEN = ""
    agent = AgentFactory(public_id="agent_trunk")
    PhoneNumberFactory(number=SIP_NUMBER, provider=Provider.SIP, trunk_provider="twilio", agent=agent)
    response = api(alice).post(
        f"/v1/agents/{agent.public_id}/calls", {"phone_number": "+14155550123"}, format="json"
    )
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "provider_not_configured"
    assert "TWILIO_AUTH_TOKEN" in response.json()["error"]["message"]
