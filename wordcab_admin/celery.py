import logging
import os
import threading
import warnings

import redis
from celery import Celery, signals
from celery.exceptions import CPendingDeprecationWarning
from kombu.transport import redis as kombu_redis

from wordcab_admin.schedules import ROUTINE_TASKS

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "wordcab_admin.settings")

app = Celery("wordcab_admin")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

log = logging.getLogger(__name__)


# Not logged when they run fine: the sweeps that run every minute or more often, and the simulated
# carrier's events (a real carrier's callbacks are not logged one by one either).
QUIET_TASKS = ROUTINE_TASKS | {"calls.simulator_deliver", "telephony.simulator_deliver_due"}


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


@signals.celeryd_after_setup.connect
def quiet_a_settled_deprecation(**_kwargs) -> None:
    """At every lost broker connection Celery warns (ten lines) that the default of
    worker_cancel_long_running_tasks_on_connection_loss changes in Celery 6; ours is set in settings, so
    the warning tells nothing. Installed after the worker's logging set-up, which turns such warnings on."""
    warnings.filterwarnings(
        "ignore",
        message=r"\s*In Celery 5\.1 we introduced an optional breaking change",
        category=CPendingDeprecationWarning,
    )


# --- The broker transport: kombu's Redis transport, surviving a Redis restart -------------------------
#
# The bug (kombu 5.7, celery 5.7; the same AttributeError was reported as long ago as celery/kombu#582):
# when Redis goes away while the worker holds unacknowledged messages (every countdown/ETA task waiting in
# its timer, every acks_late task running), the consumer calls `Connection.collect()`. Closing a channel
# tidies up in Redis first (its fanout bindings), which fails on the dead socket, so the channel stays open
# with its messages; then `collect()` detaches the transport from its connection anyway (`transport.client =
# None`). The consumer's next `connection.close()` closes that channel again, and handing its messages back
# to Redis needs a new connection pool, whose parameters are read from `transport.client`: AttributeError
# "'NoneType' object has no attribute 'hostname'", which no one catches, and the worker dies ("Unrecoverable
# error"). (The Gossip step trips over the same failed close: "Error on restarting Gossip: AttributeError
# ... 'connection_errors'".)
#
# The workaround: a channel closed while Redis is unreachable is closed all the same, as far as it can
# be without Redis, and a detached channel raises a connection error instead of the AttributeError; the
# worker stays up and reconnects when Redis is back. The messages are safe in Redis meanwhile (kombu keeps
# every delivered, unacknowledged message in its `unacked` hash, persisted with the rest), and the first
# channel opened on the new connection puts them back in their queues, so countdown tasks still run on
# time rather than after the visibility timeout. Selected by CELERY_BROKER_TRANSPORT in settings.

_left_behind_tags: set[str] = set()  # delivery tags of messages a closed channel could not hand back
_left_behind_lock = threading.Lock()


class RestoringChannel(kombu_redis.Channel):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)  # connects: Redis answers, so what was left behind can go back
        self._restore_left_behind()

    def close(self) -> None:
        try:
            super().close()
        except RedisTransport.connection_errors:
            self._close_without_redis()

    def _close_without_redis(self) -> None:
        """Keep the unacknowledged messages' tags for later, drop the sockets, and count the channel closed
        so that no later close() tries again."""
        if self._qos is not None and self._qos._delivered:
            with _left_behind_lock:
                _left_behind_tags.update(self._qos._delivered)
            self._qos._delivered.clear()
        self._disconnect_pools()
        self.closed = True

    def _connparams(self, asynchronous: bool = False) -> dict:
        if self.connection.client is None:  # detached by Connection.collect() after a lost connection
            raise redis.ConnectionError("the broker connection was lost and is closed")
        return super()._connparams(asynchronous=asynchronous)

    def _restore_left_behind(self) -> None:
        with _left_behind_lock:
            tags = list(_left_behind_tags)
            _left_behind_tags.clear()
        if not tags:
            return
        try:
            for tag in tags:  # one restored already (or acknowledged) is no longer in the hash: a no-op
                self.qos.restore_by_tag(tag, client=self.client)
        except RedisTransport.connection_errors:
            with _left_behind_lock:
                _left_behind_tags.update(tags)  # Redis went away again: the next channel tries again
            return
        log.warning(
            "put back %d unacknowledged message(s) left behind by a lost broker connection", len(tags)
        )


class RedisTransport(kombu_redis.Transport):
    Channel = RestoringChannel
