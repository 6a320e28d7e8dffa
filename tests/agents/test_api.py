"""The /v1/agents and /v1/numbers contract."""

import pytest

from agents.models import Agent, PhoneNumber, Provider
from compliance.models import AuditEvent
from tests.factories import AgentFactory, PhoneNumberFactory


def error_of(response) -> dict:
    return response.json()["error"]


# Agents: create, read, list ---------------------------------------------------------------------------------


def test_an_operator_creates_an_agent_with_a_chosen_id(api, alice):
    response = api(alice).post(
        "/v1/agents",
        {"id": "agent_support", "name": "Support", "max_duration": 300, "record": True},
        format="json",
    )
    assert response.status_code == 201
    body = response.json()
    assert body["id"] == "agent_support"
    assert body["name"] == "Support"
    assert (body["max_duration"], body["record"], body["active"]) == (300, True, True)
    assert body["phone_numbers"] == []
    assert Agent.objects.filter(public_id="agent_support").exists()


def test_an_agent_created_without_an_id_gets_a_prefixed_one(api, alice):
    response = api(alice).post("/v1/agents", {"name": "Anonymous"}, format="json")
    assert response.status_code == 201
    assert response.json()["id"].startswith("agent_")


def test_creating_an_agent_with_numbers_normalizes_them_to_e164(api, alice):
    response = api(alice).post(
        "/v1/agents", {"name": "Sales", "phone_numbers": ["(415) 555-1234", "+1 212 555 0100"]}, format="json"
    )
    assert response.status_code == 201
    assert response.json()["phone_numbers"] == ["+12125550100", "+14155551234"]


@pytest.mark.parametrize("bad_id", ["abc", "agent_", "agent_has space", "call_abc", "agent_" + "x" * 60])
def test_an_agent_id_of_the_wrong_shape_is_a_400_naming_the_id(api, alice, bad_id):
    response = api(alice).post("/v1/agents", {"id": bad_id, "name": "X"}, format="json")
    assert response.status_code == 400
    assert error_of(response)["field"] == "id"
    assert not Agent.objects.filter(name="X").exists()


def test_an_agent_id_already_taken_is_a_409(api, alice, agent):
    response = api(alice).post("/v1/agents", {"id": agent.public_id, "name": "Copy"}, format="json")
    assert response.status_code == 409
    assert error_of(response)["code"] == "agent_exists"
    assert error_of(response)["field"] == "id"
    assert Agent.objects.count() == 1


def test_an_agent_without_a_name_is_a_400_naming_the_name(api, alice):
    response = api(alice).post("/v1/agents", {"id": "agent_nameless"}, format="json")
    assert response.status_code == 400
    assert error_of(response)["field"] == "name"


def test_a_max_duration_out_of_range_is_a_400(api, alice):
    response = api(alice).post("/v1/agents", {"name": "Long", "max_duration": 99_999}, format="json")
    assert response.status_code == 400
    assert error_of(response)["field"] == "max_duration"


def test_reading_an_unknown_agent_is_a_404_in_the_error_shape(api, bob):
    response = api(bob).get("/v1/agents/agent_nope")
    assert response.status_code == 404
    assert error_of(response)["code"] == "not_found"


def test_patching_an_unknown_agent_is_a_404(api, alice):
    response = api(alice).patch("/v1/agents/agent_nope", {"name": "x"}, format="json")
    assert response.status_code == 404
    assert error_of(response)["code"] == "not_found"


def test_the_agent_list_is_newest_first_and_searchable(api, bob):
    AgentFactory(name="Billing helper", public_id="agent_billing")
    AgentFactory(name="Reminder bot", public_id="agent_reminder")
    listing = api(bob).get("/v1/agents").json()
    assert [a["id"] for a in listing["results"]] == ["agent_reminder", "agent_billing"]
    assert set(listing) == {"next", "previous", "results"}
    found = api(bob).get("/v1/agents", {"search": "billing"}).json()["results"]
    assert [a["id"] for a in found] == ["agent_billing"]


def test_the_agent_list_finds_an_agent_by_one_of_its_numbers_typed_any_way(api, bob, agent):
    PhoneNumberFactory(number="+14155559876", agent=agent)
    AgentFactory(name="Other")
    found = api(bob).get("/v1/agents", {"search": "(415) 555-9876"}).json()["results"]
    assert [a["id"] for a in found] == ["agent_abc"]
    assert found[0]["phone_numbers"] == ["+14155559876"]


