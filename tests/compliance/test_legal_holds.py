"""Legal holds: `/v1/legal-holds` and the page, for the compliance role only; a hold names exactly one call,
agent, campaign or phone number, with a reason; releasing keeps the row; every change audited."""

import pytest

from campaigns.models import Campaign
from compliance.holds import HoldTarget, legal_hold_place
from compliance.models import AuditEvent, LegalHold
from tests.factories import CallFactory

URL = "/v1/legal-holds"


@pytest.fixture
def call(db, agent):
    return CallFactory(agent=agent, to_number="+14155550123")


def test_a_compliance_officer_places_reads_and_releases_a_hold_which_stays_on_record(db, api, carol, call):
    client = api(carol)
    placed = client.post(URL, {"call_id": call.public_id, "reason": "Smith v. Acme"}, format="json")
    assert placed.status_code == 201, placed.content
    hold = placed.json()
    assert hold["id"].startswith("hold_")
    assert (hold["target"], hold["call_id"], hold["agent_id"], hold["phone_number"]) == (
        "call",
        call.public_id,
        None,
        None,
    )
    assert (hold["reason"], hold["placed_by"], hold["active"], hold["released_at"]) == (
        "Smith v. Acme",
        "carol",
        True,
        None,
    )
    url = f"{URL}/{hold['id']}"
    assert client.get(url).json() == hold

    released = client.delete(url)
    assert released.status_code == 200
    body = released.json()
    assert (body["active"], body["released_by"]) == (False, "carol")
    assert body["released_at"] is not None
    assert client.get(url).status_code == 200  # the row stays
    assert client.delete(url).json() == body  # releasing again changes nothing

    events = list(AuditEvent.objects.filter(object_type="legal_hold").order_by("id"))
    assert [e.action for e in events] == ["legal_hold.placed", "legal_hold.released"]
    assert events[0].after["call_id"] == call.public_id
    assert events[1].before["released_at"] is None
    assert events[1].after["released_by"] == "carol"


@pytest.mark.parametrize("target", ["agent_id", "campaign_id", "phone_number"])
def test_a_hold_may_name_an_agent_a_campaign_or_a_number(db, api, carol, agent, target):
    campaign = Campaign.objects.create(name="Renewals", agent=agent)
    value = {
        "agent_id": agent.public_id,
        "campaign_id": campaign.public_id,
        "phone_number": "+1 415 555 0123",
    }
    response = api(carol).post(URL, {target: value[target], "reason": "Regulator's inquiry"}, format="json")
    assert response.status_code == 201, response.content
    expected = {**value, "phone_number": "+14155550123"}[target]  # numbers are kept in E.164
    assert response.json()[target] == expected
    assert response.json()["target"] == target.removesuffix("_id")


@pytest.mark.parametrize(
    "body",
    [
        {"reason": "no target"},
        {"call_id": "call_a", "agent_id": "agent_abc", "reason": "two targets"},
        {"call_id": "", "phone_number": None, "reason": "empty targets"},
    ],
)
def test_a_hold_must_name_exactly_one_target(db, api, carol, agent, body):
    response = api(carol).post(URL, body, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "one_target_required"
    assert not LegalHold.objects.exists()


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"call_id": "call_nothing", "reason": "r"}, 422, "call_id"),
        ({"call_id": "agent_abc", "reason": "r"}, 422, "call_id"),
        ({"campaign_id": "camp_nothing", "reason": "r"}, 422, "campaign_id"),
        ({"agent_id": "agent_nobody", "reason": "r"}, 400, "agent_id"),
        ({"phone_number": "not a number", "reason": "r"}, 422, "phone_number"),
        ({"phone_number": "+14155550123"}, 400, "reason"),
        ({"phone_number": "+14155550123", "reason": "   "}, 400, "reason"),
    ],
)
def test_a_bad_target_or_reason_is_refused_naming_the_field(db, api, carol, body, status, field):
    response = api(carol).post(URL, body, format="json")
    assert response.status_code == status, response.content
    assert response.json()["error"]["field"] == field
    assert not LegalHold.objects.exists()


def test_the_list_filters_active_and_released_holds(db, api, carol, call):
    client = api(carol)
    kept = legal_hold_place(actor=carol, kind=HoldTarget.CALL, target=call.public_id, reason="a")
    gone = legal_hold_place(actor=carol, kind=HoldTarget.PHONE_NUMBER, target="+14155550123", reason="b")
    client.delete(f"{URL}/{gone.public_id}")
    ids = lambda query: [h["id"] for h in client.get(URL + query).json()["results"]]  # noqa: E731
    assert ids("") == [gone.public_id, kept.public_id]  # newest first
    assert ids("?active=true") == [kept.public_id]
    assert ids("?active=false") == [gone.public_id]
    assert client.get(URL + "?active=maybe").json()["error"]["code"] == "invalid_choice"


@pytest.mark.parametrize("who", ["alice", "bob"])
def test_other_roles_may_neither_see_nor_place_nor_release_holds(db, api, request, carol, call, who):
    hold = legal_hold_place(actor=carol, kind=HoldTarget.CALL, target=call.public_id, reason="a")
    client = api(request.getfixturevalue(who))
    assert client.get(URL).status_code == 403
    assert client.get(f"{URL}/{hold.public_id}").status_code == 403
    assert client.post(URL, {"call_id": call.public_id, "reason": "x"}, format="json").status_code == 403
    assert client.delete(f"{URL}/{hold.public_id}").status_code == 403
    assert LegalHold.objects.get().released_at is None


def test_the_page_places_and_releases_holds(client, carol, agent):
    client.force_login(carol)
    assert client.get("/compliance/holds/").status_code == 200
    placed = client.post(
        "/compliance/holds/",
        {"kind": "agent", "target": agent.public_id, "reason": "Litigation hold, matter 12"},
        follow=True,
    )
    hold = LegalHold.objects.get()
    assert (hold.agent, hold.placed_by, hold.reason) == (agent, carol, "Litigation hold, matter 12")
    assert b"Litigation hold, matter 12" in placed.content
    assert (
        'Legal hold placed on every call of <a href="/agents/agent_abc/" title="agent_abc">Reminder bot</a>'
    ) in placed.content.decode()  # the agent by its name, linked
    released = client.post(f"/compliance/holds/{hold.public_id}/release", follow=True)
    assert "Legal hold on every call of" in released.content.decode()
    hold.refresh_from_db()
    assert (hold.released_by, hold.released_at is not None) == (carol, True)
    assert b"Released" in client.get("/compliance/holds/").content


def test_the_page_says_what_is_wrong_with_a_hold(client, carol):
    client.force_login(carol)
    response = client.post("/compliance/holds/", {"kind": "call", "target": "call_nothing", "reason": "r"})
    assert response.status_code == 400
    assert b"No call call_nothing" in response.content
    response = client.post("/compliance/holds/", {"kind": "agent", "target": "agent_nobody", "reason": "r"})
    assert b"No agent agent_nobody" in response.content
    assert not LegalHold.objects.exists()


@pytest.mark.parametrize("who", ["alice", "bob"])
def test_other_roles_may_not_open_the_holds_page(client, request, carol, call, who):
    hold = legal_hold_place(actor=carol, kind=HoldTarget.CALL, target=call.public_id, reason="a")
    client.force_login(request.getfixturevalue(who))
    assert client.get("/compliance/holds/").status_code == 403
    assert client.post(f"/compliance/holds/{hold.public_id}/release").status_code == 403
    assert LegalHold.objects.get().released_at is None
