"""Inserting many rows of one table from plain tuples: COPY on PostgreSQL, executemany elsewhere.

Justified by `make bench BENCH=campaign_import` (a 100,000-row contact list validated and imported, against
django-import-export). The public ways cost more than validating a row does: `bulk_create` builds a model
instance per row, and on PostgreSQL psycopg 3's `executemany` of an INSERT took 48 µs a row here where
`COPY … FROM STDIN` takes 8. On SQLite, Django's cursor `executemany` of prepared tuples (6 µs a row) is
public API and is what runs.

Private API it leans on (PostgreSQL only): the DB-API cursor that Django's CursorWrapper wraps
(`CursorWrapper.cursor`), for psycopg 3's `Cursor.copy`, and `connection.wrap_database_errors`, so that a
failed COPY raises django.db's IntegrityError / DataError like any query. The COPY runs in the connection's
transaction (an atomic block around it rolls it back). Pinned by tests/core/test_fastpath.py."""

from __future__ import annotations

from collections.abc import Sequence

from django.db import DEFAULT_DB_ALIAS, connections


def rows_insert(
    *, table: str, columns: Sequence[str], rows: Sequence[tuple], using: str = DEFAULT_DB_ALIAS
) -> None:
    """Insert `rows` (tuples in the order of `columns`) into `table`. Values go in as the driver adapts them
    (a JSON column takes its JSON text). No signals, no defaults: give every NOT NULL column."""
    if not rows:
        return
    connection = connections[using]
    quote = connection.ops.quote_name
    names = ", ".join(quote(column) for column in columns)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with (
                connection.wrap_database_errors,
                cursor.cursor.copy(f"COPY {quote(table)} ({names}) FROM STDIN") as copy,
            ):
                for row in rows:
                    copy.write_row(row)
            return
        placeholders = ", ".join(["%s"] * len(columns))
        sql = f"INSERT INTO {quote(table)} ({names}) VALUES ({placeholders})"  # noqa: S608 -- quoted names
        cursor.executemany(sql, rows)