def test_the_agent_list_does_not_grow_queries_with_rows(api, bob, django_assert_max_num_queries):
    for _ in range(20):
        PhoneNumberFactory(agent=AgentFactory())
    client = api(bob)
    with django_assert_max_num_queries(6):  # api key (+ its last-use stamp), role, agents, numbers
        response = client.get("/v1/agents")
    assert len(response.json()["results"]) == 20


def test_a_viewer_may_read_agents_but_not_create_or_change_them(api, bob, agent):
    assert api(bob).get(f"/v1/agents/{agent.public_id}").status_code == 200
    assert api(bob).post("/v1/agents", {"name": "X"}, format="json").status_code == 403
    assert api(bob).patch(f"/v1/agents/{agent.public_id}", {"name": "X"}, format="json").status_code == 403
    assert api(bob).post(f"/v1/agents/{agent.public_id}/disable").status_code == 403


def test_without_a_key_the_agents_api_is_a_401_or_403(api):
    assert api().get("/v1/agents").status_code in (401, 403)


# Agents: update, disable ------------------------------------------------------------------------------------


def test_patch_changes_only_the_fields_sent_and_is_audited(api, alice, agent):
    response = api(alice).patch(
        f"/v1/agents/{agent.public_id}", {"instructions": "Be brief.", "voice": "alloy"}, format="json"
    )
    assert response.status_code == 200
    assert (response.json()["instructions"], response.json()["voice"]) == ("Be brief.", "alloy")
    assert response.json()["name"] == "Reminder bot"
    event = AuditEvent.objects.get(action="agent.updated")
    assert event.actor == alice
    assert event.before == {"instructions": "Remind the customer of their appointment.", "voice": ""}
    assert event.after == {"instructions": "Be brief.", "voice": "alloy"}


def test_disabling_by_post_or_by_patch_marks_the_agent_inactive(api, alice, agent):
    response = api(alice).post(f"/v1/agents/{agent.public_id}/disable")
    assert response.status_code == 200
    assert response.json()["active"] is False
    assert api(alice).post(f"/v1/agents/{agent.public_id}/enable").json()["active"] is True
    response = api(alice).patch(f"/v1/agents/{agent.public_id}", {"active": False}, format="json")
    assert response.json()["active"] is False
    assert list(AuditEvent.objects.order_by("id").values_list("action", flat=True)) == [
        "agent.disabled",
        "agent.enabled",
        "agent.disabled",
    ]


def test_a_disabled_agent_keeps_its_numbers(api, alice, agent):
    PhoneNumberFactory(number="+14155550111", agent=agent)
    response = api(alice).post(f"/v1/agents/{agent.public_id}/disable")
    assert response.json()["phone_numbers"] == ["+14155550111"]


# Agents: the phone number set --------------------------------------------------------------------------------


