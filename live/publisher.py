"""The only module that broadcasts to live viewers. It hears committed call changes (calls/announce.py)
and sends them, with the counts of their campaigns, to every web process's hub.

Each update is serialized to JSON text once, here, and sent through the channels-redis layer to the
group `live.calls`. The members of that group are not the websocket connections but one hub per web
process (live/consumers.py), which fans the ready-made text out to its own connections. So an update
costs one serialization and one Redis message per web process, however many people are watching.

It also broadcasts, on the same group with a message type of their own, the notices of live/principals.py
that a watcher's credentials ended (a key revoked, a sign-out…), so that every process's hub closes that
watcher's sockets."""

import json
from collections.abc import Iterable

from channels.layers import get_channel_layer
from django.core.serializers.json import DjangoJSONEncoder

from calls.models import Call
from calls.outcomes import call_object_outcome
from calls.serializers import call_object
from campaigns.models import Campaign
from campaigns.selectors import campaign_summary
from wordcab_admin.kernel.fastpath.layer_publisher import PUBLISH_TIMEOUT_SECONDS, PublisherPerProcess

LIVE_GROUP = "live.calls"
LAYER_MESSAGE_TYPE = "live.events"
# Notices that a principal's credentials ended (live/principals.py): the hubs close or re-check its sockets.
PRINCIPALS_MESSAGE_TYPE = "live.principals"
_publisher = PublisherPerProcess(group=LIVE_GROUP, message_type=LAYER_MESSAGE_TYPE)
_principals_publisher = PublisherPerProcess(group=LIVE_GROUP, message_type=PRINCIPALS_MESSAGE_TYPE)


def calls_changed_send(
    sender: object, *, calls: list[dict], campaign_ids: Iterable[int], **_: object
) -> None:
    """Receiver of `calls.announce.calls_changed`: the call objects in order, then the counts of their
    campaigns as they are now (read once per campaign however many of its calls changed)."""
    ids = sorted(campaign_ids)
    campaigns = Campaign.objects.select_related("agent").filter(pk__in=ids) if ids else []
    live_events_send(
        [*(live_event_for_call_object(data) for data in calls), *map(live_event_for_campaign, campaigns)]
    )


def call_update_publish(*, call: Call) -> None:
    """Serialize the call (and its campaign) once and broadcast it now; services announce through
    calls.announce instead, after their commit."""
    calls_changed_send(
        Call, calls=[call_object(call)], campaign_ids=[call.campaign_id] if call.campaign_id else []
    )


def encode(message: dict) -> str:
    return json.dumps(message, cls=DjangoJSONEncoder, separators=(",", ":"))


def live_event_for_call(call: Call) -> dict:
    return live_event_for_call_object(call_object(call))


def live_event_for_call_object(data: dict) -> dict:
    """One event as the hub needs it: the client's JSON text, plus what the filters look at. Beside the call
    object, `outcome` is its label as the pages show it (calls/outcomes.py), so that live.js needs no copy
    of the rules that name an outcome."""
    return {
        "text": encode({"type": "call.updated", "call": data, "outcome": call_object_outcome(data)}),
        "agent_id": data["agent_id"],
        "campaign_id": data["campaign_id"],
        "call_id": data["id"],
    }


def live_event_for_campaign(campaign: Campaign) -> dict:
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
        _publisher.get().submit(events)


def transcript_segments_send(sender: object, *, segments: list[dict], **_: object) -> None:
    """Receiver of `transcripts.announce.transcript_segments_added`: each new line of a call's transcript as
    `{"type": "transcript.segment", "call_id", "segment"}`, queued on the same publisher as the call updates,
    so that lines committed one after the other reach every socket in that order."""
    live_events_send([live_event_for_segment(announced) for announced in segments])


def live_event_for_segment(announced: dict) -> dict:
    text = encode(
        {"type": "transcript.segment", "call_id": announced["call_id"], "segment": announced["segment"]}
    )
    return {
        "text": text,
        "agent_id": announced["agent_id"],
        "campaign_id": announced["campaign_id"],
        "call_id": announced["call_id"],
    }


def principal_notices_send(notices: list[dict]) -> None:
    """Queue notices for every web process's hub (live/principals.py says what they hold), on a publisher
    of their own: one group_send per batch, like the events, without waiting for Redis. A notice that is
    lost (Redis away) is made up for by each hub's periodic re-check."""
    if notices and get_channel_layer() is not None:
        _principals_publisher.get().submit(notices)


def live_events_flush(timeout: float = PUBLISH_TIMEOUT_SECONDS) -> None:
    """Wait until everything queued so far has been handed to Redis (tests; process exit)."""
    _publisher.flush(timeout)
    _principals_publisher.flush(timeout)
