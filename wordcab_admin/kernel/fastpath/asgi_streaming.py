"""Streamed responses that really stream under ASGI.

Django serves a StreamingHttpResponse built on a plain iterator, under ASGI, by reading the whole iterator
into a list on a thread first (with a warning): a large CSV export or a long recording then sits in memory
and the first byte leaves only after the last one is read. The iterators here do sync work (the ORM, the
recording store), so they cannot simply become async; instead the response pulls them in batches, each on
the request's own sync thread (the one that ran the view and holds its database connection).

No benchmark justifies it: nothing in `make bench` (status_callbacks, live, media) downloads anything. It
is for memory and time to first byte (a 200,000-call export, a long recording), not speed. Otherwise a
plain `StreamingHttpResponse(iterator)`, which Django under ASGI reads whole first (its public way to
stream there is an async iterator, and these iterators are sync).

It leans on `django.core.handlers.asgi.ASGIRequest` (undocumented: how an ASGI request is told apart) and
DRF's `Request._request`, pinned by tests/core/test_streaming.py and tests/recordings/test_recording_api.py
(`response.is_async` through the ASGI handler, for a Django view and a DRF one), and on Django's handler
running a sync view with `sync_to_async(thread_sensitive=True)`, so that the pulls land on the view's
thread: pinned by tests/core/test_fastpath.py."""

from __future__ import annotations

import csv
import re
from collections.abc import AsyncIterator, Iterable, Iterator
from itertools import islice
from typing import TYPE_CHECKING, TypeVar

from asgiref.sync import sync_to_async
from django.core.handlers.asgi import ASGIRequest
from django.http import HttpRequest, StreamingHttpResponse

if TYPE_CHECKING:
    from rest_framework.request import Request

T = TypeVar("T")
CSV_CHUNK_ROWS = 500


def streaming_response(
    request: HttpRequest | Request, content: Iterable[T], *, batch: int = 64, **kwargs
) -> StreamingHttpResponse:
    """A StreamingHttpResponse of `content` that streams under both ASGI and WSGI (and the test client)."""
    if isinstance(getattr(request, "_request", request), ASGIRequest):  # a DRF Request wraps Django's
        content = pulled_in_batches(iter(content), batch)
    return StreamingHttpResponse(content, **kwargs)


async def pulled_in_batches(iterator: Iterator[T], batch: int) -> AsyncIterator[T]:
    """Yield from a sync iterator, taking `batch` items at a time on the request's sync thread."""
    take = sync_to_async(lambda: list(islice(iterator, batch)), thread_sensitive=True)
    close = getattr(iterator, "close", None)
    try:
        while items := await take():
            for item in items:
                yield item
    finally:
        if close is not None:  # a client that left mid-download: end the generator (and its DB cursor)
            await sync_to_async(close, thread_sensitive=True)()


class Echo:
    """A file whose write() returns what it is given, so that csv.writer hands back each line to stream."""

    def write(self, value: str) -> str:
        return value


# CSV injection (OWASP): a spreadsheet runs a cell that begins with one of these as a formula, e.g. a SIP
# From of `=cmd|'/c calc'!A1`. The full-width forms are there because some spreadsheets in East Asian locales
# read them as the ASCII ones.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")
# ...except a plain number, which no spreadsheet runs: `-5`, `3.5`, and E.164 phone numbers (`+14155550123`),
# which the exports hold in every row and which a quote would spoil for whoever reads the file.
PLAIN_NUMBER = re.compile(r"[+-]?[0-9][0-9.]*")


def csv_cell(value: object) -> object:
    """A cell as an export writes it: text that a spreadsheet would run as a formula gets a leading `'`,
    which makes the spreadsheet show it as text (OWASP's advice); numbers, dates and plain text pass as is."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS) and not PLAIN_NUMBER.fullmatch(value):
        return "'" + value
    return value


def csv_response(
    request: HttpRequest | Request, *, header: list[str], rows: Iterable[list], filename: str
) -> StreamingHttpResponse:
    """A CSV download of `rows` under `header`, streamed (a large export never sits in memory). Every CSV
    export goes through here, so every cell is neutralised against formula injection here (`csv_cell`)."""
    writer = csv.writer(Echo())

    def chunks() -> Iterator[str]:  # a generator, so that a download cut short closes `rows` (and its cursor)
        # Lines go out CSV_CHUNK_ROWS at a time: one body message per line cost more than making the line.
        lines = [writer.writerow([csv_cell(cell) for cell in header])]
        for row in rows:
            lines.append(writer.writerow([csv_cell(cell) for cell in row]))
            if len(lines) >= CSV_CHUNK_ROWS:
                yield "".join(lines)
                lines = []
        if lines:
            yield "".join(lines)

    response = streaming_response(request, chunks(), batch=1, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
