"""Uploads of numbers are capped by size before they are read, and a CSV is read as a stream up to its rows.

The incident: a 30 MB CSV posted to the numbers page was read whole (and split into a list of every row)
before its 5000-row limit was checked; the web process went from 148 MB to 2 GB."""

import io
import json
import tracemalloc

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from agents import bulk
from agents.models import PhoneNumber
from compliance.models import AuditEvent

pytestmark = pytest.mark.django_db
ROW = b"+14155550111\n"


def preview(user, content: bytes) -> str:
    client = Client()
    client.force_login(user)
    response = client.post(
        "/numbers/bulk/preview",
        {
            "agent": "agent_abc",
            "provider": "simulator",
            "file": SimpleUploadedFile("n.csv", content, "text/csv"),
        },
    )
    assert response.status_code == 400, response.status_code
    return response.content.decode()


@pytest.fixture
def stream_reads(monkeypatch) -> list:
    """Every stream the CSV reader is handed, with how far it was read and the parse's peak memory."""
    reads = []
    real = bulk.entries_from_stream

    def measured(stream):
        tracemalloc.start()
        try:
            return real(stream)
        finally:
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
            reads.append({"stream": stream, "read": stream.tell(), "peak": peak})

    monkeypatch.setattr(bulk, "entries_from_stream", measured)
    return reads


def test_the_cap_is_a_setting_of_a_few_megabytes(settings):
    assert settings.BULK_CSV_MAX_BYTES == 5 * 1024 * 1024


def test_a_csv_over_the_size_cap_is_refused_readably_before_a_byte_of_it_is_read(alice, agent, stream_reads):
    content = preview(alice, b"number\n" + ROW * 420_000)  # 5.2 MB, over the 5 MB cap
    assert "The file is 5.2\xa0MB; a CSV of numbers may be at most 5.0\xa0MB" in content
    assert stream_reads == []  # refused by its size alone
    assert not PhoneNumber.objects.exists()
    assert not AuditEvent.objects.exists()


def test_a_csv_with_more_rows_than_the_limit_is_refused_after_reading_only_up_to_the_limit(
    alice, agent, settings, stream_reads
):
    settings.BULK_CSV_MAX_BYTES = 64 * 1024 * 1024  # let a 20 MB file through the cap: the rows stop it
    size = 20 * 1024 * 1024
    content = preview(alice, b"number\n" + ROW * (size // len(ROW)))
    assert f"At most {bulk.MAX_ROWS} rows at a time; this file has more." in content
    [read] = stream_reads
    assert not isinstance(read["stream"], io.BytesIO)  # Django kept the upload in a temporary file
    assert read["read"] < 200_000  # 5001 rows of 13 bytes, and the reader's last chunk
    assert read["peak"] < 2 * 1024 * 1024, read["peak"]  # not the 20 MB of the file, nor a list of its rows
    assert not PhoneNumber.objects.exists()


def test_the_reader_stops_at_the_row_limit_of_an_endless_stream():
    class Endless(io.RawIOBase):
        read_bytes = 0

        def readable(self) -> bool:
            return True

        def readinto(self, buffer) -> int:
            chunk = (ROW * (len(buffer) // len(ROW) + 1))[: len(buffer)]
            buffer[: len(chunk)] = chunk
            self.read_bytes += len(chunk)
            return len(chunk)

    stream = Endless()
    with pytest.raises(bulk.UnreadableFile, match="At most 5000 rows"):
        bulk.entries_from_stream(io.BufferedReader(stream))
    assert stream.read_bytes < 200_000


def test_a_header_and_exactly_the_row_limit_is_read_whole():
    entries = bulk.entries_from_csv(b"phone;name\n" + b"+14155550111;x\n" * bulk.MAX_ROWS)
    assert len(entries) == bulk.MAX_ROWS
    assert entries[0] == (2, "+14155550111", "x")
    assert entries[-1] == (bulk.MAX_ROWS + 1, "+14155550111", "x")
    with pytest.raises(bulk.UnreadableFile):
        bulk.entries_from_csv(b"phone\n" + ROW * (bulk.MAX_ROWS + 1))


def test_a_quoted_cell_across_lines_and_crlf_endings_read_as_before():
    data = b'name,phone\r\n"Jane\r\nDoe",+14155550111\r\nJoe,+14155550122\r\n'
    assert bulk.entries_from_csv(data) == [(2, "+14155550111", "Jane\r\nDoe"), (3, "+14155550122", "Joe")]


def test_a_pasted_list_over_the_limit_is_refused_without_splitting_all_of_it():
    with pytest.raises(bulk.UnreadableFile, match="this list has more"):
        bulk.entries_from_text("+14155550111\n" * (bulk.MAX_ROWS + 1))


def test_an_api_bulk_body_over_the_request_size_cap_is_a_413_and_adds_nothing(api, alice, settings):
    body = json.dumps({"numbers": ["+14155550111"] * 200_000})  # 3.2 MB, over DATA_UPLOAD_MAX_MEMORY_SIZE
    assert len(body) > settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    response = api(alice).post("/v1/numbers/bulk", data=body, content_type="application/json")
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "request_too_large"
    assert not PhoneNumber.objects.exists()
