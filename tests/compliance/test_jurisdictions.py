"""Jurisdictions in the API and the pages: everyone reads them, compliance officers edit the consent rule,
calling hours and day rules, and every edit is in the audit log (before → after)."""

from datetime import time

import pytest
from django.test import Client
from hypothesis import given

from compliance.models import AuditEvent, Jurisdiction
from tests.core.test_no_5xx import FUZZ, assert_not_5xx, json_body, odd_text, segment
from tests.factories import JurisdictionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def texas(db):
    return JurisdictionFactory(
        code="US-TX",
        name="Texas",
        recording_consent="one_party",
        calling_start=time(9),
        calling_end=time(21),
        day_rules={"sunday": "12:00-21:00"},
        calling_days_note="Mon-Sat 09:00-21:00; Sundays 12:00-21:00",
        source="Tex. Bus. & Com. Code § 301.051 (from general knowledge; verify)",
        needs_review=True,
    )


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_anyone_signed_in_lists_and_reads_jurisdictions(api, bob, texas):
    listed = api(bob).get("/v1/jurisdictions?limit=500")
    assert listed.status_code == 200
    codes = [row["code"] for row in listed.json()["results"]]
    assert "US-TX" in codes
    assert len(codes) == Jurisdiction.objects.count()
    body = api(bob).get("/v1/jurisdictions/us-tx").json()
    assert body == {
        "code": "US-TX",
        "name": "Texas",
        "country": "US",
        "recording_consent": "one_party",
        "calling_start": "09:00",
        "calling_end": "21:00",
        "day_rules": {"sunday": "12:00-21:00"},
        "calling_days_note": "Mon-Sat 09:00-21:00; Sundays 12:00-21:00",
        "source": "Tex. Bus. & Com. Code § 301.051 (from general knowledge; verify)",
        "needs_review": True,
        "updated_at": body["updated_at"],
    }


def test_an_unknown_jurisdiction_is_a_404_in_the_error_shape(api, bob):
    response = api(bob).get("/v1/jurisdictions/XX-NOPE")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "jurisdiction_not_found"


def test_a_compliance_officer_edits_consent_hours_and_day_rules_and_it_is_audited(api, carol, texas):
    change = {
        "recording_consent": "all_party",
        "calling_start": "10:00",
        "day_rules": {"sunday": "closed", "holidays": "closed", "holiday_calendar": "us_federal"},
        "needs_review": False,
    }
    response = api(carol).patch("/v1/jurisdictions/US-TX", change, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["calling_start"] == "10:00"
    texas.refresh_from_db()
    assert (texas.recording_consent, texas.calling_start, texas.needs_review) == (
        "all_party",
        time(10),
        False,
    )
    event = AuditEvent.objects.get(action="jurisdiction.updated")
    assert (event.actor, event.object_type, event.object_id) == (carol, "jurisdiction", "US-TX")
    assert event.before["recording_consent"] == "one_party"
    assert event.before["calling_hours"] == "09:00-21:00"
    assert event.before["day_rules"] == {"sunday": "12:00-21:00"}
    assert event.after["recording_consent"] == "all_party"
    assert event.after["calling_hours"] == "10:00-21:00"
    assert event.after["day_rules"]["sunday"] == "closed"


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"recording_consent": "two_party"}, 400, "recording_consent"),
        ({"calling_start": "9am"}, 400, "calling_start"),
        ({"day_rules": {"sunday": "noonish"}}, 400, "day_rules"),
        ({"day_rules": {"funday": "closed"}}, 400, "day_rules"),
        ({"calling_start": "22:00"}, 422, "calling_end"),
        ({"name": "Lone Star"}, 400, "name"),
    ],
)
def test_a_bad_edit_is_refused_with_the_field_and_nothing_changes(api, carol, texas, body, status, field):
    response = api(carol).patch("/v1/jurisdictions/US-TX", body, format="json")
    assert response.status_code == status, response.content
    assert response.json()["error"]["field"] == field
    texas.refresh_from_db()
    assert (texas.calling_start, texas.day_rules, texas.name) == (time(9), {"sunday": "12:00-21:00"}, "Texas")
    assert not AuditEvent.objects.filter(action="jurisdiction.updated").exists()


@pytest.mark.parametrize("who", ["alice", "bob"])
def test_only_compliance_officers_and_admins_edit_jurisdictions(api, request, texas, who):
    response = api(request.getfixturevalue(who)).patch(
        "/v1/jurisdictions/US-TX", {"calling_start": "10:00"}, format="json"
    )
    assert response.status_code == 403
    texas.refresh_from_db()
    assert texas.calling_start == time(9)


