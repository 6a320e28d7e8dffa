"""Importing a campaign's contacts from a CSV, streamed: one contact per data row, the rows refused too (as
`skipped`, with why), up to settings.CAMPAIGN_MAX_ROWS.

The file is read with the kernel's reader (wordcab_admin/kernel/csv_files.py: UTF-8 with or without BOM,
Windows-1252 or Latin-1; comma, semicolon or tab; quoted cells with line breaks; rows numbered as a
spreadsheet numbers them, the header being row 1, blank lines kept in the numbering but not rows). The
phone column is `phone_column` or the guess; every other column goes into the contact's `context` by its
header (made unique: an empty header is `column_<n>`, a repeated one gets `_2`, `_3`…), a cell past the
header's width as `column_<n>`, a cell a short row lacks is absent.

Each row is checked as agents.phone.normalize_e164 checks a number (campaigns/number_checks.py, in a helper
process for a large file), then against the do-not-call list (a query per batch) and the countries a
campaign may call (settings.CAMPAIGN_ALLOWED_COUNTRIES, else those with a jurisdiction). Duplicates within
the file are found once every row is in, by the database (memory stays flat whatever the file's size): a
row whose valid number an earlier row had is skipped as `duplicate`, naming that row, whatever else was
wrong with it. The report's errors are then read back, the first ERRORS_SHOWN in row order.

Rows go in by batches of plain tuples (wordcab_admin/kernel/fastpath/bulk_insert.py), inside a transaction
(a savepoint in campaign_create's): a file refused half-way (too many rows, an unreadable record) leaves
nothing. `make bench BENCH=campaign_import` measures all this against django-import-export."""

from __future__ import annotations

import json
import operator
import os
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from itertools import islice
from json.encoder import encode_basestring
from typing import IO

from django.conf import settings
from django.db import connection, transaction

from agents.phone import InvalidPhoneNumber
from campaigns.models import Campaign, Contact, ContactStatus, SkipReason
from campaigns.number_checks import MAX_LENGTH, NumberChecks, PendingVerdicts, Verdict
from compliance.models import DoNotCall, Jurisdiction
from wordcab_admin.kernel.csv_files import (
    column_named,
    csv_dialect,
    csv_records,
    is_blank,
    phone_column_guess,
)
from wordcab_admin.kernel.errors import DomainError
from wordcab_admin.kernel.fastpath.bulk_insert import rows_insert

ERRORS_SHOWN = 1000
BATCH_ROWS = 2000  # rows checked, looked up on the do-not-call list and inserted together
PROGRESS_ROWS = 5000
# A smaller file is checked in this process: starting the helper (an interpreter and phonenumbers) costs
# about 0.1 s, what checking some 5,000 numbers costs.
HELPER_MIN_BYTES = 512 * 1024
PENDING_BATCHES = 8  # batches read ahead of the oldest one still being checked (the helper holds up to 4)
PREVIEW_BYTES = 256 * 1024
RAW_NUMBER_LENGTH = 64  # Contact.raw_number
MESSAGE_LENGTH = 300  # Contact.message
INSERT_COLUMNS = (
    "campaign_id",
    "row",
    "phone_number",
    "raw_number",
    "context",
    "status",
    "skip_reason",
    "message",
    "attempts",
)
SKIPPED = ContactStatus.SKIPPED.value
ACCEPTED = (ContactStatus.PENDING.value, "", "")  # (status, skip reason, message)
_json = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), check_circular=False).encode


class ImportRefused(DomainError):
    """The file as a whole cannot be imported; nothing was created."""

    status, code = 400, "unreadable_file"


class ImportTooLarge(ImportRefused):
    status, code = 413, "file_too_large"


@dataclass(frozen=True)
class RowError:
    row: int
    field: str
    code: str
    message: str


@dataclass
class ImportReport:
    columns: list[str] = field(default_factory=list)
    phone_column: str = ""
    rows: int = 0
    accepted: int = 0
    rejected: int = 0
    errors: list[RowError] = field(default_factory=list)  # the first ERRORS_SHOWN, in row order

    def counts(self) -> dict[str, int]:
        return {"rows": self.rows, "accepted": self.accepted, "rejected": self.rejected}


@dataclass(frozen=True)
class CsvPreview:
    columns: list[str]
    sample: list[list[str]]
    phone_column: str  # the guess, "" if none
    encoding: str
    delimiter: str


