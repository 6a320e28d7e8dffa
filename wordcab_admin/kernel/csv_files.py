"""Reading the CSV files people bring from spreadsheets, CRMs and dialers, as a stream.

One reader for every import (the do-not-call list, a campaign's contacts). A file is told apart before any of
it is used: its encoding, read in chunks (UTF-8 with or without BOM, else Windows-1252, else Latin-1, which
is what spreadsheets save as "CSV" outside UTF-8), an empty or binary file refused, and its delimiter (comma,
semicolon or tab, the commonest on the first line). Then its records come one at a time, numbered as a
spreadsheet numbers its rows: a quoted cell holding line breaks is one row, a blank line is a row too.

The kernel names no app, so each caller says which error a refused file raises (`refused`: a DomainError
subclass whose default code is the caller's "unreadable file" code)."""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import IO

from wordcab_admin.kernel.errors import DomainError

CHUNK_BYTES = 64 * 1024
DELIMITERS = (",", ";", "\t")
# Bytes no text file holds (NUL and the C0 controls but tab, line feed, vertical tab, form feed, carriage
# return and the old end-of-file mark): a spreadsheet, an image, a zip or UTF-16 text.
BINARY_BYTES = bytes([*range(0x00, 0x09), *range(0x0E, 0x1A), *range(0x1B, 0x20)])
# Header names that hold phone numbers, as `header_name` normalises them, the likeliest first: the plain
# names, VICIdial's phone_number, HubSpot's "Phone Number" / "Mobile Phone Number", Salesforce's "Phone",
# "Mobile" and "MobilePhone", Google Contacts' "Phone 1 - Value".
PHONE_HEADERS = (
    "phone_number",
    "phone",
    "number",
    "phonenumber",
    "telephone",
    "telephone_number",
    "tel",
    "msisdn",
    "e164",
    "mobile",
    "mobile_number",
    "mobile_phone",
    "mobile_phone_number",
    "mobilephone",
    "cell",
    "cell_phone",
    "cellphone",
    "phone_1_value",
    "primary_phone",
    "work_phone",
    "business_phone",
    "home_phone",
)
_SEPARATORS = re.compile(r"[\s\-_]+")


@dataclass(frozen=True)
class CsvDialect:
    encoding: str  # utf-8-sig, cp1252 or latin-1
    delimiter: str


def csv_dialect(
    stream: IO[bytes], *, refused: type[DomainError], scan_bytes: int | None = None
) -> CsvDialect:
    """The file's encoding and delimiter. The whole file is scanned for its encoding (in chunks), or only
    its first `scan_bytes` (a preview). Refuses an empty or binary file."""
    encoding = _text_encoding(stream, refused=refused, scan_bytes=scan_bytes)
    stream.seek(0)
    text = io.TextIOWrapper(stream, encoding=encoding, newline="", errors="replace")
    try:
        first_line = text.readline()
    finally:
        text.detach()  # the stream is the caller's: leave it open
    delimiter = max(DELIMITERS, key=first_line.count) if first_line else ","
    return CsvDialect(encoding=encoding, delimiter=delimiter)


def _text_encoding(stream: IO[bytes], *, refused: type[DomainError], scan_bytes: int | None) -> str:
    stream.seek(0)
    utf8, cp1252 = codecs.getincrementaldecoder("utf-8")(), codecs.getincrementaldecoder("cp1252")()
    is_utf8 = is_cp1252 = True
    has_text = False
    left = scan_bytes
    while chunk := stream.read(CHUNK_BYTES if left is None else min(CHUNK_BYTES, left)):
        if len(chunk.translate(None, BINARY_BYTES)) != len(chunk):
            raise refused(
                "The file is not text (a spreadsheet, an image or UTF-16?): save it as CSV, in UTF-8 or Latin-1.",
                field="file",
            )
        has_text = has_text or bool(chunk.replace(codecs.BOM_UTF8, b"").strip())
        is_utf8 = is_utf8 and _decodes(utf8, chunk)
        is_cp1252 = is_cp1252 and _decodes(cp1252, chunk)
        if left is not None:
            left -= len(chunk)
            if left <= 0:
                break
    if not has_text:
        raise refused("The file is empty.", field="file", code="empty_file")
    # Only the whole file must end on a whole character: a scan of its start may cut one.
    if is_utf8 and (scan_bytes is not None or _decodes(utf8, b"", final=True)):
        return "utf-8-sig"
    return "cp1252" if is_cp1252 else "latin-1"


def _decodes(decoder: codecs.IncrementalDecoder, chunk: bytes, *, final: bool = False) -> bool:
    try:
        decoder.decode(chunk, final=final)
    except UnicodeDecodeError:
        return False
    return True


def csv_records(
    stream: IO[bytes], dialect: CsvDialect, *, refused: type[DomainError], errors: str = "strict"
) -> Iterator[tuple[int, list[str]]]:
    """(row number, cells) for every record from the start of `stream`, blank ones included so that the
    numbers match a spreadsheet's. A cell over the csv module's field size limit (128 KiB) refuses the file:
    past it the reader could not tell where the next row starts. `errors="replace"` reads a file whose
    encoding was told from its start only (a preview) without failing on a character cut at its end."""
    stream.seek(0)
    text = io.TextIOWrapper(stream, encoding=dialect.encoding, newline="", errors=errors)
    row = 0
    try:
        for row, cells in enumerate(csv.reader(text, delimiter=dialect.delimiter), start=1):
            yield row, cells
    except csv.Error as exc:
        raise refused(_unreadable_record(row + 1, exc), field="file") from None
    except UnicodeDecodeError:  # only when the encoding was told from the start of the file (a preview)
        raise refused(
            f"Row {row + 1} is not {dialect.encoding} text like the rows before it: save the file as CSV UTF-8.",
            field="file",
        ) from None
    finally:
        text.detach()


def _unreadable_record(row: int, exc: csv.Error) -> str:
    if "field larger than field limit" in str(exc):
        return (
            f"Row {row} has a cell longer than {csv.field_size_limit():,} characters (an unclosed quote?): "
            "this is not a CSV we can read."
        )
    return f"The file is not a CSV we can read: row {row}: {exc}."


def is_blank(cells: Sequence[str]) -> bool:
    """A record with nothing but white space: a blank line, or only delimiters. Not a row of data."""
    return not any(cells) or not "".join(cells).strip()


def header_name(cell: str) -> str:
    """A header cell as it is matched: case, spaces, dashes and underscores aside ('Phone Number',
    'phone-number' and 'PHONE_NUMBER' are all 'phone_number')."""
    return _SEPARATORS.sub("_", cell.strip().lower()).strip("_")


def column_named(header: Sequence[str], wanted: str) -> int | None:
    """The index of the column of `header` named `wanted` (exactly, else as `header_name` matches), or None."""
    if wanted in header:
        return list(header).index(wanted)
    names = [header_name(cell) for cell in header]
    key = header_name(wanted)
    return names.index(key) if key and key in names else None


def phone_column_guess(header: Sequence[str], candidates: Sequence[str] = PHONE_HEADERS) -> int | None:
    """The index of the column whose name is the likeliest phone column among `candidates`, or None."""
    names = [header_name(cell) for cell in header]
    return next((names.index(name) for name in candidates if name in names), None)
