"""What transcripts hears from calls: a call's end starts its analysis.

`calls.announce.calls_changed` carries each committed call object; one whose status is final (with its
`ended_at`) has ended. The analysis task is sent CALL_ANALYSIS_DELAY_SECONDS later, so that the caller's
last utterance, still in speech-to-text when the line drops, is stored first. A call announced again after
its end (its recording stored) sends the task again, which then finds the analysis made and does nothing.

The receiver runs on the thread that committed: for status callbacks that is the hot-db thread, which
applies everyone's events (kernel/fastpath/db_threads.py). So it only queues the ids; a daemon thread of
its own sends the tasks (one broker round trip each). Ids still queued when the process dies, or sent while
the broker was away, are found by the periodic transcripts.analysis_sweep."""

import logging
import queue
import threading

from django.conf import settings

from calls.models import CallStatus
from wordcab_admin.kernel.tasks import task_send_or_leave_to_sweep

log = logging.getLogger(__name__)

ENDED = {str(status) for status in CallStatus.terminal()}

_to_send: "queue.SimpleQueue[str]" = queue.SimpleQueue()
_sender_lock = threading.Lock()
_sender: threading.Thread | None = None


def ended_call_ids(calls: list[dict]) -> list[str]:
    """The public ids of the announced call objects that show an ended call."""
    return [data["id"] for data in calls if data.get("status") in ENDED and data.get("ended_at")]


def analysis_on_calls_ended(sender: object, *, calls: list[dict], **_: object) -> None:
    """Receiver of calls_changed. Never raises and never waits on the broker: the receivers after it
    (live's broadcast) must still run, at once."""
    call_ids = ended_call_ids(calls)
    if not call_ids:
        return
    for call_id in call_ids:
        _to_send.put(call_id)
    _sender_ensure()


def _sender_ensure() -> None:
    global _sender
    with _sender_lock:
        if _sender is None or not _sender.is_alive():
            _sender = threading.Thread(target=_send_forever, name="analysis-sender", daemon=True)
            _sender.start()


def _send_forever() -> None:
    while True:
        call_id = _to_send.get()
        try:
            task_send_or_leave_to_sweep(
                "transcripts.call_analyse",
                {"call_id": call_id},
                countdown=settings.CALL_ANALYSIS_DELAY_SECONDS,
            )
        except Exception:  # noqa: BLE001 -- keep the sender alive whatever one send does
            log.exception("call %s: the analysis task was not sent", call_id)