@dataclass(frozen=True)
class _Layout:
    columns: list[str]  # the header, each name unique and non-empty
    phone: int  # the phone column's index

    @property
    def phone_column(self) -> str:
        return self.columns[self.phone]


@dataclass
class _Batch:
    rows: list[int] = field(default_factory=list)
    numbers: list[str] = field(default_factory=list)  # the phone cells, as the file has them
    contexts: list[str] = field(default_factory=list)  # JSON


# The header -----------------------------------------------------------------------------------------------


def column_names(header: list[str]) -> list[str]:
    """The header's names as the contacts' context keys: stripped, an empty one `column_<n>` (n counting
    from 1), a repeated one suffixed `_2`, `_3`… so that no two columns share a key."""
    names: list[str] = []
    taken: set[str] = set()
    for position, cell in enumerate(header, start=1):
        base = cell.strip() or f"column_{position}"
        name, copy = base, 1
        while name in taken:
            copy += 1
            name = f"{base}_{copy}"
        names.append(name)
        taken.add(name)
    return names


def _layout(header: list[str], phone_column: str) -> _Layout:
    columns = column_names(header)
    shown = ", ".join(columns)[:200]
    if phone_column:
        phone = column_named(columns, phone_column.strip())
        if phone is None:
            raise ImportRefused(
                f"No column named {phone_column!r}; the header is: {shown}.",
                field="phone_column",
                code="no_phone_column",
            )
        return _Layout(columns, phone)
    phone = phone_column_guess(columns)
    if phone is None:
        raise ImportRefused(
            "No phone column found: name it phone, phone_number, mobile or number, or pick it (phone_column). "
            f"The header is: {shown}.",
            field="phone_column",
            code="no_phone_column",
        )
    return _Layout(columns, phone)


def _header(records: Iterator[tuple[int, list[str]]]) -> list[str]:
    """The first record that is not blank (normally row 1)."""
    for _row, cells in records:
        if not is_blank(cells):
            return cells
    raise ImportRefused("The file is empty.", field="file", code="empty_file")


# The preview ----------------------------------------------------------------------------------------------


def csv_preview(stream: IO[bytes], *, rows: int = 5) -> CsvPreview:
    """The header, the first `rows` data rows and the guessed phone column, for the column picker; reads
    only the start of the file (PREVIEW_BYTES to tell its encoding, then what the rows need)."""
    dialect = csv_dialect(stream, refused=ImportRefused, scan_bytes=PREVIEW_BYTES)
    records = csv_records(stream, dialect, refused=ImportRefused, errors="replace")
    try:
        header = _header(records)
        sample = list(islice((cells for _row, cells in records if not is_blank(cells)), rows))
    finally:
        records.close()
        stream.seek(0)
    columns = column_names(header)
    guess = phone_column_guess(columns)
    return CsvPreview(
        columns=columns,
        sample=sample,
        phone_column="" if guess is None else columns[guess],
        encoding=dialect.encoding,
        delimiter=dialect.delimiter,
    )


# The import -----------------------------------------------------------------------------------------------


def contacts_import(
    *,
    campaign: Campaign,
    stream: IO[bytes],
    phone_column: str = "",
    progress: Callable[[int], None] | None = None,
) -> ImportReport:
    """One contact of `campaign` per data row of `stream` (accepted: pending, with its E.164 number;
    refused: skipped, with its reason and message), and the report. A file refused as a whole raises
    ImportRefused (400) and leaves no contact. `progress(rows_read)` is called every PROGRESS_ROWS rows."""
    dialect = csv_dialect(stream, refused=ImportRefused)
    helper = stream.seek(0, os.SEEK_END) >= HELPER_MIN_BYTES
    records = csv_records(stream, dialect, refused=ImportRefused)
    try:
        with transaction.atomic():
            layout = _layout(_header(records), phone_column)
            importer = _Import(campaign=campaign, layout=layout, progress=progress)
            rows = importer.contacts_insert(records, helper=helper)
            return importer.report(rows)
    finally:
        records.close()


