"""Every call is cleared when it is created: an outbound call that fails a check is refused with a 422 and
nothing is created or placed; a cleared call stores its decision, which its page shows. Inbound calls get a
decision too, with the caller's jurisdiction, and are never refused."""

from datetime import UTC, datetime

import pytest
from django.test import Client

from agents.models import Provider
from calls.consent import call_opener_snapshot
from calls.models import Call, CallStatus, Direction
from calls.services import call_create, inbound_call_record
from compliance.models import ConsentOpener
from telephony.twilio.inbound import inbound_call_route
from tests.factories import (
    CallFactory,
    ConsentOpenerFactory,
    DoNotCallFactory,
    JurisdictionFactory,
    PhoneNumberFactory,
    number_inside_calling_hours,
)
from wordcab_admin.kernel.errors import Unprocessable

pytestmark = pytest.mark.django_db

CALIFORNIA = "+14155550123"
NEW_YORK_LINE = "+12125550100"
SUNDAY_SIX_AM_IN_CALIFORNIA = datetime(2026, 6, 21, 13, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def no_broker(monkeypatch):
    placed = []
    monkeypatch.setattr("calls.services.call_place_enqueue", lambda call_id: placed.append(call_id))
    return placed


@pytest.fixture
def rules(db):
    """California all-party 08:00-21:00 every day; New York one-party."""
    JurisdictionFactory(code="US-CA", name="California", recording_consent="all_party")
    JurisdictionFactory(code="US-NY", name="New York", recording_consent="one_party")


def url(agent) -> str:
    return f"/v1/agents/{agent.public_id}/calls"


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_a_created_call_stores_its_decision(api, alice, agent, rules):
    PhoneNumberFactory(number=NEW_YORK_LINE, agent=agent, provider=Provider.SIMULATOR)
    response = api(alice).post(url(agent), {"phone_number": CALIFORNIA}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    decision = body["decision"]
    assert body["jurisdiction"] == "US-CA"
    assert decision["cleared"] is True
    assert decision["jurisdictions"]["callee"]["jurisdiction"] == "US-CA"
    assert decision["jurisdictions"]["caller"] == {
        "number": NEW_YORK_LINE,
        "jurisdiction": "US-NY",
        "name": "New York",
        "recording_consent": "one_party",
        "rules_from": "US-NY",
        "needs_review": False,
    }
    assert decision["consent"] == {"rule": "all_party", "jurisdiction": "US-CA", "party": "callee"}
    assert (
        decision["calling_window"]["local_time"] == "2026-06-17T11:30:00-07:00"
    )  # the tests' clearance clock
    assert decision["do_not_call"]["listed"] is False
    default = ConsentOpener.objects.filter(jurisdiction="", agent=None).latest("id")
    assert decision["opener"]["id"] == default.pk
    assert decision["retention"]["days"] == 30
    assert Call.objects.get(public_id=body["id"]).decision == decision


def test_a_call_outside_the_callees_calling_window_is_refused_and_nothing_is_created(
    api, alice, agent, rules, clearance_clock_at, no_broker
):
    clearance_clock_at(SUNDAY_SIX_AM_IN_CALIFORNIA)
    response = api(alice).post(
        url(agent), {"phone_number": CALIFORNIA, "idempotency_key": "k1"}, format="json"
    )
    assert response.status_code == 422, response.content
    error = response.json()["error"]
    assert (error["code"], error["field"]) == ("outside_calling_window", "phone_number")
    assert "it is 06:00 on Sunday in America/Los_Angeles" in error["message"]
    assert "08:00-21:00" in error["message"]
    assert "opens next on Sunday 2026-06-21 at 08:00 local time" in error["message"]
    assert error["opens_at"] == "2026-06-21T15:00:00Z"
    assert not Call.objects.exists()
    assert no_broker == []


def test_the_same_call_is_accepted_once_the_window_opens(api, alice, agent, rules, clearance_clock_at):
    clearance_clock_at(SUNDAY_SIX_AM_IN_CALIFORNIA)
    body = {"phone_number": CALIFORNIA, "idempotency_key": "k1"}
    assert api(alice).post(url(agent), body, format="json").status_code == 422
    clearance_clock_at(datetime(2026, 6, 21, 15, 0, tzinfo=UTC))  # 08:00 PDT
    assert api(alice).post(url(agent), body, format="json").status_code == 201


def test_a_callee_on_the_do_not_call_list_is_refused_with_422(api, alice, agent, rules, no_broker):
    DoNotCallFactory(number=CALIFORNIA, reason="Opted out")
    response = api(alice).post(url(agent), {"phone_number": CALIFORNIA}, format="json")
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "do_not_call"
    assert f"{CALIFORNIA} is on the do-not-call list" in error["message"]
    assert "Opted out" in error["message"]
    assert not Call.objects.exists()
    assert no_broker == []


def test_a_repeat_of_a_created_call_is_answered_even_once_the_window_has_closed(
    api, alice, agent, rules, clearance_clock_at
):
    body = {"phone_number": CALIFORNIA, "idempotency_key": "k2"}
    first = api(alice).post(url(agent), body, format="json")
    clearance_clock_at(SUNDAY_SIX_AM_IN_CALIFORNIA)
    again = api(alice).post(url(agent), body, format="json")
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"]


def test_call_create_clears_at_the_instant_it_is_given(agent, rules):
    with pytest.raises(Unprocessable) as refused:
        call_create(agent=agent, to_number=CALIFORNIA, now=SUNDAY_SIX_AM_IN_CALIFORNIA)
    assert refused.value.code == "outside_calling_window"
    call, created = call_create(
        agent=agent, to_number=CALIFORNIA, now=datetime(2026, 6, 22, 17, 0, tzinfo=UTC)
    )
    assert created
    assert call.decision["calling_window"]["day"] == "monday"


def test_an_inbound_call_gets_a_decision_with_the_callers_jurisdiction_and_is_never_refused(
    agent, rules, clearance_clock_at
):
    clearance_clock_at(SUNDAY_SIX_AM_IN_CALIFORNIA)
    DoNotCallFactory(number=CALIFORNIA)
    call = inbound_call_record(
        agent=agent, provider=Provider.TWILIO, provider_call_id="CA" + "1" * 32, from_number=CALIFORNIA,
        to_number=NEW_YORK_LINE,
    )  # fmt: skip
    assert call.direction == Direction.INBOUND
    assert call.jurisdiction == "US-CA"  # the caller's: before, inbound calls had none
    decision = call.decision
    assert (decision["cleared"], decision["person"]) == (True, "caller")
    assert decision["jurisdictions"]["callee"]["jurisdiction"] == "US-NY"
    assert decision["consent"]["jurisdiction"] == "US-CA"
    assert decision["calling_window"]["inside"] is False  # recorded, not enforced
    assert decision["do_not_call"]["listed"] is True


def test_the_twilio_webhook_hands_the_callers_from_number_to_the_decision(agent, rules, twilio_settings):
    PhoneNumberFactory(number=NEW_YORK_LINE, agent=agent, provider=Provider.TWILIO)
    inbound_call_route(call_sid="CA" + "2" * 32, to_number=NEW_YORK_LINE, from_number=CALIFORNIA)
    call = Call.objects.get(provider_call_id="CA" + "2" * 32)
    assert call.decision["jurisdictions"]["caller"]["number"] == CALIFORNIA
    assert call.jurisdiction == "US-CA"


def test_an_anonymous_inbound_caller_has_an_unknown_jurisdiction(agent, rules):
    call = inbound_call_record(
        agent=agent, provider=Provider.TWILIO, provider_call_id="CA" + "3" * 32, from_number="anonymous",
        to_number=NEW_YORK_LINE,
    )  # fmt: skip
    assert call.jurisdiction == ""
    assert call.decision["consent"]["jurisdiction"] == "US-NY"  # the only party whose rule is known


def test_the_call_plays_the_opener_its_decision_chose(agent, rules):
    california = ConsentOpenerFactory(jurisdiction="US-CA")
    call, _ = call_create(agent=agent, to_number=CALIFORNIA)
    ConsentOpenerFactory(jurisdiction="US-CA", text="Added after the call was cleared.")
    assert call_opener_snapshot(call=call)["id"] == california.pk


def test_a_call_without_a_decision_gets_the_opener_of_the_stricter_of_its_numbers(agent, rules):
    california = ConsentOpenerFactory(jurisdiction="US-CA")
    ConsentOpenerFactory(jurisdiction="US-NY")
    legacy = CallFactory(
        agent=agent, direction=Direction.INBOUND, status=CallStatus.RINGING, from_number=CALIFORNIA,
        to_number=NEW_YORK_LINE, jurisdiction="", decision=None,
    )  # fmt: skip
    assert call_opener_snapshot(call=legacy)["id"] == california.pk


def test_the_call_page_shows_the_decision(bob, agent, rules):
    call, _ = call_create(agent=agent, to_number=CALIFORNIA)
    html = signed_in(bob).get(f"/calls/{call.public_id}/").content.decode()
    section = html[html.index('id="decision"') :].split("</section>")[0]
    assert "Cleared" in section
    assert "US-CA</span> California" in section
    assert "recording consent: All parties" in section
    assert "2026-06-17 11:30 (UTC-07:00)" in section
    assert "America/Los_Angeles" in section
    assert "08:00-21:00</span>" in section
    assert '<span class="decision-ok">inside</span>' in section
    assert '<span class="decision-ok">not listed</span>' in section
    assert "This call may be recorded, and you are speaking with an AI assistant." in section
    assert '30 days <span class="muted">(the deployment default)' in section
    decided = call.decision["decided_at"]  # stored as ISO 8601 text, shown as the page's other times
    assert f"decided {decided[:10]} {decided[11:19]} UTC" in section


def test_the_call_page_names_the_calls_provider(bob, agent):
    call, _ = call_create(agent=agent, to_number=CALIFORNIA)
    Call.objects.filter(pk=call.pk).update(provider=Provider.TWILIO, provider_call_id="CA" + "1" * 32)
    html = signed_in(bob).get(f"/calls/{call.public_id}/").content.decode()
    assert '<th scope="row">Provider</th><td>Twilio <span class="mono muted">CA1111' in html


def test_the_test_call_form_shows_the_refusal(alice, agent, rules, clearance_clock_at):
    clearance_clock_at(SUNDAY_SIX_AM_IN_CALIFORNIA)
    response = signed_in(alice).post(
        f"/calls/place/{agent.public_id}", {"phone_number": CALIFORNIA}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="place-call-form"' in html
    assert "Outside the calling window: it is 06:00 on Sunday in America/Los_Angeles" in html
    assert not Call.objects.exists()


def test_a_call_to_a_number_inside_its_calling_hours_is_placed_whatever_the_wall_clock_says(
    api, alice, agent, clearance_clock_at
):
    """What tests that place calls through another process do (tests.factories.number_inside_calling_hours)."""
    clearance_clock_at(None)  # the real clock
    response = api(alice).post(
        url(agent), {"phone_number": number_inside_calling_hours("0123")}, format="json"
    )
    assert response.status_code == 201, response.content