def test_patch_phone_numbers_replaces_the_set(api, alice, agent):
    PhoneNumberFactory(number="+14155550111", agent=agent)
    PhoneNumberFactory(number="+14155550122", agent=agent)
    response = api(alice).patch(
        f"/v1/agents/{agent.public_id}", {"phone_numbers": ["+14155550122", "(415) 555-9999"]}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["phone_numbers"] == ["+14155550122", "+14155559999"]
    assert PhoneNumber.objects.get(number="+14155550111").agent is None
    added = PhoneNumber.objects.get(number="+14155559999")
    assert (added.provider, added.jurisdiction) == (Provider.SIMULATOR, "US-CA")


def test_patch_with_an_empty_list_unassigns_every_number(api, alice, agent):
    PhoneNumberFactory(number="+14155550111", agent=agent)
    response = api(alice).patch(f"/v1/agents/{agent.public_id}", {"phone_numbers": []}, format="json")
    assert response.json()["phone_numbers"] == []
    assert PhoneNumber.objects.get(number="+14155550111").agent is None


def test_a_number_held_by_another_agent_is_a_409_naming_the_holder_and_nothing_changes(api, alice, agent):
    other = AgentFactory(public_id="agent_other", name="Billing Support")
    PhoneNumberFactory(number="+14155550111", agent=agent)
    PhoneNumberFactory(number="+14155550133", agent=other)
    response = api(alice).patch(
        f"/v1/agents/{agent.public_id}", {"phone_numbers": ["+14155550133"]}, format="json"
    )
    assert response.status_code == 409
    error = error_of(response)
    assert error["code"] == "number_in_use"
    assert error["field"] == "phone_numbers"
    assert error["agent_id"] == "agent_other"
    assert error["number"] == "+14155550133"
    assert (
        error["message"]
        == "+14155550133 is assigned to Billing Support (agent_other); unassign it there first."
    )
    assert PhoneNumber.objects.get(number="+14155550111").agent == agent  # the set was not half-replaced
    assert PhoneNumber.objects.get(number="+14155550133").agent == other
    assert not AuditEvent.objects.filter(action__startswith="number.").exists()


@pytest.mark.parametrize("bad", ["not a number", "555", "+999123", ""])
def test_an_invalid_number_is_a_400_naming_the_field_and_the_value(api, alice, agent, bad):
    PhoneNumberFactory(number="+14155550111", agent=agent)
    response = api(alice).patch(
        f"/v1/agents/{agent.public_id}", {"phone_numbers": ["+14155550122", bad]}, format="json"
    )
    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "invalid_phone_number"
    assert error["field"] == "phone_numbers"
    assert error["value"] == bad
    assert PhoneNumber.objects.get(number="+14155550111").agent == agent
    assert not PhoneNumber.objects.filter(number="+14155550122").exists()


def test_phone_numbers_that_is_not_a_list_is_a_400(api, alice, agent):
    response = api(alice).patch(
        f"/v1/agents/{agent.public_id}", {"phone_numbers": "+14155550122"}, format="json"
    )
    assert response.status_code == 400
    assert error_of(response)["field"] == "phone_numbers"


def test_national_numbers_are_read_in_the_configured_default_region(api, alice, agent, settings):
    settings.DEFAULT_PHONE_REGION = "GB"
    response = api(alice).patch(
        f"/v1/agents/{agent.public_id}", {"phone_numbers": ["020 7123 4567"]}, format="json"
    )
    assert response.json()["phone_numbers"] == ["+442071234567"]
    assert PhoneNumber.objects.get(number="+442071234567").jurisdiction == "GB"


def test_every_change_of_a_numbers_agent_is_audited_with_before_and_after(api, alice, agent):
    other = AgentFactory(public_id="agent_other")
    number = PhoneNumberFactory(number="+14155550111", agent=other)
    api(alice).patch("/v1/agents/agent_other", {"phone_numbers": []}, format="json")
    api(alice).patch(f"/v1/agents/{agent.public_id}", {"phone_numbers": ["+14155550111"]}, format="json")
    events = list(AuditEvent.objects.filter(object_id=number.public_id).order_by("id"))
    assert [(e.action, e.before["agent_id"], e.after["agent_id"]) for e in events] == [
        ("number.unassigned", "agent_other", None),
        ("number.assigned", None, "agent_abc"),
    ]
    assert all(e.actor == alice and e.actor_label == "alice" and e.created_at for e in events)


def test_patching_the_same_set_again_writes_no_audit_events(api, alice, agent):
    body = {"phone_numbers": ["+14155550111"]}
    api(alice).patch(f"/v1/agents/{agent.public_id}", body, format="json")
    count = AuditEvent.objects.count()
    assert api(alice).patch(f"/v1/agents/{agent.public_id}", body, format="json").status_code == 200
    assert AuditEvent.objects.count() == count


# Numbers -------------------------------------------------------------------------------------------------------


def test_adding_a_number_derives_its_jurisdiction(api, alice):
    response = api(alice).post(
        "/v1/numbers", {"number": "(212) 555-0100", "provider": "twilio"}, format="json"
    )
    assert response.status_code == 201
    body = response.json()
    assert body["id"].startswith("num_")
    assert (body["number"], body["provider"], body["jurisdiction"], body["agent_id"]) == (
        "+12125550100",
        "twilio",
        "US-NY",
        None,
    )
    assert AuditEvent.objects.filter(action="number.added", object_id=body["id"]).exists()


def test_adding_a_number_for_an_agent_assigns_it_and_audits_the_assignment(api, alice, agent):
    response = api(alice).post(
        "/v1/numbers", {"number": "+14155550111", "agent_id": "agent_abc"}, format="json"
    )
    assert response.status_code == 201
    assert response.json()["agent_id"] == "agent_abc"
    event = AuditEvent.objects.get(action="number.assigned")
    assert (event.before["agent_id"], event.after["agent_id"]) == (None, "agent_abc")


def test_adding_a_number_twice_is_a_409(api, alice):
    PhoneNumberFactory(number="+14155550111")
    response = api(alice).post("/v1/numbers", {"number": "415-555-0111"}, format="json")
    assert response.status_code == 409
    assert error_of(response)["code"] == "number_exists"


def test_adding_an_invalid_number_is_a_400_naming_number_and_value(api, alice):
    response = api(alice).post("/v1/numbers", {"number": "12"}, format="json")
    assert response.status_code == 400
    assert (error_of(response)["field"], error_of(response)["value"]) == ("number", "12")


def test_adding_a_number_for_an_unknown_agent_is_a_400(api, alice):
    response = api(alice).post(
        "/v1/numbers", {"number": "+14155550111", "agent_id": "agent_nope"}, format="json"
    )
    assert response.status_code == 400
    assert error_of(response)["field"] == "agent_id"
    assert not PhoneNumber.objects.exists()


def test_an_unknown_provider_is_a_400(api, alice):
    response = api(alice).post(
        "/v1/numbers", {"number": "+14155550111", "provider": "carrier-pigeon"}, format="json"
    )
    assert response.status_code == 400
    assert error_of(response)["field"] == "provider"


def test_a_sip_number_keeps_its_uri_and_trunk(api, alice):
    response = api(alice).post(
        "/v1/numbers",
        {
            "number": "+14155550111",
            "provider": "sip",
            "sip_uri": "sip:+14155550111@pbx.example.com",
            "sip_trunk": "main-trunk",
        },
        format="json",
    )
    assert response.status_code == 201
    assert (response.json()["sip_uri"], response.json()["sip_trunk"]) == (
        "sip:+14155550111@pbx.example.com",
        "main-trunk",
    )


def test_a_sip_uri_that_is_not_one_is_a_400(api, alice):
    response = api(alice).post(
        "/v1/numbers", {"number": "+14155550111", "provider": "sip", "sip_uri": "http://x"}, format="json"
    )
    assert response.status_code == 400
    assert error_of(response)["field"] == "sip_uri"


def test_bulk_add_adds_every_number_or_none(api, alice, agent):
    response = api(alice).post(
        "/v1/numbers/bulk",
        {
            "numbers": ["+14155550111", {"number": "+12125550100", "provider": "twilio"}],
            "agent_id": "agent_abc",
        },
        format="json",
    )
    assert response.status_code == 201
    results = response.json()["results"]
    assert [(n["number"], n["provider"], n["agent_id"]) for n in results] == [
        ("+14155550111", "simulator", "agent_abc"),
        ("+12125550100", "twilio", "agent_abc"),
    ]


def test_bulk_add_with_one_invalid_number_adds_none_and_names_its_position(api, alice):
    response = api(alice).post("/v1/numbers/bulk", {"numbers": ["+14155550111", "nope"]}, format="json")
    assert response.status_code == 400
    assert error_of(response)["field"] == "numbers.1.number"
    assert not PhoneNumber.objects.exists()


def test_bulk_add_with_one_existing_number_is_a_409_and_adds_none(api, alice):
    PhoneNumberFactory(number="+12125550100")
    response = api(alice).post(
        "/v1/numbers/bulk", {"numbers": ["+14155550111", "+12125550100"]}, format="json"
    )
    assert response.status_code == 409
    assert error_of(response)["code"] == "number_exists"
    assert PhoneNumber.objects.count() == 1


def test_bulk_add_with_the_same_number_twice_is_a_400(api, alice):
    response = api(alice).post(
        "/v1/numbers/bulk", {"numbers": ["+14155550111", "(415) 555-0111"]}, format="json"
    )
    assert response.status_code == 400
    assert error_of(response)["field"] == "numbers.1.number"


def test_the_number_list_filters_by_agent_and_assignment(api, bob, agent):
    PhoneNumberFactory(number="+14155550111", agent=agent)
    PhoneNumberFactory(number="+14155550122")
    client = api(bob)
    assert [n["number"] for n in client.get("/v1/numbers", {"agent_id": "agent_abc"}).json()["results"]] == [
        "+14155550111"
    ]
    assert [n["number"] for n in client.get("/v1/numbers", {"assigned": "false"}).json()["results"]] == [
        "+14155550122"
    ]
    assert client.get("/v1/numbers", {"assigned": "maybe"}).status_code == 400


def test_the_number_list_filters_by_provider_and_refuses_an_unknown_one(api, bob):
    PhoneNumberFactory(number="+14155550111", provider=Provider.TWILIO)
    PhoneNumberFactory(number="+14155550122")
    client = api(bob)
    found = client.get("/v1/numbers", {"provider": "twilio"}).json()["results"]
    assert [n["number"] for n in found] == ["+14155550111"]
    response = client.get("/v1/numbers", {"provider": "carrier-pigeon"})
    assert response.status_code == 400
    assert (error_of(response)["code"], error_of(response)["field"]) == ("invalid_choice", "provider")


@pytest.mark.parametrize("value", ["%", "%s", "%(x)s", "%%"])
@pytest.mark.parametrize(
    ("path", "field"), [("/v1/numbers", "provider"), ("/v1/numbers", "assigned"), ("/v1/agents", "active")]
)
def test_a_percent_sign_in_a_list_filter_is_a_400_naming_the_field(api, bob, path, field, value):
    response = api(bob).get(path, {field: value})
    assert response.status_code == 400, response.content
    assert set(error_of(response)) >= {"code", "message", "field"}
    assert (error_of(response)["field"], error_of(response)["value"]) == (field, value)


def test_a_number_is_read_by_id_or_by_the_number_itself(api, bob):
    number = PhoneNumberFactory(number="+14155550111")
    assert api(bob).get(f"/v1/numbers/{number.public_id}").json()["number"] == "+14155550111"
    assert api(bob).get("/v1/numbers/+14155550111").json()["id"] == number.public_id
    assert api(bob).get("/v1/numbers/num_nope").status_code == 404


def test_patching_a_numbers_agent_assigns_and_unassigns_it(api, alice, agent):
    number = PhoneNumberFactory(number="+14155550111")
    response = api(alice).patch(f"/v1/numbers/{number.public_id}", {"agent_id": "agent_abc"}, format="json")
    assert response.json()["agent_id"] == "agent_abc"
    response = api(alice).patch(f"/v1/numbers/{number.public_id}", {"agent_id": None}, format="json")
    assert response.json()["agent_id"] is None
    assert AuditEvent.objects.filter(object_id=number.public_id).count() == 2


def test_patching_a_number_held_by_another_agent_is_a_409_that_names_the_holder(api, alice, agent):
    holder = AgentFactory(public_id="agent_other", name="Billing Support")
    number = PhoneNumberFactory(number="+14155550111", agent=holder)
    response = api(alice).patch(f"/v1/numbers/{number.public_id}", {"agent_id": "agent_abc"}, format="json")
    assert response.status_code == 409
    assert (error_of(response)["code"], error_of(response)["agent_id"]) == ("number_in_use", "agent_other")
    assert "Billing Support (agent_other)" in error_of(response)["message"]


def test_releasing_a_number_removes_it_and_audits_its_last_agent(api, alice, agent):
    number = PhoneNumberFactory(number="+14155550111", agent=agent)
    assert api(alice).delete(f"/v1/numbers/{number.public_id}").status_code == 204
    assert not PhoneNumber.objects.exists()
    event = AuditEvent.objects.get(action="number.released")
    assert (event.before["agent_id"], event.after) == ("agent_abc", None)
    other = PhoneNumberFactory(number="+14155550122")
    assert api(alice).post(f"/v1/numbers/{other.public_id}/release").status_code == 204
    assert api(alice).post(f"/v1/numbers/{other.public_id}/release").status_code == 404


def test_a_viewer_may_list_numbers_but_not_add_or_release_them(api, bob):
    number = PhoneNumberFactory(number="+14155550111")
    assert api(bob).get("/v1/numbers").status_code == 200
    assert api(bob).post("/v1/numbers", {"number": "+14155550122"}, format="json").status_code == 403
    assert api(bob).delete(f"/v1/numbers/{number.public_id}").status_code == 403
    assert PhoneNumber.objects.count() == 1


def test_creating_an_agent_with_a_number_held_elsewhere_creates_nothing(api, alice):
    PhoneNumberFactory(number="+14155550111", agent=AgentFactory(public_id="agent_other"))
    response = api(alice).post(
        "/v1/agents", {"id": "agent_new", "name": "New", "phone_numbers": ["+14155550111"]}, format="json"
    )
    assert response.status_code == 409
    assert error_of(response)["agent_id"] == "agent_other"
    assert not Agent.objects.filter(public_id="agent_new").exists()
    assert not AuditEvent.objects.exists()


def test_the_same_number_typed_two_ways_counts_once(api, alice, agent):
    response = api(alice).patch(
        f"/v1/agents/{agent.public_id}", {"phone_numbers": ["+14155550111", "(415) 555-0111"]}, format="json"
    )
    assert response.json()["phone_numbers"] == ["+14155550111"]
    assert PhoneNumber.objects.count() == 1


def test_moving_a_number_between_agents_through_the_api_takes_two_audited_steps(api, alice, agent):
    other = AgentFactory(public_id="agent_other")
    number = PhoneNumberFactory(number="+14155550111", agent=other)
    client = api(alice)
    assert (
        client.patch(f"/v1/numbers/{number.public_id}", {"agent_id": None}, format="json").status_code == 200
    )
    assert (
        client.patch(f"/v1/numbers/{number.public_id}", {"agent_id": "agent_abc"}, format="json").status_code
        == 200
    )
    assert [
        (e.before["agent_id"], e.after["agent_id"])
        for e in AuditEvent.objects.filter(object_id=number.public_id).order_by("id")
    ] == [("agent_other", None), (None, "agent_abc")]
