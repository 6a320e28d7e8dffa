"""POST /v1/do-not-call/import: a CSV of numbers, each row checked (invalid, duplicate within the file,
already listed) and reported by its spreadsheet row (header = row 1); the valid rows added together; a
file that cannot be read as a whole is a 400 and adds nothing."""

import tracemalloc

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile, TemporaryUploadedFile

from compliance import do_not_call_import as importer
from compliance.models import AuditEvent, DoNotCall, DoNotCallSource
from tests.factories import DoNotCallFactory

pytestmark = pytest.mark.django_db


def upload(content: bytes, name: str = "numbers.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, "text/csv")


def post_import(client, content: bytes, **fields):
    return client.post("/v1/do-not-call/import", {"file": upload(content), **fields}, format="multipart")


def listed() -> dict[str, str]:
    return dict(DoNotCall.objects.values_list("number", "reason"))


def test_each_rejected_row_is_reported_by_its_spreadsheet_row_and_the_rest_are_added(api, carol):
    DoNotCallFactory(number="+14155550104", reason="Listed last year")
    content = (
        b"name,phone,reason\n"  # row 1
        b"Jane,(415) 555-0101,Asked by email\n"  # row 2: added
        b"Joe,not a number,\n"  # row 3: invalid
        b"\n"  # row 4: blank, skipped
        b"Jim,+1 415 555 0101,Again\n"  # row 5: duplicate of row 2, typed differently
        b"Jo,415.555.0104,\n"  # row 6: already listed
        b'Ann,4155550105,"Two\nlines"\n'  # row 7 (one spreadsheet row, two lines of text): added
        b"Al,4155550106\n"  # row 8: no reason cell: added
    )
    response = post_import(api(carol), content)
    assert response.status_code == 200, response.content
    report = response.json()
    assert (report["rows"], report["accepted"], report["rejected"]) == (6, 3, 3)
    assert [(e["row"], e["field"], e["code"], e["number"]) for e in report["errors"]] == [
        (3, "number", "invalid_number", "not a number"),
        (5, "number", "duplicate", "+1 415 555 0101"),
        (6, "number", "already_listed", "415.555.0104"),
    ]
    assert "also on row 2" in report["errors"][1]["message"]
    assert "already on the list" in report["errors"][2]["message"]
    assert listed() == {
        "+14155550101": "Asked by email",
        "+14155550104": "Listed last year",
        "+14155550105": "Two lines",
        "+14155550106": "",
    }
    added = DoNotCall.objects.get(number="+14155550101")
    assert (added.source, added.added_by) == (DoNotCallSource.CSV, carol)


def test_an_import_audits_each_number_it_added_and_the_import_itself(api, carol):
    post_import(api(carol), b"phone\n+14155550101\n+14155550102\nnope\n")
    added = AuditEvent.objects.filter(action="do_not_call.added").order_by("id")
    assert [e.object_id for e in added] == ["+14155550101", "+14155550102"]
    assert {e.actor for e in added} == {carol}
    assert added[0].after["source"] == "csv"
    imported = AuditEvent.objects.get(action="do_not_call.imported")
    assert imported.actor == carol
    assert imported.after == {"file": "numbers.csv", "rows": 3, "accepted": 2, "rejected": 1}


def test_a_utf8_file_with_a_byte_order_mark_finds_its_phone_column(api, carol):
    response = post_import(api(carol), "\ufeffPhone,Reason\n+14155550101,Demandé\n".encode())
    assert response.json()["accepted"] == 1
    assert listed() == {"+14155550101": "Demandé"}


def test_a_latin1_file_is_read_with_its_accents(api, carol):
    content = "téléphone;mobile;reason\nx;+14155550101;Demandé à l'accueil\n".encode("latin-1")
    response = post_import(api(carol), content)
    assert response.status_code == 200, response.content
    assert listed() == {"+14155550101": "Demandé à l'accueil"}


def test_a_windows_spreadsheet_export_keeps_its_curly_quotes(api, carol):
    content = "phone,reason\n+14155550101,“Never again” – by phone\n".encode("cp1252")
    post_import(api(carol), content)
    assert listed() == {"+14155550101": "“Never again” – by phone"}


def test_semicolons_separate_columns_as_european_spreadsheets_save_them(api, carol):
    content = b"Name;Phone number;Reason\nDupont;(415) 555-0101;Par courrier, lettre recommand\xc3\xa9e\n"
    response = post_import(api(carol), content)
    assert response.json()["accepted"] == 1
    assert listed() == {"+14155550101": "Par courrier, lettre recommandée"}


def test_a_file_without_a_header_is_a_column_of_numbers_from_row_1(api, carol):
    report = post_import(api(carol), b"+14155550101\nnope\n(415) 555-0102\n").json()
    assert report["accepted"] == 2
    assert [(e["row"], e["code"]) for e in report["errors"]] == [(2, "invalid_number")]


def test_the_phone_column_may_be_named(api, carol):
    content = b"home,work\n+14155550101,+14155550102\n"
    response = post_import(api(carol), content, phone_column="Work")
    assert response.json()["accepted"] == 1
    assert list(listed()) == ["+14155550102"]
    missing = post_import(api(carol), content, phone_column="cell")
    assert missing.status_code == 400
    assert missing.json()["error"]["code"] == "no_phone_column"
    assert missing.json()["error"]["field"] == "phone_column"


def test_a_file_with_no_phone_column_is_a_400_that_says_how_to_name_it(api, carol):
    response = post_import(api(carol), b"name,email\nJane,jane@example.com\n")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "no_phone_column"
    assert "phone, number, phone_number or mobile" in response.json()["error"]["message"]
    assert not DoNotCall.objects.exists()


@pytest.mark.parametrize(
    ("content", "code"),
    [
        (b"", "empty_file"),
        (b"\xef\xbb\xbf\r\n  \n", "empty_file"),
        (b"phone,reason\n", "empty_file"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10", "unreadable_file"),
        (b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00", "unreadable_file"),  # an .xlsx
        ("phone\n+14155550101\n".encode("utf-16"), "unreadable_file"),
    ],
    ids=["zero-bytes", "blank", "header-only", "png", "xlsx", "utf-16"],
)
def test_an_empty_or_binary_file_is_a_400_and_adds_nothing(api, carol, content, code):
    response = post_import(api(carol), content)
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert (error["code"], error["field"]) == (code, "file")
    assert not DoNotCall.objects.exists()
    assert not AuditEvent.objects.exists()


def test_a_request_without_a_file_is_a_400_naming_it(api, carol):
    response = api(carol).post("/v1/do-not-call/import", {}, format="multipart")
    assert response.status_code == 400
    assert response.json()["error"]["field"] == "file"


def test_a_file_refused_half_way_adds_none_of_its_rows(api, carol, monkeypatch):
    monkeypatch.setattr(importer, "BATCH_ROWS", 2)  # the first rows are inserted before the bad one is read
    content = b"phone,reason\n" + b"".join(b"+1415555010%d,ok\n" % i for i in range(5))
    content += b'+14155550199,"' + b"x" * 200_000 + b'"\n'  # a cell over the csv module's limit
    response = post_import(api(carol), content)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "unreadable_file"
    assert not DoNotCall.objects.exists()
    assert not AuditEvent.objects.exists()


def test_more_rows_than_the_limit_is_a_400_and_adds_nothing(api, carol, monkeypatch):
    monkeypatch.setattr(importer, "MAX_ROWS", 3)
    response = post_import(api(carol), b"phone\n" + b"".join(b"+1415555010%d\n" % i for i in range(4)))
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "too_many_rows"
    assert not DoNotCall.objects.exists()
    exactly = post_import(api(carol), b"phone\n" + b"".join(b"+1415555010%d\n" % i for i in range(3)))
    assert exactly.json()["accepted"] == 3


def test_a_file_over_the_size_cap_is_a_413_refused_before_it_is_read(api, carol, settings):
    settings.BULK_CSV_MAX_BYTES = 1024
    response = post_import(api(carol), b"phone\n" + b"+14155550101\n" * 100)
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "file_too_large"
    assert not DoNotCall.objects.exists()


def test_a_large_file_is_read_as_a_stream_not_held_in_memory(carol, monkeypatch, settings):
    monkeypatch.setattr(importer, "MAX_ROWS", 200)
    settings.BULK_CSV_MAX_BYTES = 64 * 1024 * 1024
    big = TemporaryUploadedFile("big.csv", "text/csv", 0, "utf-8")  # as Django keeps a large upload
    big.write(b"phone\n" + b"+14155550101\n" * 1_500_000)  # 19.5 MB
    big.size = big.tell()
    tracemalloc.start()
    try:
        with pytest.raises(importer.ImportRefused, match="At most 200 rows"):
            importer.do_not_call_import(actor=carol, upload=big)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
        big.close()
    assert peak < 2 * 1024 * 1024, peak  # neither the file nor a list of its rows


def test_the_rejected_rows_come_back_as_a_csv_to_fix_and_upload_again(carol):
    report = importer.do_not_call_import(
        actor=carol, upload=upload(b"phone,reason\nnope,Complaint\n+14155550101,\n")
    )
    rows = list(report.rejected_rows())
    assert importer.REJECTED_CSV_HEADER == ["row", "number", "reason", "error", "message"]
    assert [row[:4] for row in rows] == [[2, "nope", "Complaint", "invalid_number"]]
    assert rows[0][4].startswith("'nope' is not a valid phone number")
