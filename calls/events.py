"""The only module that announces call changes. The lifecycle calls it inside its transaction;
the message leaves only after commit, so a rolled-back change never reaches a browser.

Each update is serialized to JSON text once, here, and sent through the channels-redis layer to the
group `live.calls`. The members of that group are not the websocket connections but one hub per web
process (calls/consumers.py), which fans the ready-made text out to its own connections. So an update
costs one serialization and one Redis message per web process, however many people are watching."""

import asyncio
import json
import logging
import os
import threading

from channels.layers import get_channel_layer
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from redis.exceptions import RedisError

from calls.models import Call, Campaign
from calls.serializers import CallOutput

logger = logging.getLogger(__name__)

LIVE_GROUP = "live.calls"
LAYER_MESSAGE_TYPE = "live.events"
PUBLISH_TIMEOUT_SECONDS = 5.0


def publish_call_update_on_commit(call: Call) -> None:
    """Announce `call` (and its campaign's counts) to live viewers once the current transaction commits."""
    transaction.on_commit(lambda: call_update_publish(call=call), robust=True)


def call_update_publish(*, call: Call) -> None:
    """Serialize the call (and its campaign) once and broadcast it now. Use the _on_commit form in services."""
    events = [live_event_for_call(call)]
    if call.campaign_id:
        events.append(
            live_event_for_campaign(Campaign.objects.select_related("agent").get(pk=call.campaign_id))
        )
    live_events_send(events)


def campaign_update_publish(*, campaign: Campaign) -> None:
    live_events_send([live_event_for_campaign(campaign)])


def encode(message: dict) -> str:
    return json.dumps(message, cls=DjangoJSONEncoder, separators=(",", ":"))


def live_event_for_call(call: Call) -> dict:
    """One event as the hub needs it: the client's JSON text, plus what the filters look at."""
    data = CallOutput(call).data
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
    """Send ready events to every web process's hub. A broadcast failure is logged, never raised:
    the change it announces is already committed, and a reconnecting page resynchronizes anyway."""
    layer = get_channel_layer()
    if layer is None or not events:
        return
    message = {"type": LAYER_MESSAGE_TYPE, "events": events}
    try:
        _publisher().run(layer.group_send(LIVE_GROUP, message))
    except (TimeoutError, RedisError, OSError) as exc:  # futures' and asyncio's timeouts are TimeoutError
        logger.warning("live update not broadcast (%s): %s", type(exc).__name__, exc)


class _Publisher:
    """A private event loop on a daemon thread, so that sync code (request threads, Celery tasks)
    reuses one Redis connection pool instead of a new loop and connection per message
    (what a bare async_to_sync would do outside an ASGI request). Calls block until sent, in order."""

    def __init__(self) -> None:
        self.pid = os.getpid()
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="live-publisher", daemon=True)
        self.thread.start()

    def run(self, coroutine) -> None:
        asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout=PUBLISH_TIMEOUT_SECONDS)


_lock = threading.Lock()
_instance: _Publisher | None = None


def _publisher() -> _Publisher:
    global _instance
    with _lock:
        if _instance is None or _instance.pid != os.getpid():  # a forked child needs its own thread
            _instance = _Publisher()
        return _instance
