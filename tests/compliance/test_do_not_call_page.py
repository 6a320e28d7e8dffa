"""The do-not-call page: compliance officers and admins search, page, add, remove, import (with a report
of the rejected rows to download) and export the list; nobody else sees it."""

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from compliance.do_not_call import do_not_call_entry
from compliance.models import AuditEvent, DoNotCall, DoNotCallSource
from tests.factories import DoNotCallFactory

pytestmark = pytest.mark.django_db
PAGE = "/compliance/do-not-call/"


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def csv_rows(response) -> list[list[str]]:
    body = b"".join(response.streaming_content).decode()
    return list(csv.reader(io.StringIO(body)))


def test_the_list_shows_each_number_with_its_reason_source_who_added_it_and_when(carol):
    DoNotCallFactory(
        number="+14155550101", reason="Asked by email", added_by=carol, source=DoNotCallSource.PAGE
    )
    DoNotCallFactory(number="+14155550102", source=DoNotCallSource.OPT_OUT, call_public_id="call_abc")
    response = signed_in(carol).get(PAGE)
    assert response.status_code == 200
    html = response.content.decode()
    assert "+14155550101" in html
    assert "Asked by email" in html
    assert ">carol<" in html
    assert "Opt-out during a call" in html
    assert 'href="/calls/call_abc/"' in html  # the call the caller asked in
    assert 'href="/compliance/do-not-call/"' in html  # the navigation link
    assert 'data-confirm="Remove +14155550101 from the do-not-call list?' in html  # removal asks first


def test_the_search_finds_a_number_typed_any_way_and_pages_hold_100_numbers(carol):
    DoNotCallFactory.create_batch(120)
    DoNotCallFactory(number="+14155550199")
    client = signed_in(carol)
    found = client.get(PAGE, {"q": "(415) 555-0199"}, headers={"HX-Request": "true"})
    assert [e.number for e in found.context["entries"]] == ["+14155550199"]
    assert b"<h1>" not in found.content  # the table alone, for htmx
    first, second = client.get(PAGE), client.get(PAGE, {"page": 2})
    assert (len(first.context["entries"]), len(second.context["entries"])) == (100, 21)
    assert "Page 1 of 2 (121 numbers)" in first.content.decode()


def test_a_number_added_on_the_page_is_read_as_typed_and_audited(carol):
    response = signed_in(carol).post(
        f"{PAGE}add", {"number": "415-555-0123", "reason": "Complaint"}, follow=True
    )
    assert b"+14155550123 added" in response.content
    entry = do_not_call_entry("+14155550123")
    assert (entry.reason, entry.source, entry.added_by) == ("Complaint", DoNotCallSource.PAGE, carol)
    assert AuditEvent.objects.get(action="do_not_call.added").actor == carol


def test_adding_a_listed_number_on_the_page_says_so_and_changes_nothing(carol):
    DoNotCallFactory(number="+14155550123", reason="Complaint")
    response = signed_in(carol).post(f"{PAGE}add", {"number": "(415) 555-0123", "reason": "x"}, follow=True)
    assert b"+14155550123 was already on the list" in response.content
    assert do_not_call_entry("+14155550123").reason == "Complaint"
    assert not AuditEvent.objects.exists()


def test_an_invalid_number_on_the_page_is_shown_on_the_form(carol):
    response = signed_in(carol).post(f"{PAGE}add", {"number": "555-01", "reason": ""})
    assert response.status_code == 400
    assert b"is not a valid phone number" in response.content
    assert not DoNotCall.objects.exists()


def test_removing_a_number_on_the_page_takes_it_off_the_list_and_audits_it(carol):
    DoNotCallFactory(number="+14155550123")
    response = signed_in(carol).post(f"{PAGE}+14155550123/remove", follow=True)
    assert b"+14155550123 removed from the list" in response.content
    assert do_not_call_entry("+14155550123") is None
    assert AuditEvent.objects.get(action="do_not_call.removed").actor == carol


def test_removing_a_number_no_longer_listed_says_so(carol):
    response = signed_in(carol).post(f"{PAGE}+14155550123/remove", follow=True)
    assert b"+14155550123 is not on the do-not-call list" in response.content


