"""The analytics page (`/analytics/`) and its CSV: every signed-in role may read them."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import render
from django.views.decorators.http import require_GET

from analytics import charts
from analytics.selectors import (
    CUSTOM,
    GROUP_BYS,
    MAX_PERIOD_DAYS,
    PRESETS,
    Report,
    call_analytics,
    days_period,
    preset_days,
)
from wordcab_admin.kernel.fastpath.asgi_streaming import csv_response
from wordcab_admin.kernel.roles import Capability, require

GROUP_LABELS = {"agent": "Agent", "campaign": "Campaign", "number": "Number", "day": "Day"}
CSV_HEADER = [
    "group",
    "label",
    "calls",
    "connected",
    "connect_rate",
    "minutes",
    "average_handle_seconds",
    "outcomes",
]


@dataclass(frozen=True)
class PageQuery:
    period: str  # a key of PRESETS or "custom"
    first: date
    last: date
    group_by: str
    error: str  # what was wrong with the request ("" if nothing): a bad request shows the last 7 days

    @property
    def query(self) -> str:
        params = QueryDict(mutable=True)
        params.update({"period": self.period, "group_by": self.group_by})
        if self.period == CUSTOM:
            params.update({"from": self.first.isoformat(), "to": self.last.isoformat()})
        return params.urlencode()


def page_query(query: QueryDict) -> PageQuery:
    group_by = query.get("group_by", "day")
    error = "" if group_by in GROUP_BYS else f"Group by one of: {', '.join(GROUP_BYS)}."
    group_by = group_by if not error else "day"
    period = query.get("period", "7d")
    if period == CUSTOM:
        try:
            first = date.fromisoformat(query.get("from", ""))
            last = date.fromisoformat(query.get("to", "") or query.get("from", ""))
        except ValueError:
            return PageQuery(
                "7d", *preset_days("7d"), group_by, "Enter the period's first and last day as dates."
            )
        first, last = min(first, last), max(first, last)
        if (last - first).days >= MAX_PERIOD_DAYS:
            return PageQuery("7d", *preset_days("7d"), group_by, f"Choose at most {MAX_PERIOD_DAYS} days.")
        return PageQuery(CUSTOM, first, last, group_by, error)
    period = period if period in PRESETS else "7d"
    return PageQuery(period, *preset_days(period), group_by, error)


def _report(asked: PageQuery) -> Report:
    return call_analytics(asked.group_by, *days_period(asked.first, asked.last))


@require(Capability.VIEW)
@require_GET
def analytics_page(request: HttpRequest) -> HttpResponse:
    asked = page_query(request.GET)
    report = _report(asked)
    has_calls = report.total.calls > 0
    context = {
        "section": "analytics",
        "asked": asked,
        "report": report,
        "has_calls": has_calls,
        "presets": PRESETS,
        "group_labels": GROUP_LABELS,
        "group_label": GROUP_LABELS[asked.group_by],
        "calls_chart": charts.calls_and_connect_rate(report.groups) if has_calls else "",
        "outcomes_chart": charts.outcomes_stacked(report.groups) if has_calls else "",
        "days_chart": charts.calls_over_days(report.groups) if has_calls and asked.group_by == "day" else "",
    }
    return render(request, "analytics/index.html", context)


@require(Capability.VIEW)
@require_GET
def analytics_export(request: HttpRequest) -> HttpResponse:
    """The page's table as CSV: one row per group, then the total; outcomes as `label: n; label: n`."""
    asked = page_query(request.GET)
    report = _report(asked)

    def rows() -> Iterator[list]:
        for figures in [*report.groups, report.total]:
            data = figures.as_json()
            data["outcomes"] = "; ".join(f"{label}: {n}" for label, n in data["outcomes"].items())
            yield ["" if data[name] is None else data[name] for name in CSV_HEADER]

    filename = f"analytics-{asked.group_by}-{asked.first.isoformat()}-{asked.last.isoformat()}.csv"
    return csv_response(request, header=CSV_HEADER, rows=rows(), filename=filename)
