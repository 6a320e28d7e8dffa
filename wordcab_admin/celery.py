import logging
import os

from celery import Celery

from wordcab_admin.schedules import ROUTINE_TASKS

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "wordcab_admin.settings")

app = Celery("wordcab_admin")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


# Not logged when they run fine: the sweeps that run every minute or more often, and the simulated
# carrier's events (a real carrier's callbacks are not logged one by one either).
QUIET_TASKS = ROUTINE_TASKS | {"calls.simulator_deliver"}


class QuietRoutineTasks(logging.Filter):
    """The worker logs each task it receives and each it finishes. The sweeps and the simulator's events
    would bury everything else in the console of `make run` (two lines every 5 s, eight per simulated
    call); their failures and warnings still show."""

    def filter(self, record: logging.LogRecord) -> bool:
        data = getattr(record, "data", None)  # the task context Celery passes with these lines
        return record.levelno > logging.INFO or not (
            isinstance(data, dict) and data.get("name") in QUIET_TASKS
        )


for _logger_name in ("celery.worker.strategy", "celery.app.trace"):  # "received", then "succeeded"
    logging.getLogger(_logger_name).addFilter(QuietRoutineTasks())
