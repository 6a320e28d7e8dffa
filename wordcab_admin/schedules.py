"""Every periodic task, listed once; `manage.py sync_schedules` writes them into django-celery-beat."""

from datetime import timedelta

# (name shown to staff, task name, interval)
PERIODIC: list[tuple[str, str, timedelta]] = []

PERIODIC += [
    ("calls: place committed calls whose task was lost (outbox)", "calls.place_sweep", timedelta(seconds=2)),
    ("calls: max_duration sweep", "calls.max_duration_sweep", timedelta(seconds=5)),
    ("calls: stale call watchdog", "calls.stale_sweep", timedelta(seconds=60)),
    ("calls: prune old idempotency keys", "calls.idempotency_keys_prune", timedelta(hours=1)),
]

PERIODIC += [
    (
        "campaigns: dispatch running campaigns, settle ended attempts, finish",
        "campaigns.dispatch_tick",
        timedelta(seconds=2),
    ),
]

PERIODIC += [
    (
        "simulator: send overdue status events, re-make lost recordings",
        "telephony.simulator_sweep",
        timedelta(seconds=2),
    ),
]

PERIODIC += [
    (
        "transcripts: analyse ended calls whose analysis was lost",
        "transcripts.analysis_sweep",
        timedelta(minutes=5),
    ),
]

PERIODIC += [
    (
        "recordings: re-queue stuck uploads, salvage dead spools",
        "recordings.upload_sweep",
        timedelta(minutes=2),
    ),
    ("recordings: retention sweep (expired, not held)", "recordings.retention_sweep", timedelta(minutes=10)),
]

PERIODIC += [
    ("webhooks: send due deliveries (retries, lost tasks)", "webhooks.deliver_sweep", timedelta(seconds=5)),
]

PERIODIC += [
    ("analytics: roll up the hours whose calls changed", "analytics.calls_rollup", timedelta(minutes=1)),
]

# Tasks that run every minute or more often: the worker does not log their routine runs.
ROUTINE_TASKS = frozenset(task for _name, task, every in PERIODIC if every <= timedelta(minutes=1))