class _Import:
    def __init__(
        self, *, campaign: Campaign, layout: _Layout, progress: Callable[[int], None] | None
    ) -> None:
        self.campaign_id, self.layout, self.progress = campaign.pk, layout, progress
        self.region = settings.DEFAULT_PHONE_REGION
        self.allowed = allowed_countries()
        self.max_rows = settings.CAMPAIGN_MAX_ROWS
        self.rows = 0  # data rows read so far

    def contacts_insert(self, records: Iterator[tuple[int, list[str]]], *, helper: bool) -> int:
        """Every data row inserted as a contact, in file order, its number checked meanwhile (in the helper
        process while it keeps up): how many rows."""
        pending: deque[tuple[_Batch, PendingVerdicts]] = deque()
        with NumberChecks(self.region, helper=helper) as checks:
            for batch in self._batches(records):
                pending.append((batch, checks.submit(batch.numbers)))
                # Insert what is checked, oldest first; wait for the oldest only when far enough ahead.
                while pending and (pending[0][1].done() or len(pending) > PENDING_BATCHES):
                    done, verdicts = pending.popleft()
                    self._batch_insert(done, verdicts.verdicts())
            while pending:
                done, verdicts = pending.popleft()
                self._batch_insert(done, verdicts.verdicts())
        if self.rows == 0:
            raise ImportRefused("The file has a header but no rows.", field="file", code="empty_file")
        return self.rows

    def report(self, rows: int) -> ImportReport:
        """Duplicates skipped, then the counts and the first errors as the database has them."""
        _duplicates_skip(self.campaign_id)
        contacts = Contact.objects.filter(campaign_id=self.campaign_id)
        accepted = contacts.filter(status=ContactStatus.PENDING).count()
        skipped = contacts.filter(status=ContactStatus.SKIPPED).order_by("row")
        field_name = self.layout.phone_column
        errors = [
            RowError(row=row, field=field_name, code=reason, message=message)
            for row, reason, message in skipped.values_list("row", "skip_reason", "message")[:ERRORS_SHOWN]
        ]
        return ImportReport(
            columns=self.layout.columns,
            phone_column=field_name,
            rows=rows,
            accepted=accepted,
            rejected=rows - accepted,
            errors=errors,
        )

    def _batches(self, records: Iterator[tuple[int, list[str]]]) -> Iterator[_Batch]:
        """The data rows, BATCH_ROWS at a time: each one's row number, phone cell and context (JSON)."""
        keys, phone, width = self.layout.columns, self.layout.phone, len(self.layout.columns)
        phone_key, max_rows, progress = keys[phone], self.max_rows, self.progress
        full_row_context = _context_encoder(keys, phone)
        batch = _Batch()
        for row, cells in records:
            number = cells[phone] if phone < len(cells) else ""
            if not number.strip() and is_blank(cells):
                continue
            self.rows += 1
            if self.rows > max_rows:
                raise ImportRefused(
                    f"The file has more than {max_rows:,} rows, the most a campaign takes: split it in several.",
                    field="file",
                    code="too_many_rows",
                )
            if len(cells) == width:
                context = full_row_context(cells)
            else:  # ragged: a short row's missing cells are absent, a long row's extra ones numbered
                cells_by_key = dict(zip(keys, cells, strict=False))
                cells_by_key.update(_extra_cells(cells, keys))
                cells_by_key.pop(phone_key, None)
                context = _json(cells_by_key)
            batch.rows.append(row)
            batch.numbers.append(number)
            batch.contexts.append(context)
            if len(batch.rows) >= BATCH_ROWS:
                yield batch
                batch = _Batch()
            if progress is not None and self.rows % PROGRESS_ROWS == 0:
                progress(self.rows)
        if batch.rows:
            yield batch

    def _batch_insert(self, batch: _Batch, verdicts: list[Verdict]) -> None:
        listed = _listed([e164 for e164, _detail in verdicts if e164])
        campaign_id, decide = self.campaign_id, self._decision
        rows = [
            (
                campaign_id,
                row,
                e164,
                number[:RAW_NUMBER_LENGTH],
                context,
                *decide(number, e164, detail, listed),
                0,
            )
            for row, number, context, (e164, detail) in zip(
                batch.rows, batch.numbers, batch.contexts, verdicts, strict=True
            )
        ]
        rows_insert(table=Contact._meta.db_table, columns=INSERT_COLUMNS, rows=rows)

    def _decision(self, number: str, e164: str, detail: str, listed: set[str]) -> tuple[str, str, str]:
        """(status, skip reason, message) of a row whose number's verdict is (e164, detail)."""
        if not e164:
            return SKIPPED, SkipReason.INVALID_NUMBER, _invalid(number, detail, self.layout.phone_column)
        if e164 in listed:
            return SKIPPED, SkipReason.DO_NOT_CALL, f"{e164} is on the do-not-call list."
        if self.allowed is not None and detail not in self.allowed:
            return SKIPPED, SkipReason.COUNTRY_NOT_ALLOWED, _not_allowed(e164, detail, self.allowed)
        return ACCEPTED


