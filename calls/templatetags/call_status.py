"""`{% call_status_table %}`: the call lifecycle's status table, embedded once in each live page (the
wallboard, the calls list, the call page, a campaign's page) for static/js/live.js, which reads it instead of
copying it: a new state, a new order or a new label reaches the browser without touching the script.

It renders calls/_status_table.html: the table as `<script type="application/json" id="call-statuses">`
(`json_script`), and `<template id="call-status-badges">`, one status badge (calls/_status_badge.html, the
partial of every call row) per state, which live.js clones when it paints a row."""

from django import template

from calls.lifecycle import RANK
from calls.models import CallStatus

register = template.Library()


def status_table() -> dict:
    """The states in their declared order; `rank` orders them along the lifecycle (a message of a lower rank
    than what a page shows is late); `active` and `terminal` as CallStatus.active() and .terminal(); `labels`
    as shown; `talking` is the state whose timer runs from `answered_at` (the others' from `created_at`) and
    that an agent's "talking" count counts."""
    order = [status.value for status in CallStatus]
    return {
        "order": order,
        "rank": {str(status): rank for status, rank in RANK.items()},
        "active": [s for s in order if s in CallStatus.active()],
        "terminal": [s for s in order if s in CallStatus.terminal()],
        "labels": {status.value: str(status.label) for status in CallStatus},
        "talking": CallStatus.IN_PROGRESS.value,
    }


@register.inclusion_tag("calls/_status_table.html")
def call_status_table() -> dict:
    table = status_table()
    return {"table": table, "badges": [(status, table["labels"][status]) for status in table["order"]]}
