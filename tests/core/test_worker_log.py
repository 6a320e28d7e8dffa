"""The embedded run's console: the worker's log shows real work, not the sweeps that run every few seconds."""

import logging

import pytest
from celery.app.trace import LOG_SUCCESS

import wordcab_admin.celery  # noqa: F401 (installs the filter, as the worker does)
from wordcab_admin.schedules import ROUTINE_TASKS


def log_task_line(level: int, name: str) -> None:
    context = {"id": "abc", "name": name, "return_value": 0, "runtime": 0.01}
    logging.getLogger("celery.app.trace").log(level, LOG_SUCCESS, context, extra={"data": context})


def test_the_sweeps_that_run_every_few_seconds_are_the_routine_tasks():
    assert "calls.max_duration_sweep" in ROUTINE_TASKS
    assert "calls.idempotency_keys_prune" not in ROUTINE_TASKS  # hourly: its runs are worth a line


@pytest.mark.parametrize(
    ("level", "task", "shown"),
    [
        (logging.INFO, "calls.max_duration_sweep", False),
        (logging.INFO, "calls.simulator_deliver", False),
        (logging.INFO, "telephony.simulator_deliver_due", False),
        (logging.INFO, "calls.place", True),
        (logging.ERROR, "calls.max_duration_sweep", True),
    ],
)
def test_the_worker_log_hides_only_routine_runs_of_the_sweeps(caplog, level, task, shown):
    caplog.set_level(logging.INFO)
    log_task_line(level, task)
    assert (task in caplog.text) is shown