def test_an_import_shows_its_report_and_offers_the_rejected_rows_as_a_csv(carol):
    DoNotCallFactory(number="+14155550104")
    content = b"phone;reason\n+14155550101;ok\nnope;bad\n+14155550101;again\n4155550104;listed\n"
    client = signed_in(carol)
    response = client.post(
        f"{PAGE}import", {"file": SimpleUploadedFile("list.csv", content, "text/csv")}, follow=True
    )
    html = response.content.decode()
    assert "Imported 1 of 4 rows; 3 rejected." in html
    assert "Import of list.csv" in html
    for code in ("invalid_number", "duplicate", "already_listed"):
        assert code in html
    report = response.context["report"]
    download = client.get(f"{PAGE}import/{response.context['report_token']}/rejected.csv")
    assert download["Content-Disposition"] == 'attachment; filename="do-not-call-rejected-rows.csv"'
    rows = csv_rows(download)
    assert rows[0] == ["row", "number", "reason", "error", "message"]
    assert [row[:4] for row in rows[1:]] == [
        ["3", "nope", "bad", "invalid_number"],
        ["4", "+14155550101", "again", "duplicate"],
        ["5", "4155550104", "listed", "already_listed"],
    ]
    assert report.accepted == 1


def test_an_unreadable_upload_on_the_page_is_a_400_that_says_why_and_adds_nothing(carol):
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"
    response = signed_in(carol).post(
        f"{PAGE}import", {"file": SimpleUploadedFile("list.csv", png, "text/csv")}
    )
    assert response.status_code == 400
    assert b"The file is not text" in response.content
    assert not DoNotCall.objects.exists()


def test_an_expired_report_is_a_404_and_the_page_says_it_expired(carol):
    client = signed_in(carol)
    assert client.get(f"{PAGE}import/{'x' * 24}/rejected.csv").status_code == 404
    assert b"That import report has expired" in client.get(PAGE, {"report": "x" * 24}).content


def test_the_export_is_the_list_as_csv_with_formulas_neutralised(carol):
    DoNotCallFactory(number="+14155550101", reason='=HYPERLINK("http://x")', added_by=carol)
    DoNotCallFactory(number="+12125550102", source=DoNotCallSource.OPT_OUT, call_public_id="call_abc")
    response = signed_in(carol).get(f"{PAGE}export.csv")
    rows = csv_rows(response)
    assert rows[0] == ["number", "reason", "source", "added_by", "call_id", "added_at"]
    assert [row[:5] for row in rows[1:]] == [
        ["+12125550102", "Asked not to be called again", "opt_out", "", "call_abc"],
        ["+14155550101", '\'=HYPERLINK("http://x")', "api", "carol", ""],
    ]
    narrowed = csv_rows(signed_in(carol).get(f"{PAGE}export.csv", {"q": "212"}))
    assert [row[0] for row in narrowed[1:]] == ["+12125550102"]


@pytest.mark.parametrize("who", ["alice", "bob"])
def test_operators_and_viewers_neither_see_nor_open_the_page(request, who):
    DoNotCallFactory(number="+14155550123")
    client = signed_in(request.getfixturevalue(who))
    assert client.get(PAGE).status_code == 403
    assert client.get(f"{PAGE}export.csv").status_code == 403
    assert client.post(f"{PAGE}add", {"number": "+14155550124"}).status_code == 403
    assert client.post(f"{PAGE}+14155550123/remove").status_code == 403
    dashboard = client.get("/")
    assert dashboard.status_code == 200
    assert b'href="/compliance/do-not-call/"' not in dashboard.content  # no link to it either
    assert DoNotCall.objects.count() == 1


@pytest.mark.parametrize("who", ["carol", "ada"])
def test_compliance_officers_and_admins_find_the_page_in_the_navigation(request, who):
    client = signed_in(request.getfixturevalue(who))
    assert b'href="/compliance/do-not-call/"' in client.get("/").content
    assert client.get(PAGE).status_code == 200
