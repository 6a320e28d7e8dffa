"""Reading a list of numbers pasted into a box or uploaded as CSV: (row, text) pairs, rows as people count them."""

import csv
import io
import re

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
MAX_ROWS = 5000


class UnreadableFile(ValueError):
    pass


def entries_from_text(text: str) -> list[tuple[int, str]]:
    """One number per line; commas or semicolons may separate several on a line (row = line number)."""
    entries = []
    for line_no, line in enumerate(text.splitlines(), start=1):
        for part in re.split(r"[;,\t]", line):
            if part.strip():
                entries.append((line_no, part.strip()))
    if len(entries) > MAX_ROWS:
        raise UnreadableFile(f"At most {MAX_ROWS} numbers at a time; this list has {len(entries)}.")
    return entries


def entries_from_csv(data: bytes) -> list[tuple[int, str]]:
    """The phone column of a CSV (header optional; comma or semicolon). A header row counts as row 1."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise UnreadableFile(
            "The file is not UTF-8 text; export it from your spreadsheet as CSV UTF-8."
        ) from None
    lines = text.splitlines()
    if not lines:
        return []
    delimiter = ";" if lines[0].count(";") > lines[0].count(",") else ","
    try:
        rows = list(csv.reader(io.StringIO(text), delimiter=delimiter))
    except csv.Error as exc:  # e.g. a cell over the csv module's field size limit
        raise UnreadableFile(f"The file is not a CSV we can read ({exc}).") from None
    if len(rows) > MAX_ROWS + 1:
        raise UnreadableFile(f"At most {MAX_ROWS} rows at a time; this file has {len(rows)}.")
    header = [cell.strip().lower() for cell in rows[0]] if rows else []
    column = next((header.index(h) for h in NUMBER_HEADERS if h in header), None)
    start = 1 if column is not None else 0
    if column is None:
        column = 0
        if rows and rows[0] and not any(ch.isdigit() for ch in rows[0][0]):
            start = 1  # a header we do not recognize: the first column holds the numbers
    entries = []
    for index, row in enumerate(rows[start:], start=start + 1):
        value = row[column].strip() if column < len(row) else ""
        if value:
            entries.append((index, value))
    return entries
