"""/v1/do-not-call[/{number}]: compliance officers and admins list, add, read and remove numbers; every
change is audited; numbers are read as people type them."""

from urllib.parse import quote

import pytest

from compliance.do_not_call import do_not_call_entry
from compliance.models import AuditEvent, DoNotCall, DoNotCallSource
from tests.factories import DoNotCallFactory

pytestmark = pytest.mark.django_db


def entry_url(number: str) -> str:
    return f"/v1/do-not-call/{quote(number, safe='')}"  # %2B14155550123


@pytest.mark.parametrize("who", ["carol", "ada"])
def test_compliance_officers_and_admins_add_a_number_and_it_is_audited(api, request, who):
    user = request.getfixturevalue(who)
    response = api(user).post(
        "/v1/do-not-call", {"number": "+14155550123", "reason": "Asked by email"}, format="json"
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["number"] == "+14155550123"
    assert body["reason"] == "Asked by email"
    assert body["source"] == "api"
    assert body["added_by"] == user.username
    assert body["call_id"] is None
    event = AuditEvent.objects.get(action="do_not_call.added", object_id="+14155550123")
    assert event.actor == user
    assert event.before is None
    assert event.after == {
        "number": "+14155550123",
        "reason": "Asked by email",
        "source": "api",
        "added_by": user.username,
        "call_id": None,
    }


@pytest.mark.parametrize(
    "typed",
    ["(415) 555-0123", "415.555.0123", "415 555 0123", "1-415-555-0123", "+1 (415) 555-0123", " 4155550123 "],
)
def test_numbers_are_read_as_people_type_them_in_the_default_region(api, carol, settings, typed):
    settings.DEFAULT_PHONE_REGION = "US"
    response = api(carol).post("/v1/do-not-call", {"number": typed}, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["number"] == "+14155550123"
    assert do_not_call_entry("+14155550123") is not None


def test_a_national_number_is_read_in_the_deployments_region(api, carol, settings):
    settings.DEFAULT_PHONE_REGION = "GB"
    response = api(carol).post("/v1/do-not-call", {"number": "020 7946 0958"}, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["number"] == "+442079460958"


def test_adding_a_listed_number_again_answers_200_with_the_entry_unchanged_and_audits_nothing(
    api, carol, ada
):
    first = api(carol).post(
        "/v1/do-not-call", {"number": "+14155550123", "reason": "Complaint"}, format="json"
    )
    again = api(ada).post("/v1/do-not-call", {"number": "(415) 555-0123", "reason": "Other"}, format="json")
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()  # the first reason and author stay
    assert DoNotCall.objects.count() == 1
    assert AuditEvent.objects.filter(action__startswith="do_not_call.").count() == 1


@pytest.mark.parametrize("number", ["hello", "+1415", "", "555-0123-9999-1234-5678"])
def test_an_invalid_number_is_a_400_naming_the_field_and_adds_nothing(api, carol, number):
    response = api(carol).post("/v1/do-not-call", {"number": number}, format="json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["field"] == "number"
    assert error["code"] in {"invalid_phone_number", "blank"}
    assert not DoNotCall.objects.exists()
    assert not AuditEvent.objects.exists()


def test_a_reason_over_300_characters_is_a_400(api, carol):
    response = api(carol).post(
        "/v1/do-not-call", {"number": "+14155550123", "reason": "x" * 301}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["error"]["field"] == "reason"
    assert not DoNotCall.objects.exists()


def test_the_list_is_newest_first_and_cursor_paginated_with_who_added_each(api, carol):
    DoNotCallFactory(number="+14155550101", added_by=carol)
    DoNotCallFactory(number="+14155550102", source=DoNotCallSource.OPT_OUT, call_public_id="call_abc")
    DoNotCallFactory(number="+14155550103")
    page = api(carol).get("/v1/do-not-call?limit=2").json()
    assert [e["number"] for e in page["results"]] == ["+14155550103", "+14155550102"]
    assert page["results"][1]["call_id"] == "call_abc"
    assert page["results"][1]["source"] == "opt_out"
    assert page["previous"] is None
    rest = api(carol).get(page["next"]).json()
    assert [e["number"] for e in rest["results"]] == ["+14155550101"]
    assert rest["results"][0]["added_by"] == "carol"
    assert rest["next"] is None


def test_the_list_is_searched_by_the_digits_of_a_number_however_typed(api, carol):
    DoNotCallFactory(number="+14155550101")
    DoNotCallFactory(number="+12125550102")
    found = api(carol).get("/v1/do-not-call", {"number": "(415) 555"}).json()["results"]
    assert [e["number"] for e in found] == ["+14155550101"]


def test_the_list_does_not_grow_queries_with_rows(api, carol, django_assert_max_num_queries):
    DoNotCallFactory.create_batch(30, added_by=carol)
    client = api(carol)
    with django_assert_max_num_queries(4):  # api key, role, page (with who added it)
        response = client.get("/v1/do-not-call")
    assert len(response.json()["results"]) == 30


def test_an_entry_is_read_by_its_url_encoded_number_or_a_plain_plus(api, carol):
    DoNotCallFactory(number="+14155550123", reason="Complaint")
    client = api(carol)
    for url in (entry_url("+14155550123"), "/v1/do-not-call/+14155550123"):
        response = client.get(url)
        assert response.status_code == 200, url
        assert response.json()["reason"] == "Complaint"


def test_a_number_not_listed_is_a_404_in_the_error_shape(api, carol):
    response = api(carol).get(entry_url("+14155550123"))
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert api(carol).delete(entry_url("+14155550123")).status_code == 404


def test_removing_a_number_answers_204_and_audits_what_was_removed(api, carol):
    DoNotCallFactory(number="+14155550123", reason="Complaint")
    response = api(carol).delete(entry_url("+14155550123"))
    assert response.status_code == 204
    assert do_not_call_entry("+14155550123") is None
    event = AuditEvent.objects.get(action="do_not_call.removed")
    assert (event.actor, event.object_id, event.after) == (carol, "+14155550123", None)
    assert event.before["reason"] == "Complaint"


@pytest.mark.parametrize("who", ["alice", "bob"])
def test_operators_and_viewers_may_neither_read_nor_change_the_list(api, request, who):
    DoNotCallFactory(number="+14155550123")
    client = api(request.getfixturevalue(who))
    refused = [
        client.get("/v1/do-not-call"),
        client.get(entry_url("+14155550123")),
        client.post("/v1/do-not-call", {"number": "+14155550124"}, format="json"),
        client.delete(entry_url("+14155550123")),
        client.post("/v1/do-not-call/import", {"file": b""}, format="multipart"),
    ]
    assert [r.status_code for r in refused] == [403] * 5
    assert {r.json()["error"]["code"] for r in refused} == {"permission_denied"}
    assert list(DoNotCall.objects.values_list("number", flat=True)) == ["+14155550123"]
    assert not AuditEvent.objects.exists()


def test_without_a_key_the_list_is_a_401(api):
    assert api().get("/v1/do-not-call").status_code == 401
