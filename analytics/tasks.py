"""The periodic rollup (wordcab_admin/schedules.py: every minute)."""

from celery import shared_task

from analytics.rollup import calls_rollup


@shared_task(name="analytics.calls_rollup", acks_late=True)
def calls_rollup_task() -> int:
    """Re-aggregate the hours touched since the last run (idempotent: whole hours are rewritten)."""
    return calls_rollup()
