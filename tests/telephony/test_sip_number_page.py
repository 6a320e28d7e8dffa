"""A SIP number's page: the PBX configuration for Avaya, Genesys, Cisco, FreeSWITCH and Asterisk, filled with
this number, its agent and SIP_GATEWAY_DOMAIN, and "Test this number": a simulated inbound call delivered as
the gateway would, through the real inbound routing, to completed."""

import re

import pytest

from agents.models import Provider
from calls.models import Call, CallEvent, CallStatus, Direction
from tests.factories import AgentFactory, PhoneNumberFactory
from tests.helpers import wait_for

SIP_NUMBER = "+14155550111"
DOMAIN = "acme-wordcab.sip.twilio.com"


@pytest.fixture
def gateway(settings):
    settings.SIP_GATEWAY_DOMAIN = DOMAIN
    settings.SIMULATOR_SPEED = 20
    settings.SIMULATOR_DISORDER = False
    return settings


def sip_number(**fields):
    agent = fields.pop("agent", None) or AgentFactory(public_id="agent_support", name="Support")
    return PhoneNumberFactory(number=SIP_NUMBER, provider=Provider.SIP, agent=agent, **fields)


def page_of(client, user, number) -> str:
    client.force_login(user)
    response = client.get(f"/numbers/{number.public_id}/")
    assert response.status_code == 200
    return response.content.decode()


def snippet(page: str, product: str) -> str:
    return re.search(rf'<pre class="mono" id="snippet-{product}">(.*?)</pre>', page, re.S).group(1)


@pytest.mark.django_db
def test_the_cisco_snippet_is_a_dial_peer_for_this_number_to_the_gateway(client, alice, gateway):
    cisco = snippet(page_of(client, alice, sip_number()), "cisco")
    assert "dial-peer voice 910 voip" in cisco
    assert f" destination-pattern {SIP_NUMBER}\n" in cisco
    assert f" session target dns:{DOMAIN}:5060\n" in cisco
    assert " session protocol sipv2\n" in cisco
    assert "description Wordcab agent_support" in cisco


@pytest.mark.django_db
def test_every_pbx_snippet_names_this_number_and_the_gateway_domain(client, alice, gateway):
    page = page_of(client, alice, sip_number())
    for product in ("avaya", "genesys", "cisco", "freeswitch", "asterisk"):
        text = snippet(page, product)
        assert SIP_NUMBER in text, product
        assert DOMAIN in text, product
        assert f'data-copy="snippet-{product}"' in page  # its copy button
    assert "Routing → Dial Patterns" in snippet(page, "avaya")
    assert "BYOC Carrier" in snippet(page, "genesys")
    assert "[TServer] contact = sip:" in snippet(page, "genesys")
    freeswitch = snippet(page, "freeswitch")
    assert f'&lt;param name="proxy" value="{DOMAIN}"/&gt;' in freeswitch
    assert f'data="sofia/gateway/wordcab/{SIP_NUMBER}"' in freeswitch
    assert f"exten => {SIP_NUMBER},1,Dial(PJSIP/{SIP_NUMBER}@wordcab-gateway)" in snippet(page, "asterisk")
    assert "js/copy_buttons.js" in page


@pytest.mark.django_db
def test_a_number_that_is_not_sip_has_no_pbx_section_and_no_test_action(client, alice):
    number = PhoneNumberFactory(number="+14155550122", provider=Provider.SIMULATOR)
    page = page_of(client, alice, number)
    assert "snippet-cisco" not in page
    assert "Test this number" not in page
    client.force_login(alice)
    assert client.post(f"/numbers/{number.public_id}/sip-test").status_code == 404


@pytest.mark.django_db
def test_a_viewer_sees_the_configuration_but_not_the_test_button_and_may_not_test(client, bob, gateway):
    number = sip_number()
    page = page_of(client, bob, number)
    assert "snippet-cisco" in page
    assert ">Test this number</button>" not in page
    assert client.post(f"/numbers/{number.public_id}/sip-test").status_code == 403
    assert not Call.objects.exists()


def test_test_this_number_reaches_the_assigned_agent_and_runs_to_completed(
    celery_worker_thread, client, alice, gateway
):
    number = sip_number()
    client.force_login(alice)
    response = client.post(f"/numbers/{number.public_id}/sip-test")
    call = Call.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/numbers/{number.public_id}/?test_call={call.public_id}#sip-test"
    assert (call.direction, call.provider, call.agent.public_id) == (
        Direction.INBOUND,
        Provider.SIP,
        "agent_support",
    )
    assert (call.to_number, call.from_number) == (SIP_NUMBER, "+14155550100")

    def ended():
        return Call.objects.filter(pk=call.pk, status__in=CallStatus.terminal()).exists()

    wait_for(ended, timeout=20, what="the test call to end")
    call.refresh_from_db()
    assert (call.status, call.end_reason) == (CallStatus.COMPLETED, "hangup")
    assert call.answered_at is not None
    statuses = list(CallEvent.objects.filter(call=call).order_by("id").values_list("status", flat=True))
    assert statuses == [CallStatus.RINGING, CallStatus.IN_PROGRESS, CallStatus.COMPLETED]  # the simulator's

    outcome = client.get(f"/numbers/{number.public_id}/sip-test/{call.public_id}").content.decode()
    assert f'href="/calls/{call.public_id}/"' in outcome
    assert "it reached the agent and ended normally." in outcome
    assert "hx-trigger" not in outcome  # ended: no more polling


@pytest.mark.django_db
def test_the_outcome_of_a_test_call_still_running_asks_again(client, alice, gateway):
    number = sip_number()
    client.force_login(alice)
    client.post(f"/numbers/{number.public_id}/sip-test")
    call = Call.objects.get()
    outcome = client.get(f"/numbers/{number.public_id}/sip-test/{call.public_id}").content.decode()
    assert 'hx-trigger="every 1s"' in outcome


@pytest.mark.django_db
def test_testing_an_unassigned_number_says_so_and_what_the_caller_heard(client, alice, gateway):
    number = PhoneNumberFactory(number=SIP_NUMBER, provider=Provider.SIP)
    client.force_login(alice)
    page = client.post(f"/numbers/{number.public_id}/sip-test", follow=True).content.decode()
    assert f"Test call not connected. {SIP_NUMBER} has no agent: assign one above, then test again." in page
    assert "The caller heard: “Sorry, this number is not in service. Goodbye.”" in page
    assert not Call.objects.exists()


@pytest.mark.django_db
def test_testing_a_number_of_a_disabled_agent_says_to_enable_it(client, alice, gateway):
    number = sip_number(agent=AgentFactory(public_id="agent_off", name="Night", is_active=False))
    client.force_login(alice)
    page = client.post(f"/numbers/{number.public_id}/sip-test", follow=True).content.decode()
    assert "Night (agent_off) is disabled: enable it, then test again." in page
    assert "Sorry, no one can take your call right now." in page
    assert not Call.objects.exists()
