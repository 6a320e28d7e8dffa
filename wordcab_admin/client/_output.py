"""How the command line prints: objects as an aligned table for people, JSON or CSV for other programs;
progress bars on standard error."""

from __future__ import annotations

import csv
import io
import json
import sys
from collections.abc import Callable, Sequence
from typing import Any

import click

from wordcab_admin.client.models import APIObject

FORMATS = ("table", "json", "csv")
CELL_WIDTH = 48  # longer cells are cut in a table (JSON and CSV keep them whole)

Column = tuple[str, Callable[[dict[str, Any]], Any]]  # (header, value of a raw object)


def field(name: str) -> Column:
    return name, lambda raw: raw.get(name)


def error_code(raw: dict[str, Any]) -> str | None:
    error = raw.get("error")
    return error.get("code") if isinstance(error, dict) else None


CALL_COLUMNS: list[Column] = [
    field("id"), field("created_at"), field("direction"), field("agent_id"), field("phone_number"),
    field("status"), field("end_reason"), ("error", error_code), field("duration"), field("campaign_id"),
    field("recording_url"),
]  # fmt: skip
CAMPAIGN_COLUMNS: list[Column] = [
    field("id"), field("name"), field("agent_id"), field("status"), field("created_at"),
    *[(state, lambda raw, s=state: (raw.get("counts") or {}).get(s))
      for state in ("total", "pending", "calling", "completed", "failed", "no_answer", "skipped")],
]  # fmt: skip


def cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return str(value)


def render_rows(items: Sequence[APIObject], columns: list[Column], output: str) -> str:
    raws = [item.raw for item in items]
    if output == "json":
        return json.dumps(raws, indent=2, ensure_ascii=False)
    headers = [header for header, _ in columns]
    rows = [[cell(value(raw)) for _, value in columns] for raw in raws]
    if output == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(headers)
        writer.writerows(rows)
        return buffer.getvalue().rstrip("\n")
    return table(headers, rows)


def table(headers: list[str], rows: list[list[str]]) -> str:
    rows = [[_cut(text) for text in row] for row in rows]
    widths = [max([len(h), *(len(row[i]) for row in rows)]) for i, h in enumerate(headers)]
    lines = ["  ".join(h.upper().ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    lines += ["  ".join(t.ljust(w) for t, w in zip(row, widths, strict=True)).rstrip() for row in rows]
    return "\n".join(lines)


def render_object(item: APIObject, output: str) -> str:
    """One object: every field on a line of its own (table), or its JSON."""
    if output == "json":
        return json.dumps(item.raw, indent=2, ensure_ascii=False)
    width = max((len(name) for name in item.raw), default=0)
    return "\n".join(f"{name.ljust(width)}  {_cut(cell(value), 100)}" for name, value in item.raw.items())


def _cut(text: str, width: int = CELL_WIDTH) -> str:
    text = text.replace("\n", " ")
    return text if len(text) <= width else text[: width - 1] + "…"


class Progress:
    """A click progress bar on standard error, made once the total is known (hidden when not a terminal)."""

    def __init__(self, label: str, *, unit_bytes: bool = False):
        self.label, self.unit_bytes = label, unit_bytes
        self._bar: Any = None
        self._done = 0

    def update(self, done: int, total: int | None) -> None:
        if not total:  # nothing to measure against (an empty campaign, a size the server did not say)
            return
        if self._bar is None:
            self._bar = click.progressbar(
                length=total, label=self.label, file=sys.stderr, show_pos=not self.unit_bytes,
                show_percent=True,
            )  # fmt: skip
            self._bar.__enter__()
        if self._bar.length != total:
            self._bar.length = total
        self._bar.update(done - self._done)
        self._done = done

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.__exit__(*exc)