def _listed(numbers: list[str]) -> set[str]:
    """Those of `numbers` on the do-not-call list, in one query (plain SQL: the ORM's `__in` costs more per
    number than the lookup does)."""
    if not numbers:
        return set()
    quote = connection.ops.quote_name
    table, column = quote(DoNotCall._meta.db_table), quote("number")
    placeholders = ", ".join(["%s"] * len(numbers))
    with connection.cursor() as cursor:
        sql = f"SELECT {column} FROM {table} WHERE {column} IN ({placeholders})"  # noqa: S608 -- our own names
        cursor.execute(sql, numbers)
        return {number for (number,) in cursor.fetchall()}


def _context_encoder(keys: list[str], phone: int) -> Callable[[list[str]], str]:
    """The context JSON of a row as wide as the header, every column but the phone's, as `_json` writes it
    (json.encoder.encode_basestring is what JSONEncoder(ensure_ascii=False) quotes strings with), filled
    into a template made once: half the cost of a dict and its encoding, on every row."""
    others = [index for index in range(len(keys)) if index != phone]
    if not others:
        return lambda cells: "{}"
    template = ",".join(_json(keys[index]).replace("{", "{{").replace("}", "}}") + ":{}" for index in others)
    fill = ("{{" + template + "}}").format
    pick = operator.itemgetter(*others) if len(others) > 1 else lambda cells: (cells[others[0]],)
    return lambda cells: fill(*map(encode_basestring, pick(cells)))


def _extra_cells(cells: list[str], keys: list[str]) -> dict[str, str]:
    """The cells past the header's width, as `column_<n>` (n counting from 1), unless a header is so named."""
    extra = {}
    for position in range(len(keys) + 1, len(cells) + 1):
        name = f"column_{position}"
        while name in keys or name in extra:
            name += "_extra"
        extra[name] = cells[position - 1]
    return extra


def _invalid(number: str, why: str, phone_column: str) -> str:
    text = number.strip()
    if not text:
        return f"No phone number in column {phone_column!r}."
    shown = text[:MAX_LENGTH] + "…" if len(text) > MAX_LENGTH else text
    return str(InvalidPhoneNumber(shown, why))[:MESSAGE_LENGTH]


def _not_allowed(e164: str, region: str, allowed: frozenset[str]) -> str:
    where = f"is in {region}" if region and region.isalpha() else "belongs to no country"
    may = ", ".join(sorted(allowed)) or "none"
    return f"{e164} {where}; campaigns may call {may}."[:MESSAGE_LENGTH]


def allowed_countries() -> frozenset[str] | None:
    """settings.CAMPAIGN_ALLOWED_COUNTRIES, else every country that has a jurisdiction row; None (any
    country) when there is no jurisdiction row at all: a deployment that removed every row keeps no
    per-country rules, and refusing every row of every file would help nobody."""
    if settings.CAMPAIGN_ALLOWED_COUNTRIES:
        return frozenset(settings.CAMPAIGN_ALLOWED_COUNTRIES)
    return frozenset(Jurisdiction.objects.values_list("country", flat=True).distinct()) or None


def _duplicates_skip(campaign_id: int) -> int:
    """Skip, as `duplicate` naming the first, every contact of the campaign whose valid number an earlier
    row has: one statement, the database sorting the numbers (UPDATE … FROM: SQLite 3.33, PostgreSQL)."""
    quote = connection.ops.quote_name
    table, row = quote(Contact._meta.db_table), quote("row")
    sql = (
        f"UPDATE {table} SET status = %s, skip_reason = %s,"  # noqa: S608 -- our own table and column names
        f" message = {table}.phone_number || ' is also on row ' || CAST(firsts.first_row AS TEXT) || '.'"
        f" FROM (SELECT id, {row}, MIN({row}) OVER (PARTITION BY phone_number) AS first_row"
        f" FROM {table} WHERE campaign_id = %s AND phone_number <> '') AS firsts"
        f" WHERE {table}.id = firsts.id AND firsts.{row} > firsts.first_row"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [ContactStatus.SKIPPED.value, SkipReason.DUPLICATE.value, campaign_id])
        return cursor.rowcount
