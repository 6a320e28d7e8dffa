"""The only module that announces call changes. The lifecycle calls it inside its transaction;
the message leaves only after commit, so a rolled-back change never reaches a browser.

Each update is serialized to JSON text once, here, and sent through the channels-redis layer to the
group `live.calls`. The members of that group are not the websocket connections but one hub per web
process (calls/consumers.py), which fans the ready-made text out to its own connections. So an update
costs one serialization and one Redis message per web process, however many people are watching."""

import asyncio
import atexit
import json
import logging
import os
import threading
from collections.abc import Iterable

from channels.layers import get_channel_layer
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from redis.exceptions import RedisError

from calls.models import Call, Campaign
from calls.serializers import call_object

logger = logging.getLogger(__name__)

LIVE_GROUP = "live.calls"
LAYER_MESSAGE_TYPE = "live.events"
PUBLISH_TIMEOUT_SECONDS = 5.0


def publish_call_update_on_commit(call: Call) -> None:
    """Announce `call` as it is now (and its campaign's counts) to live viewers once the current
    transaction commits."""
    live_events_on_commit([live_event_for_call(call)], {call.campaign_id} if call.campaign_id else set())


def live_events_on_commit(call_events: list[dict], campaign_ids: Iterable[int] = ()) -> None:
    """Send ready call snapshots, in order, then the counts of their campaigns as they are at commit (read
    once per campaign however many of its calls changed), once the current transaction commits."""
    campaign_ids = sorted(set(campaign_ids))
    transaction.on_commit(lambda: _call_events_send(call_events, campaign_ids), robust=True)


def call_update_publish(*, call: Call) -> None:
    """Serialize the call (and its campaign) once and broadcast it now. Use the _on_commit form in services."""
    _call_events_send([live_event_for_call(call)], [call.campaign_id] if call.campaign_id else [])


def _call_events_send(call_events: list[dict], campaign_ids: list[int]) -> None:
    campaigns = Campaign.objects.select_related("agent").filter(pk__in=campaign_ids) if campaign_ids else []
    live_events_send([*call_events, *(live_event_for_campaign(campaign) for campaign in campaigns)])


def campaign_update_publish(*, campaign: Campaign) -> None:
    live_events_send([live_event_for_campaign(campaign)])


def encode(message: dict) -> str:
    return json.dumps(message, cls=DjangoJSONEncoder, separators=(",", ":"))


def live_event_for_call(call: Call) -> dict:
    """One event as the hub needs it: the client's JSON text, plus what the filters look at."""
    data = call_object(call)
    return {
        "text": encode({"type": "call.updated", "call": data}),
        "agent_id": data["agent_id"],
        "campaign_id": data["campaign_id"],
        "call_id": data["id"],
    }


def live_event_for_campaign(campaign: Campaign) -> dict:
    from calls.dashboard import campaign_summary

    summary = campaign_summary(campaign)
    return {
        "text": encode({"type": "campaign.updated", "campaign": summary}),
        "agent_id": summary["agent_id"],
        "campaign_id": summary["id"],
        "call_id": None,
    }


def live_events_send(events: list[dict]) -> None:
    """Queue ready events for every web process's hub, in order, without waiting for Redis. A broadcast
    failure is logged, never raised: the change it announces is already committed, and a reconnecting
    page resynchronizes anyway."""
    if events and get_channel_layer() is not None:
        _publisher().submit(events)


def live_events_flush(timeout: float = PUBLISH_TIMEOUT_SECONDS) -> None:
    """Wait until everything queued so far has been handed to Redis (tests; process exit)."""
    if _instance is not None and _instance.pid == os.getpid():
        _instance.flush(timeout)


class _Publisher:
    """One event loop on a daemon thread per process sends the queue to the channel layer: callers (request
    threads, Celery tasks) never wait for Redis, one connection pool is reused (a bare async_to_sync would
    make a loop and a connection per message outside an ASGI request), order is kept, and whatever queued
    up while a send was in flight leaves in the next single group_send."""

    def __init__(self) -> None:
        self.pid = os.getpid()
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="live-publisher", daemon=True)
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self.loop).result(timeout=PUBLISH_TIMEOUT_SECONDS)
        atexit.register(self.flush)

    async def _start(self) -> None:
        self.queue: asyncio.Queue[list[dict]] = asyncio.Queue()
        self.sender = asyncio.create_task(self._send_forever())

    def submit(self, events: list[dict]) -> None:
        self.loop.call_soon_threadsafe(self.queue.put_nowait, events)

    async def _send_forever(self) -> None:
        layer = get_channel_layer()
        while True:
            batch = list(await self.queue.get())
            taken = 1
            while not self.queue.empty():
                batch.extend(self.queue.get_nowait())
                taken += 1
            try:
                message = {"type": LAYER_MESSAGE_TYPE, "events": batch}
                await asyncio.wait_for(layer.group_send(LIVE_GROUP, message), PUBLISH_TIMEOUT_SECONDS)
            except (TimeoutError, RedisError, OSError) as exc:
                logger.warning("%d live updates not broadcast (%s): %s", len(batch), type(exc).__name__, exc)
            finally:
                for _ in range(taken):
                    self.queue.task_done()

    def flush(self, timeout: float = PUBLISH_TIMEOUT_SECONDS) -> None:
        if os.getpid() != self.pid or not self.thread.is_alive():
            return
        try:
            asyncio.run_coroutine_threadsafe(self.queue.join(), self.loop).result(timeout=timeout)
        except TimeoutError:
            logger.warning("live updates still queued after %.0f s", timeout)


_lock = threading.Lock()
_instance: _Publisher | None = None


def _publisher() -> _Publisher:
    global _instance
    with _lock:
        if _instance is None or _instance.pid != os.getpid():  # a forked child needs its own thread
            _instance = _Publisher()
        return _instance
