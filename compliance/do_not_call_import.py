"""Importing numbers onto the do-not-call list from a CSV, with a report of every row it rejected.

The file is read as a stream (Django keeps a large upload in a temporary file), twice: once, in chunks, to
tell its encoding (UTF-8 with or without BOM, else Windows-1252/Latin-1, which is what spreadsheets save
as "CSV" outside UTF-8) and to refuse an empty or binary file before anything is written; then row by row,
in batches, inside one transaction, so that a file refused half-way (too many rows, a broken cell) adds
nothing. Rows are numbered as a spreadsheet shows them: the header is row 1.

The file is read by the kernel's CSV reader (wordcab_admin/kernel/csv_files.py), which campaign imports
share. The phone column is the one named `phone_column`, else the first named like phone, number,
phone_number or mobile (the reader's PHONE_HEADERS), else, in a file without a header, the first column; an
optional reason column is named reason, note or comment. Comma, semicolon and tab are understood."""

from __future__ import annotations

import itertools
import logging
import re
import secrets
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.cache import cache
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, models, transaction
from django.template.defaultfilters import filesizeformat
from redis.exceptions import RedisError

from agents.phone import InvalidPhoneNumber, normalize_e164
from compliance.do_not_call import AUDIT_OBJECT_TYPE, MAX_REASON_LENGTH, do_not_call_audit_view
from compliance.models import DoNotCall, DoNotCallSource
from wordcab_admin.kernel.audit import audit_record
from wordcab_admin.kernel.csv_files import (
    column_named,
    csv_dialect,
    csv_records,
    header_name,
    is_blank,
    phone_column_guess,
)
from wordcab_admin.kernel.errors import Conflict, DomainError

log = logging.getLogger(__name__)

MAX_ROWS = 10_000  # each added number writes its own audit event: a larger list goes in several files
BATCH_ROWS = 500  # rows checked against the list and inserted together
REASON_HEADERS = ("reason", "reasons", "note", "notes", "comment", "comments")
REPORT_SECONDS = 24 * 60 * 60  # how long the rejected rows stay downloadable
REJECTED_CSV_HEADER = ["row", "number", "reason", "error", "message"]

Actor = AbstractBaseUser | AnonymousUser | None


class ImportRefused(DomainError):
    """The file as a whole cannot be imported; nothing was added."""

    status, code = 400, "unreadable_file"


class ImportTooLarge(ImportRefused):
    status, code = 413, "file_too_large"


class RowCode(models.TextChoices):
    INVALID_NUMBER = "invalid_number"
    DUPLICATE = "duplicate"
    ALREADY_LISTED = "already_listed"
    REASON_TOO_LONG = "reason_too_long"


@dataclass(frozen=True)
class RowError:
    row: int
    field: str
    code: str
    message: str
    number: str  # as the file had it
    reason: str = ""


@dataclass
class ImportReport:
    file_name: str = ""
    rows: int = 0  # data rows read (blank lines are not rows)
    accepted: int = 0
    errors: list[RowError] = field(default_factory=list)

    @property
    def rejected(self) -> int:
        return len(self.errors)

    def as_dict(self) -> dict:
        """The API's answer: `errors` in row order, one per rejected row."""
        return {
            "rows": self.rows,
            "accepted": self.accepted,
            "rejected": self.rejected,
            "errors": [
                {"row": e.row, "field": e.field, "code": e.code, "message": e.message, "number": e.number}
                for e in self.errors
            ],
        }

    def rejected_rows(self) -> Iterator[list]:
        """The rejected rows as a CSV to fix and upload again (its `number` and `reason` columns are read
        back as such)."""
        for e in self.errors:
            yield [e.row, e.number, e.reason, e.code, e.message]


@dataclass(frozen=True)
class _Candidate:
    row: int
    number: str
    e164: str
    reason: str


# Reading --------------------------------------------------------------------------------------------------


def _looks_like_a_number(cell: str) -> bool:
    return sum(ch.isdigit() for ch in cell) >= 5


def _columns(first: list[str], phone_column: str) -> tuple[int, int | None, bool]:
    """(phone column, reason column or None, whether the first row is a header)."""
    if phone_column:
        phone = column_named(first, phone_column)
        if phone is None:
            raise ImportRefused(
                f"No column named {phone_column!r}; the header is: {', '.join(first)[:200]}.",
                field="phone_column",
                code="no_phone_column",
            )
    else:
        phone = phone_column_guess(first)
    names = [header_name(cell) for cell in first]
    reason = next((names.index(h) for h in REASON_HEADERS if h in names), None)
    if phone is not None:
        return phone, reason, True
    if first and _looks_like_a_number(first[0]):
        return 0, None, False  # no header: the first column holds the numbers
    raise ImportRefused(
        "No phone column: name it phone, number, phone_number or mobile (or give phone_column).",
        field="file",
        code="no_phone_column",
    )


# Importing ------------------------------------------------------------------------------------------------


