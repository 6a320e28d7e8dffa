"""compliance.clearance.call_clearance: both parties' jurisdictions, the opener of the stricter one, the
calling window, the do-not-call list and the retention policy, in one decision."""

import json
from datetime import UTC, datetime

import pytest

from compliance.clearance import INBOUND, OUTBOUND, call_clearance
from compliance.models import RecordingConsent, RetentionPolicy
from tests.factories import AgentFactory, ConsentOpenerFactory, DoNotCallFactory, JurisdictionFactory

pytestmark = pytest.mark.django_db

ONE, ALL, NOTICE = RecordingConsent.ONE_PARTY, RecordingConsent.ALL_PARTY, RecordingConsent.NOTICE_REQUIRED
NUMBERS = {
    "US-CA": "+14155550123",
    "US-FL": "+13055550123",
    "US-NY": "+12125550123",
    "US-TX": "+15125550123",
    "GB": "+442079460123",
}
WEDNESDAY_MIDDAY = datetime(2026, 6, 17, 18, 30, tzinfo=UTC)  # inside every US window


@pytest.fixture
def agent(db):
    return AgentFactory(language="en-US")


@pytest.fixture
def openers(db):
    """A consent rule and an opener of its own for each jurisdiction of NUMBERS."""
    rules = {"US-CA": ALL, "US-FL": ALL, "US-NY": ONE, "US-TX": ONE, "GB": NOTICE}
    for code, rule in rules.items():
        JurisdictionFactory(code=code, recording_consent=rule)
    return {code: ConsentOpenerFactory(jurisdiction=code) for code in rules}


def clear(agent, *, callee: str, caller: str, direction: str = OUTBOUND, now=WEDNESDAY_MIDDAY):
    return call_clearance(
        agent=agent, callee_number=NUMBERS.get(callee, callee), caller_number=NUMBERS.get(caller, caller),
        direction=direction, now=now,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("direction", "callee", "caller", "chosen"),
    [
        # outbound: the callee is the person called, the caller is the agent's number
        (OUTBOUND, "US-CA", "US-NY", "US-CA"),  # all-party callee, one-party agent number
        (OUTBOUND, "US-NY", "US-CA", "US-CA"),  # one-party callee, all-party agent number
        (OUTBOUND, "US-NY", "US-TX", "US-NY"),  # one-party both: the callee's
        (OUTBOUND, "US-CA", "US-FL", "US-CA"),  # all-party both: the callee's
        (OUTBOUND, "GB", "US-NY", "GB"),  # notice required beats one-party
        (OUTBOUND, "GB", "US-CA", "US-CA"),  # all-party beats notice required
        # inbound: the callee is our agent's number, the caller is the person who called
        (INBOUND, "US-CA", "US-NY", "US-CA"),  # all-party agent number, one-party caller
        (INBOUND, "US-NY", "US-CA", "US-CA"),  # one-party agent number, all-party caller
        (INBOUND, "US-NY", "US-TX", "US-TX"),  # one-party both: the caller's
        (INBOUND, "US-FL", "US-CA", "US-CA"),  # all-party both: the caller's
    ],
)
def test_the_stricter_jurisdiction_of_the_two_parties_chooses_the_opener(
    agent, openers, direction, callee, caller, chosen
):
    decision = clear(agent, callee=callee, caller=caller, direction=direction).decision
    assert decision["consent"]["jurisdiction"] == chosen
    assert decision["opener"]["id"] == openers[chosen].pk
    assert decision["opener"]["text"] == f"Opener for {chosen}."


def test_an_inbound_call_from_an_all_party_state_no_longer_gets_only_the_default(agent, openers):
    """Before, inbound calls had no jurisdiction, so only the default opener could ever play there."""
    decision = clear(agent, callee="US-NY", caller="US-CA", direction=INBOUND).decision
    assert decision["jurisdictions"]["caller"]["jurisdiction"] == "US-CA"
    assert decision["opener"]["jurisdiction"] == "US-CA"


def test_without_an_opener_of_its_own_the_stricter_jurisdiction_gets_the_most_specific_one(agent, openers):
    openers["US-CA"].delete()
    agents_default = ConsentOpenerFactory(agent=agent, text="This agent's default.")
    decision = clear(agent, callee="US-NY", caller="US-CA").decision
    assert decision["consent"]["jurisdiction"] == "US-CA"
    assert decision["opener"]["id"] == agents_default.pk


def test_an_unknown_caller_leaves_the_choice_to_the_known_party(agent, openers):
    decision = clear(agent, callee="US-NY", caller="", direction=INBOUND).decision
    assert decision["jurisdictions"]["caller"] == {
        "number": "",
        "jurisdiction": "",
        "name": "",
        "recording_consent": None,
        "rules_from": None,
        "needs_review": False,
    }
    assert decision["consent"]["jurisdiction"] == "US-NY"


def test_a_callee_on_the_do_not_call_list_is_refused(agent, openers):
    DoNotCallFactory(number=NUMBERS["US-CA"], reason="Asked on the phone")
    clearance = clear(agent, callee="US-CA", caller="US-NY")
    assert clearance.refusal[0] == "do_not_call"
    assert "+14155550123 is on the do-not-call list" in clearance.refusal[1]
    assert "Asked on the phone" in clearance.refusal[1]
    assert clearance.decision["do_not_call"]["listed"] is True
    assert clearance.decision["cleared"] is False


def test_an_inbound_call_is_never_refused_but_its_checks_are_recorded(agent, openers):
    DoNotCallFactory(number=NUMBERS["US-CA"])
    three_am = datetime(2026, 6, 17, 10, 0, tzinfo=UTC)  # 03:00 in California
    clearance = clear(agent, callee="US-NY", caller="US-CA", direction=INBOUND, now=three_am)
    assert clearance.refusal is None
    window, dnc = clearance.decision["calling_window"], clearance.decision["do_not_call"]
    assert (window["inside"], window["enforced"]) == (False, False)
    assert (dnc["listed"], dnc["enforced"]) == (True, False)


def test_the_retention_policy_that_will_apply_is_named(agent, openers):
    assert clear(agent, callee="US-CA", caller="US-NY").decision["retention"] == {
        "days": 30,
        "scope": "default",
        "policy_id": None,
        "jurisdiction": "US-CA",
    }
    policy = RetentionPolicy.objects.create(agent=agent, jurisdiction="US-CA", days=7)
    retention = clear(agent, callee="US-CA", caller="US-NY").decision["retention"]
    assert (retention["days"], retention["scope"], retention["policy_id"]) == (
        7,
        "agent+jurisdiction",
        policy.public_id,
    )


def test_the_decision_is_plain_json_with_every_part(agent, openers):
    decision = clear(agent, callee="US-CA", caller="US-NY").decision
    assert json.loads(json.dumps(decision)) == decision
    assert decision["cleared"] is True
    assert decision["decided_at"] == "2026-06-17T18:30:00Z"
    assert decision["person"] == "callee"
    window = decision["calling_window"]
    assert window["time_zone"] == "America/Los_Angeles"
    assert window["local_time"] == "2026-06-17T11:30:00-07:00"
    assert (window["hours"], window["inside"], window["enforced"]) == ("08:00-21:00", True, True)
    assert set(decision) == {
        "version", "decided_at", "direction", "cleared", "refusal", "person", "jurisdictions", "consent",
        "calling_window", "do_not_call", "opener", "retention",
    }  # fmt: skip
