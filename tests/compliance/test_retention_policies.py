"""Retention policies: the most specific wins; `/v1/retention-policies` and the page, for the compliance role
only, every change audited; a duplicate scope is a 409, a bad field a 4xx in the error shape."""

import pytest
from django.test import Client

from compliance.models import AuditEvent, RetentionPolicy
from compliance.retention import RetentionScope, RetentionTable, retention_policy_create, retention_policy_for
from recordings.models import ExpiryRecompute
from tests.factories import AgentFactory

URL = "/v1/retention-policies"


def test_the_most_specific_policy_wins(db, carol, settings):
    settings.RETENTION_DEFAULT_DAYS = 30
    agent, other = AgentFactory(), AgentFactory()
    assert retention_policy_for(agent_id=agent.pk, jurisdiction="US-CA").scope == RetentionScope.DEFAULT
    by_place = retention_policy_create(actor=carol, jurisdiction="US-CA", days=90)
    assert retention_policy_for(agent_id=agent.pk, jurisdiction="US-CA").policy == by_place
    by_agent = retention_policy_create(actor=carol, agent=agent, days=60)
    assert (
        retention_policy_for(agent_id=agent.pk, jurisdiction="US-CA").policy == by_agent
    )  # agent beats place
    both = retention_policy_create(actor=carol, agent=agent, jurisdiction="US-CA", days=400)
    choice = retention_policy_for(agent_id=agent.pk, jurisdiction="US-CA")
    assert (choice.days, choice.policy, choice.scope) == (400, both, RetentionScope.AGENT_JURISDICTION)
    assert retention_policy_for(agent_id=agent.pk, jurisdiction="GB").policy == by_agent
    assert retention_policy_for(agent_id=other.pk, jurisdiction="US-CA").policy == by_place
    assert retention_policy_for(agent_id=other.pk, jurisdiction="GB").days == 30
    assert retention_policy_for(agent_id=agent.pk, jurisdiction="").policy == by_agent


def test_the_table_answers_as_the_single_lookup_does(db, carol):
    agents = [AgentFactory() for _ in range(3)]
    retention_policy_create(actor=carol, jurisdiction="US-CA", days=1)
    retention_policy_create(actor=carol, agent=agents[0], days=2)
    retention_policy_create(actor=carol, agent=agents[1], jurisdiction="US-CA", days=3)
    table = RetentionTable(RetentionPolicy.objects.all())
    for agent in agents:
        for place in ["US-CA", "GB", ""]:
            assert table.choice_for(agent_id=agent.pk, jurisdiction=place) == retention_policy_for(
                agent_id=agent.pk, jurisdiction=place
            )


