"""Reading a list of numbers pasted into a box or uploaded as CSV: (row, text, name) entries, rows as people
count them; a CSV's name column (`name`, `friendly_name`, `label`) names the numbers."""

import csv
import io
import itertools
import re
from typing import IO, NamedTuple

from django.core.files.uploadedfile import UploadedFile
from django.template.defaultfilters import filesizeformat

NUMBER_HEADERS = (
    "phone_number",
    "phone",
    "number",
    "phonenumber",
    "phone number",
    "telephone",
    "msisdn",
    "e164",
)
NAME_HEADERS = ("friendly_name", "friendly name", "name", "label")
MAX_ROWS = 5000


class Entry(NamedTuple):
    row: int  # as a spreadsheet numbers it (a header is row 1), or the pasted line
    raw: str  # the number as given
    name: str = ""  # its name, from the file's name column


class UnreadableFile(ValueError):
    """The uploaded list is not a CSV we can read (its message says why)."""


class FileTooLarge(UnreadableFile):
    """The file is over BULK_CSV_MAX_BYTES: refused before any of it is read."""


def entries_from_text(text: str) -> list[Entry]:
    """One number per line; commas or semicolons may separate several on a line (row = line number)."""
    entries = []
    for line_no, line in enumerate(text.splitlines(), start=1):
        for part in re.split(r"[;,\t]", line):
            if part.strip():
                entries.append(Entry(line_no, part.strip()))
                if len(entries) > MAX_ROWS:
                    raise UnreadableFile(f"At most {MAX_ROWS} numbers at a time; this list has more.")
    return entries


def entries_from_upload(upload: UploadedFile, *, max_bytes: int) -> list[Entry]:
    """The phone column of an uploaded CSV, refused by its size before a byte of it is read, then read as a
    stream: memory stays flat whatever the file (Django keeps one over FILE_UPLOAD_MAX_MEMORY_SIZE on disk)."""
    if upload.size is None or upload.size > max_bytes:
        size = "of unknown size" if upload.size is None else filesizeformat(upload.size)
        raise FileTooLarge(
            f"The file is {size}; a CSV of numbers may be at most {filesizeformat(max_bytes)}"
            f" (at most {MAX_ROWS} rows)."
        )
    upload.file.seek(0)
    return entries_from_stream(upload.file)


def entries_from_csv(data: bytes) -> list[Entry]:
    """entries_from_stream of CSV already in memory."""
    return entries_from_stream(io.BytesIO(data))


def entries_from_stream(stream: IO[bytes]) -> list[Entry]:
    """The phone column of a CSV (header optional; comma or semicolon). A header row counts as row 1.

    Read row by row and given up at the first row past MAX_ROWS: a file of a million rows costs no more
    than one of MAX_ROWS. The stream is left open (it is the upload's)."""
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", newline="")
    try:
        return _entries(text)
    except UnicodeDecodeError:
        raise UnreadableFile(
            "The file is not UTF-8 text; export it from your spreadsheet as CSV UTF-8."
        ) from None
    except csv.Error as exc:  # e.g. a cell over the csv module's field size limit
        raise UnreadableFile(f"The file is not a CSV we can read ({exc}).") from None
    finally:
        text.detach()


def _entries(text: io.TextIOWrapper) -> list[Entry]:
    first_line = text.readline()
    if not first_line:
        return []
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    rows = enumerate(csv.reader(itertools.chain([first_line], text), delimiter=delimiter), start=1)
    _, first = next(rows)
    header = [cell.strip().lower() for cell in first]
    column = next((header.index(h) for h in NUMBER_HEADERS if h in header), None)
    start = 1 if column is not None else 0
    if column is None:
        column = 0
        if first and not any(ch.isdigit() for ch in first[0]):
            start = 1  # a header we do not recognize: the first column holds the numbers
    names = next((header.index(h) for h in NAME_HEADERS if h in header), None) if start else None
    if names == column:  # a lone "name" header over the numbers: they have no names
        names = None
    entries = []
    for index, row in itertools.chain([] if start else [(1, first)], rows):
        if index > MAX_ROWS + 1:  # a header and MAX_ROWS numbers at most; nothing past this is read
            raise UnreadableFile(f"At most {MAX_ROWS} rows at a time; this file has more.")
        value = row[column].strip() if column < len(row) else ""
        if value:
            name = row[names].strip() if names is not None and names < len(row) else ""
            entries.append(Entry(index, value, name))
    return entries
