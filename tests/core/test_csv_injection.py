"""CSV exports neutralise formulas (OWASP "CSV injection"): a cell that a spreadsheet would run, such as a
caller's SIP From of `=cmd|'/c calc'!A1`, is written with a leading `'`; plain numbers, E.164 phone numbers
among them, are written as they are."""

import csv
import io

import pytest

from calls.models import CallStatus
from tests.factories import CallFactory, UserFactory
from wordcab_admin.kernel.audit import audit_record
from wordcab_admin.kernel.fastpath.asgi_streaming import csv_cell

pytestmark = pytest.mark.django_db
FORMULAS = [
    "=cmd|'/c calc'!A1",
    "+1+cmd|'/c calc'!A1",
    "-2+3",
    "@SUM(1+1)*cmd|'/c calc'!A1",
    "\t=1+1",
    "\r=1+1",
    '=HYPERLINK("http://evil.example.com","click")',
    "\uff1d1+1",  # a full-width equals sign
]


@pytest.mark.parametrize("value", FORMULAS)
def test_a_cell_a_spreadsheet_would_run_gets_a_leading_quote(value):
    assert csv_cell(value) == "'" + value


@pytest.mark.parametrize(
    "value",
    [
        "+14155550123",
        "-5",
        "+3.25",
        "42",
        "call_abc",
        "",
        "a=b",
        " =not at the start",
        "sip:+1415@x",
        7,
        -5,
        None,
    ],
)
def test_numbers_and_plain_text_are_written_as_they_are(value):
    assert csv_cell(value) == value


def rows_of(response) -> list[dict]:
    assert response.status_code == 200
    return list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_the_calls_export_neutralises_a_callers_sip_from(client, bob):
    evil = "=cmd|'/c calc'!A1"
    call = CallFactory(from_number=evil, to_number="+14155550123", status=CallStatus.FAILED)
    CallFactory(from_number="+14155550100", end_reason="@SUM(1)")
    client.force_login(bob)
    rows = rows_of(client.get("/calls/export.csv"))
    first = next(r for r in rows if r["id"] == call.public_id)
    assert first["from_number"] == "'" + evil
    assert first["phone_number"] == "+14155550123"  # an E.164 number stays a number
    second = next(r for r in rows if r["id"] != call.public_id)
    assert second["from_number"] == "+14155550100"
    assert second["end_reason"] == "'@SUM(1)"


def test_the_audit_export_neutralises_every_column(client, carol):
    mallory = UserFactory(username="-2+3")  # Django's usernames may begin with + - @
    audit_record(actor=mallory, action="number.added", object_type="number", object_id="=1+1",
                 after={"friendly_name": "=cmd|'/c calc'!A1"})  # fmt: skip
    client.force_login(carol)
    [row] = rows_of(client.get("/audit/export.csv"))
    assert row["actor"] == "'-2+3"
    assert row["object_id"] == "'=1+1"
    assert row["after"] == '{"friendly_name": "=cmd|\'/c calc\'!A1"}'  # JSON text starts with {: not run
