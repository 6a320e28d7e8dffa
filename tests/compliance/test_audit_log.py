"""The audit log page and its CSV export: filters by action, who, object and day; JSON shown as JSON; the
request id of each event; for compliance officers and admins only."""

import csv
import io
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from compliance.models import AuditEvent
from wordcab_admin.kernel.audit import audit_record

pytestmark = pytest.mark.django_db


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def backdate(event: AuditEvent, days: int) -> None:
    """Audit events are append-only through the ORM; a test moves one back in time with plain SQL."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {AuditEvent._meta.db_table} SET created_at = %s WHERE id = %s",  # noqa: S608 -- our table name
            [timezone.now() - timedelta(days=days), event.pk],
        )


@pytest.fixture
def history(carol, alice):
    old = audit_record(actor=carol, action="number.added", object_type="number", object_id="num_old",
                       after={"number": "+14155550100", "agent_id": None})  # fmt: skip
    backdate(old, days=10)
    audit_record(actor=alice, action="agent.created", object_type="agent", object_id="agent_a",
                 after={"name": "Reminders", "record": False})  # fmt: skip
    audit_record(actor=None, action="recording.played", object_type="call", object_id="call_x")
    return old


def test_the_log_shows_before_and_after_as_json_and_offers_each_action_to_filter_by(carol, history):
    html = signed_in(carol).get("/audit/").content.decode()
    assert "&quot;record&quot;: false" in html  # JSON, not Python's False
    assert "&quot;agent_id&quot;: null" in html
    for action in ("agent.created", "number.added", "recording.played"):
        assert f'<option value="{action}"' in html


@pytest.mark.parametrize(
    ("query", "objects"),
    [
        ("action=agent.created", ["agent_a"]),
        ("actor=system", ["call_x"]),
        ("object_id=num_old", ["num_old"]),
        ("until=" + (timezone.localdate() - timedelta(days=5)).isoformat(), ["num_old"]),
        ("since=" + timezone.localdate().isoformat(), ["call_x", "agent_a"]),
        ("action=&actor=", ["call_x", "agent_a", "num_old"]),  # empty fields mean any
        ("since=0001-01-01&until=9999-12-31", ["call_x", "agent_a", "num_old"]),  # the calendar's ends
    ],
)
def test_the_log_filters(carol, history, query, objects):
    page = signed_in(carol).get(f"/audit/?{query}")
    assert [e.object_id for e in page.context["events"]] == objects


def test_a_bad_day_is_a_readable_error_not_a_500(carol, history):
    page = signed_in(carol).get("/audit/?since=yesterday")
    assert page.status_code == 200
    assert "Enter a valid date" in page.content.decode()
    assert signed_in(carol).get("/audit/export.csv?since=yesterday").status_code == 400


@pytest.mark.parametrize("value", ["%", "%s", "%(x)s", "%%"])
@pytest.mark.parametrize("field", ["since", "until"])
def test_a_percent_sign_in_a_day_filter_is_a_readable_error_on_the_page_and_the_export(
    carol, history, field, value
):
    client = signed_in(carol)
    page = client.get("/audit/", {field: value})
    assert page.status_code == 200
    assert f"{field}: Enter a valid date." in page.content.decode()
    export = client.get("/audit/export.csv", {field: value})
    assert export.status_code == 400
    assert export["Content-Type"] == "text/plain; charset=utf-8"
    assert export.content.decode() == f"Invalid filters:\n{field}: Enter a valid date.\n"


@pytest.mark.parametrize("value", ["%", "%s", "%(x)s", "%%"])
def test_a_percent_sign_in_a_text_filter_matches_it_literally(carol, history, value):
    client = signed_in(carol)
    for field in ("action", "actor", "object_id"):
        page = client.get("/audit/", {field: value})
        assert (page.status_code, page.context["events"]) == (200, [])
        export = client.get("/audit/export.csv", {field: value})
        assert export.status_code == 200
        assert b"".join(export.streaming_content).decode().splitlines()[1:] == []


def test_the_export_holds_every_matching_entry_oldest_first_with_json_columns(carol, history):
    response = signed_in(carol).get("/audit/export.csv?actor=carol")
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="audit-log.csv"'
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [(r["actor"], r["action"], r["object_id"]) for r in rows] == [("carol", "number.added", "num_old")]
    assert rows[0]["after"] == '{"number": "+14155550100", "agent_id": null}'
    assert rows[0]["before"] == ""
    assert rows[0]["request_id"] == ""  # written outside a request
    everything = signed_in(carol).get("/audit/export.csv")
    lines = b"".join(everything.streaming_content).decode().splitlines()
    assert len(lines) == 1 + 3
    assert lines[1].split(",")[2] == "number.added"  # the oldest first


def test_the_page_links_its_export_with_the_same_filters(carol, history):
    html = signed_in(carol).get("/audit/?action=agent.created").content.decode()
    assert 'href="/audit/export.csv?action=agent.created"' in html


@pytest.mark.parametrize("who", ["alice", "bob"])
def test_operators_and_viewers_may_not_read_the_log_or_export_it(request, history, who):
    client = signed_in(request.getfixturevalue(who))
    assert client.get("/audit/").status_code == 403
    assert client.get("/audit/export.csv").status_code == 403


def test_the_page_and_the_export_show_the_request_that_wrote_each_event(api, carol, alice, history):
    created = api(alice).post(
        "/v1/agents", {"name": "Renewals"}, format="json", HTTP_X_REQUEST_ID="req-2026-renewals"
    )
    assert created.status_code == 201
    html = signed_in(carol).get("/audit/").content.decode()
    assert '<dt>Request</dt><dd class="mono">req-2026-renewals</dd>' in html
    export = signed_in(carol).get("/audit/export.csv?action=agent.created&actor=alice")
    rows = list(csv.DictReader(io.StringIO(b"".join(export.streaming_content).decode())))
    assert [row["request_id"] for row in rows] == ["", "req-2026-renewals"]  # oldest first