def test_the_jurisdictions_page_shows_rules_review_badges_and_notes(bob, texas):
    page = signed_in(bob).get("/compliance/jurisdictions/")
    assert page.status_code == 200
    html = page.content.decode()
    row = html[html.index('id="jurisdiction-US-TX"') :].split("</tr>")[0]
    assert "Texas" in row
    assert "One party" in row
    assert "09:00–21:00" in row
    assert "needs review" in row
    assert "Sundays: 12:00–21:00" in row
    assert "Mon-Sat 09:00-21:00; Sundays 12:00-21:00" in row  # the note, beside its structured rule
    only_review = signed_in(bob).get("/compliance/jurisdictions/?review=1").content.decode()
    assert 'id="jurisdiction-US-TX"' in only_review
    assert 'id="jurisdiction-US-CA"' not in only_review  # its citation is confirmed


def test_a_compliance_officer_edits_a_jurisdiction_on_its_page_and_it_is_audited(carol, texas):
    form = {
        "recording_consent": "all_party",
        "calling_start": "09:00",
        "calling_end": "20:00",
        "sunday": "closed",
        "saturday": "10:00-17:00",
        "holidays": "closed",
        "holiday_calendar": "us_federal",
        "holiday_dates": "12-26, 2026-04-03",
        "calling_days_note": "Reviewed.",
        "source": "Tex. Bus. & Com. Code § 301.051",
    }
    response = signed_in(carol).post("/compliance/jurisdictions/US-TX/", form)
    assert response.status_code == 302
    texas.refresh_from_db()
    assert texas.day_rules == {
        "saturday": "10:00-17:00",
        "sunday": "closed",
        "holidays": "closed",
        "holiday_calendar": "us_federal",
        "holiday_dates": ["12-26", "2026-04-03"],
    }
    assert (texas.calling_end, texas.needs_review) == (time(20), False)  # the box was left unticked
    event = AuditEvent.objects.get(action="jurisdiction.updated", object_id="US-TX")
    assert event.actor == carol
    assert event.after["day_rules"]["saturday"] == "10:00-17:00"
    page = signed_in(carol).get("/compliance/jurisdictions/US-TX/").content.decode()
    assert "Holidays (US federal holidays, 12-26, 2026-04-03): closed" in page


def test_a_bad_day_rule_on_the_page_is_answered_on_the_form(carol, texas):
    form = {
        "recording_consent": "one_party",
        "calling_start": "09:00",
        "calling_end": "21:00",
        "sunday": "after lunch",
    }
    response = signed_in(carol).post("/compliance/jurisdictions/US-TX/", form)
    assert response.status_code == 400
    assert "after lunch" in response.content.decode()
    texas.refresh_from_db()
    assert texas.day_rules == {"sunday": "12:00-21:00"}


def test_a_viewer_sees_the_page_without_the_form_and_may_not_post(bob, texas):
    client = signed_in(bob)
    page = client.get("/compliance/jurisdictions/US-TX/")
    assert page.status_code == 200
    assert "Save US-TX" not in page.content.decode()
    assert client.post("/compliance/jurisdictions/US-TX/", {"calling_start": "10:00"}).status_code == 403
    assert signed_in(bob).get("/compliance/jurisdictions/XX/").status_code == 404


def test_the_compliance_page_names_the_default_opener_rather_than_warning_of_silence(bob):
    html = signed_in(bob).get("/compliance/").content.decode()
    assert "This call may be recorded, and you are speaking with an AI assistant." in html
    assert "Calls start without a recording/AI disclosure until you add one" not in html


EDIT_FIELDS = [
    "recording_consent", "calling_start", "calling_end", "day_rules", "calling_days_note", "source",
    "needs_review",
]  # fmt: skip


def test_no_edit_body_answers_a_5xx(api, carol, texas):
    """The odd JSON of tests/core/test_no_5xx.py (deep nesting, surrogates, NUL, huge numbers, wrong types)."""
    client = api(carol)

    @FUZZ
    @given(body=json_body(EDIT_FIELDS))
    def check(body):
        response = client.patch(
            "/v1/jurisdictions/US-TX",
            data=body.encode("utf-8", "surrogatepass"),
            content_type="application/json",
        )
        assert_not_5xx(response, f"PATCH /v1/jurisdictions/US-TX {body[:300]!r}")

    check()


def test_no_odd_code_in_the_path_answers_a_5xx(api, carol):
    client = api(carol)

    @FUZZ
    @given(value=odd_text)
    def check(value):
        url = f"/v1/jurisdictions/{segment(value) or 'x'}"
        assert_not_5xx(client.get(url), f"GET {url}")
        assert_not_5xx(client.patch(url, data="{}", content_type="application/json"), f"PATCH {url}")

    check()