def test_a_compliance_officer_creates_reads_changes_and_deletes_a_policy_each_audited(db, api, carol, agent):
    client = api(carol)
    created = client.post(
        URL, {"agent_id": agent.public_id, "jurisdiction": "us-ca", "days": 90}, format="json"
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["id"].startswith("ret_")
    assert (body["agent_id"], body["jurisdiction"], body["days"], body["scope"]) == (
        agent.public_id,
        "US-CA",
        90,
        "agent+jurisdiction",
    )
    url = f"{URL}/{body['id']}"
    assert client.get(url).json() == body
    assert client.get(URL).json()["results"] == [body]

    changed = client.patch(url, {"days": 0}, format="json")
    assert changed.status_code == 200
    assert changed.json()["days"] == 0
    assert client.delete(url).status_code == 204
    assert client.get(url).status_code == 404

    events = list(AuditEvent.objects.filter(object_type="retention_policy").order_by("id"))
    assert [e.action for e in events] == [
        "retention_policy.created",
        "retention_policy.updated",
        "retention_policy.deleted",
    ]
    assert {e.actor for e in events} == {carol}
    assert events[1].before["days"] == 90
    assert events[1].after == {"agent_id": agent.public_id, "jurisdiction": "US-CA", "days": 0}
    assert events[2].after is None
    assert ExpiryRecompute.objects.count() == 3  # each change asked for its recordings' expiry again


def test_a_policy_without_an_agent_or_a_jurisdiction_is_refused(db, api, carol):
    response = api(carol).post(URL, {"days": 10}, format="json")
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "policy_not_scoped"
    assert not RetentionPolicy.objects.exists()


@pytest.mark.parametrize(
    "body",
    [
        {"agent_id": "agent_abc", "jurisdiction": "US-CA"},
        {"jurisdiction": "US-CA"},
        {"agent_id": "agent_abc"},
    ],
)
def test_a_second_policy_for_the_same_scope_is_a_409(db, api, carol, agent, body):
    client = api(carol)
    first = client.post(URL, {**body, "days": 30}, format="json")
    again = client.post(URL, {**body, "days": 60}, format="json")
    assert again.status_code == 409
    error = again.json()["error"]
    assert (error["code"], error["existing_id"]) == ("retention_policy_exists", first.json()["id"])
    assert RetentionPolicy.objects.count() == 1


def test_moving_a_policy_onto_a_taken_scope_is_a_409(db, api, carol):
    client = api(carol)
    client.post(URL, {"jurisdiction": "GB", "days": 30}, format="json")
    other = client.post(URL, {"jurisdiction": "US-NY", "days": 60}, format="json").json()
    response = client.patch(f"{URL}/{other['id']}", {"jurisdiction": "GB"}, format="json")
    assert response.status_code == 409
    assert RetentionPolicy.objects.get(public_id=other["id"]).jurisdiction == "US-NY"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"jurisdiction": "US-CA", "days": -1}, "days"),
        ({"jurisdiction": "US-CA", "days": 36_501}, "days"),
        ({"jurisdiction": "US-CA", "days": "soon"}, "days"),
        ({"jurisdiction": "US-CA"}, "days"),
        ({"jurisdiction": "California", "days": 3}, "jurisdiction"),
        ({"agent_id": "agent_nobody", "days": 3}, "agent_id"),
    ],
)
def test_a_bad_field_is_a_400_naming_it(db, api, carol, body, field):
    response = api(carol).post(URL, body, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["field"] == field
    assert not RetentionPolicy.objects.exists()


def test_an_unknown_policy_is_a_404(db, api, carol):
    assert api(carol).patch(f"{URL}/ret_nothing", {"days": 1}, format="json").status_code == 404


@pytest.mark.parametrize("who", ["alice", "bob"])
def test_other_roles_may_neither_read_nor_change_policies(db, api, request, carol, who):
    policy = retention_policy_create(actor=carol, jurisdiction="GB", days=5)
    client = api(request.getfixturevalue(who))
    assert client.get(URL).status_code == 403
    assert client.get(f"{URL}/{policy.public_id}").status_code == 403
    assert client.post(URL, {"jurisdiction": "US-CA", "days": 1}, format="json").status_code == 403
    assert client.patch(f"{URL}/{policy.public_id}", {"days": 1}, format="json").status_code == 403
    assert client.delete(f"{URL}/{policy.public_id}").status_code == 403
    assert RetentionPolicy.objects.get().days == 5


def test_an_admin_may_manage_policies(db, api, ada):
    assert api(ada).post(URL, {"jurisdiction": "GB", "days": 5}, format="json").status_code == 201


def test_the_page_lists_adds_changes_and_deletes_policies(client, carol, agent):
    client.force_login(carol)
    page = client.get("/compliance/retention/")
    assert page.status_code == 200
    assert b"deployment default" in page.content
    added = client.post(
        "/compliance/retention/", {"agent": agent.public_id, "jurisdiction": "GB", "days": 45}, follow=True
    )
    policy = RetentionPolicy.objects.get()
    assert (policy.agent, policy.jurisdiction, policy.days) == (agent, "GB", 45)
    assert policy.public_id.encode() in added.content
    client.post(f"/compliance/retention/{policy.public_id}/days", {"days": 7})
    assert RetentionPolicy.objects.get().days == 7
    client.post(f"/compliance/retention/{policy.public_id}/delete")
    assert not RetentionPolicy.objects.exists()
    assert AuditEvent.objects.filter(actor=carol, object_type="retention_policy").count() == 3


def test_the_page_shows_why_a_policy_is_refused(client, carol):
    client.force_login(carol)
    client.post("/compliance/retention/", {"jurisdiction": "GB", "days": 45})
    response = client.post("/compliance/retention/", {"jurisdiction": "GB", "days": 10})
    assert response.status_code == 400
    assert b"already sets retention for jurisdiction GB" in response.content


@pytest.mark.parametrize("who", ["alice", "bob"])
def test_other_roles_may_not_open_the_page(client, request, carol, who):
    policy = retention_policy_create(actor=carol, jurisdiction="GB", days=5)
    client.force_login(request.getfixturevalue(who))
    assert client.get("/compliance/retention/").status_code == 403
    assert client.post("/compliance/retention/", {"jurisdiction": "US-CA", "days": 1}).status_code == 403
    assert client.post(f"/compliance/retention/{policy.public_id}/delete").status_code == 403
    assert RetentionPolicy.objects.count() == 1


def test_the_policy_page_takes_a_jurisdiction_by_name_and_names_what_a_policy_keeps(db, carol, agent):
    client = Client()
    client.force_login(carol)
    response = client.post("/compliance/retention/", {"jurisdiction": "California", "days": 30}, follow=True)
    assert "Recordings in California (US-CA) are kept 30 days" in response.content.decode()
    assert RetentionPolicy.objects.get().jurisdiction == "US-CA"
    response = client.post("/compliance/retention/", {"agent": agent.public_id, "days": 7}, follow=True)
    assert (
        'Recordings of <a href="/agents/agent_abc/" title="agent_abc">Reminder bot</a> are kept 7 days'
        in (response.content.decode())
    )
