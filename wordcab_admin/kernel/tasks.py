"""Sending a Celery task whose work the database also remembers (an outbox row, a due event, a missing
recording): with the broker down the send is skipped with a warning, not raised, since a sweep does the
work once the broker is back. Work that only the broker would remember must not be sent this way."""

from __future__ import annotations

import logging
from typing import Any

from celery import current_app

log = logging.getLogger(__name__)


def task_send_or_leave_to_sweep(name: str, kwargs: dict[str, Any], *, countdown: float | None = None) -> bool:
    """Send task `name` now; False (logged) when the broker cannot take it. `retry=False`: a request
    that sends one must answer promptly during an outage rather than wait out kombu's reconnects."""
    try:
        current_app.send_task(name, kwargs=kwargs, countdown=countdown, ignore_result=True, retry=False)
    except Exception as exc:  # noqa: BLE001 -- any broker failure: the sweep takes over
        log.warning("%s %s left to its sweep (broker unavailable: %s)", name, kwargs, exc)
        return False
    return True
