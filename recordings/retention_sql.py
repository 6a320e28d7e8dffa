"""The retention sweep's hand-written inserts: a batch's receipts and audit events, one `executemany` each.

Justified by `make bench BENCH=retention` (a sweep at least 10 times the naive loop's objects/s, the
database side included): per batch of 1,000 deletions, building 2,000 model instances and letting
`bulk_create` compile their INSERTs cost the sweep's one database thread about 200 ms, as long as the
store takes to delete the batch, and that thread is what the batches in flight wait on. Without the
benchmark these would be `RecordingDeletionReceipt.objects.bulk_create([...])` and
`AuditEvent.objects.bulk_create([...])` (audit events stay append-only: rows are only ever inserted).

Every concrete column is written, so that a column added to either model later is filled from its default
(a callable default per row, `auto_now_add` with the time) instead of failing here. Leans on documented
backend API: `connection.ops.quote_name`, `connection.ops.adapt_datetimefield_value` (a datetime as the
backend stores it) and `Field.get_db_prep_save` (JSON), run by every sweep test on SQLite and PostgreSQL."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any

from django.db import connection, models

_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"  # as wordcab_admin/kernel/ids.py: `prefix_` + 16 of these


def public_ids(prefix: str, count: int) -> list[str]:
    """`count` ids shaped like kernel.ids.new_public_id's (16 random base-36 characters), one
    `secrets.randbelow` each instead of sixteen `secrets.choice`: 70 µs an id was 70 ms a batch."""
    ids = []
    for _ in range(count):
        number = secrets.randbelow(36**16)
        tail = []
        for _ in range(16):
            number, digit = divmod(number, 36)
            tail.append(_ALPHABET[digit])
        ids.append(f"{prefix}_{''.join(tail)}")
    return ids


def rows_insert(model: type[models.Model], rows: list[dict[str, Any]], *, now) -> None:
    """INSERT `rows` (attname → Python value) into `model`'s table in one executemany."""
    if not rows:
        return
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    columns = [_column(field, rows, now=now) for field in fields]  # column by column: one adapter each
    quote = connection.ops.quote_name
    names = ", ".join(quote(field.column) for field in fields)
    sql = (
        f"INSERT INTO {quote(model._meta.db_table)} ({names})"  # noqa: S608 -- names from the model
        f" VALUES ({', '.join(['%s'] * len(fields))})"
    )
    with connection.cursor() as cursor:
        cursor.executemany(sql, list(zip(*columns, strict=True)))


def _column(field: models.Field, rows: list[dict[str, Any]], *, now) -> list[Any]:
    """One column's values for every row: the rows' own, adapted as the backend stores them, or the
    field's default (a callable default called per row, `auto_now(_add)` the time)."""
    adapt = _adapter(field)
    if field.attname in rows[0]:
        values = [row[field.attname] for row in rows]
        return values if adapt is None else [adapt(value) for value in values]
    if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
        value = now
    elif field.has_default() and callable(field.default):
        values = [field.get_default() for _ in rows]
        return values if adapt is None else [adapt(value) for value in values]
    else:
        value = field.get_default() if field.has_default() or not field.null else None
    return [value if adapt is None else adapt(value)] * len(rows)


def _adapter(field: models.Field) -> Callable[[Any], Any] | None:
    if isinstance(field, models.DateTimeField):
        return connection.ops.adapt_datetimefield_value
    if isinstance(field, models.JSONField):
        return lambda value: field.get_db_prep_save(value, connection)
    return None  # text, numbers and ids go to the driver as they are