def do_not_call_import(*, actor: Actor, upload: UploadedFile, phone_column: str = "") -> ImportReport:
    """Add every valid row of `upload` to the list in one transaction and report each rejected row
    (invalid number, duplicate within the file, already listed, reason too long). A file that cannot be
    read as a whole (empty, binary, no phone column, too large, too many rows) adds nothing."""
    max_bytes = settings.BULK_CSV_MAX_BYTES
    if upload.size is None or upload.size > max_bytes:
        size = "of unknown size" if upload.size is None else filesizeformat(upload.size)
        raise ImportTooLarge(
            f"The file is {size}; it may be at most {filesizeformat(max_bytes)}.", field="file"
        )
    dialect = csv_dialect(upload.file, refused=ImportRefused)
    report = ImportReport(file_name=(upload.name or "upload.csv")[:200])
    try:
        with transaction.atomic():
            _import_rows(
                csv_records(upload.file, dialect, refused=ImportRefused),
                actor=actor,
                phone_column=phone_column,
                report=report,
            )
            audit_record(
                actor=actor,
                action="do_not_call.imported",
                object_type="do_not_call_import",
                object_id=report.file_name[:64],
                after={
                    "file": report.file_name,
                    "rows": report.rows,
                    "accepted": report.accepted,
                    "rejected": report.rejected,
                },
            )
    except IntegrityError:  # a number listed by someone else between our check and our insert
        raise Conflict(
            "The list changed while the file was imported; nothing was added. Import it again."
        ) from None
    report.errors.sort(key=lambda e: e.row)
    return report


def _import_rows(
    records: Iterator[tuple[int, list[str]]], *, actor: Actor, phone_column: str, report: ImportReport
) -> None:
    first = next(records, None)
    if first is None:
        raise ImportRefused("The file is empty.", field="file", code="empty_file")
    phone, reason, has_header = _columns(first[1], phone_column)
    first_rows = [] if has_header else [first]
    seen: dict[str, int] = {}  # E.164 → the row that had it first
    batch: list[_Candidate] = []
    for row, cells in itertools.chain(first_rows, records):
        if row > MAX_ROWS + has_header:
            raise ImportRefused(
                f"At most {MAX_ROWS} rows at a time; this file has more.", field="file", code="too_many_rows"
            )
        if is_blank(cells):
            continue
        report.rows += 1
        candidate = _row_checked(row, cells, phone=phone, reason=reason, seen=seen, report=report)
        if candidate is not None:
            batch.append(candidate)
        if len(batch) >= BATCH_ROWS:
            _add_batch(batch, actor=actor, report=report)
            batch = []
    if batch:
        _add_batch(batch, actor=actor, report=report)
    if report.rows == 0:
        raise ImportRefused("The file has a header but no rows.", field="file", code="empty_file")


def _row_checked(
    row: int, cells: list[str], *, phone: int, reason: int | None, seen: dict[str, int], report: ImportReport
) -> _Candidate | None:
    """The row as a number to add, or None with its error in the report."""
    number = cells[phone].strip() if phone < len(cells) else ""
    why = " ".join(cells[reason].split()) if reason is not None and reason < len(cells) else ""

    def reject(field_name: str, code: RowCode, message: str) -> None:
        report.errors.append(RowError(row, field_name, code, message, number, why))

    try:
        e164 = normalize_e164(number)
    except InvalidPhoneNumber as exc:
        reject("number", RowCode.INVALID_NUMBER, str(exc))
        return None
    if len(why) > MAX_REASON_LENGTH:
        reject("reason", RowCode.REASON_TOO_LONG, f"Keep the reason under {MAX_REASON_LENGTH} characters.")
        return None
    if e164 in seen:
        reject("number", RowCode.DUPLICATE, f"{e164} is also on row {seen[e164]}.")
        return None
    seen[e164] = row
    return _Candidate(row=row, number=number, e164=e164, reason=why)


def _add_batch(batch: list[_Candidate], *, actor: Actor, report: ImportReport) -> None:
    listed = dict(
        DoNotCall.objects.filter(number__in=[c.e164 for c in batch]).values_list("number", "created_at")
    )
    user = actor if actor is not None and actor.is_authenticated else None
    new = []
    for c in batch:
        if c.e164 in listed:
            since = f"{listed[c.e164]:%Y-%m-%d}"
            report.errors.append(
                RowError(
                    c.row,
                    "number",
                    RowCode.ALREADY_LISTED,
                    f"{c.e164} is already on the list (since {since}).",
                    c.number,
                    c.reason,
                )
            )
        else:
            new.append(DoNotCall(number=c.e164, reason=c.reason, source=DoNotCallSource.CSV, added_by=user))
    DoNotCall.objects.bulk_create(new)
    for entry in new:
        audit_record(
            actor=actor,
            action="do_not_call.added",
            object_type=AUDIT_OBJECT_TYPE,
            object_id=entry.number,
            after=do_not_call_audit_view(entry),
        )
    report.accepted += len(new)


# The report, kept for its download ------------------------------------------------------------------------

_TOKEN = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


def _report_key(token: str) -> str:
    return f"do_not_call:import_report:{token}"


def import_report_keep(report: ImportReport) -> str | None:
    """Keep the report for a day in the cache (Redis) so that its rejected rows can be downloaded; the token
    to ask for it, or None if the cache is unreachable (the import itself stands)."""
    token = secrets.token_urlsafe(18)
    try:
        cache.set(_report_key(token), asdict(report), REPORT_SECONDS)
    except (RedisError, OSError):
        log.warning("do-not-call import report not kept: the cache is unreachable", exc_info=True)
        return None
    return token


def import_report_find(token: str) -> ImportReport | None:
    if not _TOKEN.match(token):
        return None
    try:
        stored = cache.get(_report_key(token))
    except (RedisError, OSError):
        log.warning("do-not-call import report not read: the cache is unreachable", exc_info=True)
        return None
    if stored is None:
        return None
    errors = [RowError(**e) for e in stored.pop("errors")]
    return ImportReport(**stored, errors=errors)
