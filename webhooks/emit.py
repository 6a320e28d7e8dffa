"""Events made from what the lower apps announce after their commits: call objects (`calls_changed`) and
finished campaigns (`campaigns_completed`). One event row per change, one delivery row per enabled endpoint
that subscribes to its type, in one transaction; then a delivery task each (webhooks/delivery.py). No
network here: the receivers run on the thread that committed the call's change (often the hot-db
thread of a status callback), so they cost a few queries and never wait on a customer's server.

Which call changes are which events (each at most once per call, by its dedupe key):
- `call.started`: the call was created (announced in `initiating`, as every new call is);
- `call.status_changed`: the call reached a status other than `initiating`;
- `call.ended`: its post-call analysis was stored (`transcripts.announce.call_analysed`, about
  CALL_ANALYSIS_DELAY_SECONDS after it reached a final status), so that it carries the transcript and
  the analysis; the first analysis only, a re-run makes no second event;
- `recording.ready`: its `recording_url` appeared (the recording is stored)."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass

from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction
from django.utils import timezone

from calls.models import CallStatus
from campaigns.models import Campaign
from webhooks import payloads
from webhooks.models import EventType, WebhookDelivery, WebhookEndpoint, WebhookEvent
from wordcab_admin.kernel.ids import new_public_id
from wordcab_admin.kernel.tasks import task_send_or_leave_to_sweep

log = logging.getLogger(__name__)

DELIVER_TASK = "webhooks.deliver"
_TERMINAL = {str(status) for status in CallStatus.terminal()}


@dataclass(frozen=True)
class Pending:
    """An event to make, before we know whether it was made already."""

    type: str
    dedupe_key: str
    call: dict | None = None
    campaign: Campaign | None = None


def events_from_calls_changed(sender: object, calls: list[dict], **_signal: object) -> None:
    """`calls_changed` receiver. Its errors are logged and kept here: live viewers' receiver comes after
    ours on the same signal, and a webhook problem must never keep a call's change from them."""
    if not calls:
        return
    try:
        events_emit(_call_changes(calls))
    except Exception:
        log.exception("webhooks: events for %d call changes not made", len(calls))


def events_from_call_analysed(sender: object, call_ids: Iterable[str], **_signal: object) -> None:
    try:
        events_emit(
            [
                Pending(EventType.CALL_ENDED, f"call.ended:{call['id']}", call=call)
                for call in payloads.ended_call_objects(list(call_ids))
            ]
        )
    except Exception:
        log.exception("webhooks: call.ended events for %s not made", call_ids)


def events_from_campaigns_completed(sender: object, campaign_ids: Iterable[int], **_signal: object) -> None:
    try:
        campaigns = Campaign.objects.select_related("agent").filter(pk__in=list(campaign_ids))
        events_emit(
            [
                Pending(EventType.CAMPAIGN_COMPLETED, f"campaign.completed:{c.public_id}", campaign=c)
                for c in campaigns
            ]
        )
    except Exception:
        log.exception("webhooks: campaign.completed events for %s not made", campaign_ids)


def _call_changes(calls: list[dict]) -> list[Pending]:
    found: list[Pending] = []
    for call in calls:
        call_id, status = call["id"], call["status"]
        if status == CallStatus.INITIATING:
            found.append(Pending(EventType.CALL_STARTED, f"call.started:{call_id}", call=call))
        else:
            found.append(
                Pending(EventType.CALL_STATUS_CHANGED, f"call.status_changed:{call_id}:{status}", call=call)
            )
        if call.get("recording_url"):
            found.append(Pending(EventType.RECORDING_READY, f"recording.ready:{call_id}", call=call))
    return found


def _subscribers() -> dict[str, list[int]]:
    """Event type → ids of the enabled endpoints that want it (one small query)."""
    wanted: dict[str, list[int]] = {}
    for endpoint_id, events in WebhookEndpoint.objects.filter(enabled=True).values_list("id", "events"):
        for event_type in events or ():
            wanted.setdefault(event_type, []).append(endpoint_id)
    return wanted


def _data(pending: Pending) -> dict:
    if pending.type == EventType.CAMPAIGN_COMPLETED:
        return payloads.campaign_completed_data(pending.campaign)
    if pending.type == EventType.CALL_ENDED:
        return payloads.call_ended_data(pending.call)
    if pending.type == EventType.RECORDING_READY:
        return payloads.recording_ready_data(pending.call)
    return payloads.call_data(pending.call)


def event_body(*, public_id: str, event_type: str, created_at_iso: str, data: dict) -> str:
    body = {"id": public_id, "type": event_type, "created_at": created_at_iso, "data": data}
    return json.dumps(body, cls=DjangoJSONEncoder, separators=(",", ":"), ensure_ascii=False)


def events_emit(changes: list[Pending]) -> list[WebhookDelivery]:
    """Make the events nobody made yet that some enabled endpoint wants, with their deliveries, and send a
    delivery task for each after commit. Returns the deliveries made."""
    if not changes:
        return []
    subscribers = _subscribers()
    wanted = [p for p in changes if subscribers.get(p.type)]
    if not wanted:
        return []
    made_already = set(
        WebhookEvent.objects.filter(dedupe_key__in=[p.dedupe_key for p in wanted]).values_list(
            "dedupe_key", flat=True
        )
    )
    now = timezone.now()
    events: list[WebhookEvent] = []
    for pending in wanted:
        if pending.dedupe_key in made_already:
            continue
        made_already.add(pending.dedupe_key)  # the same change twice in one announcement
        public_id = new_public_id("evt")
        body = event_body(
            public_id=public_id,
            event_type=pending.type,
            created_at_iso=now.isoformat().replace("+00:00", "Z"),
            data=_data(pending),
        )
        events.append(
            WebhookEvent(
                public_id=public_id,
                type=pending.type,
                created_at=now,
                body=body,
                dedupe_key=pending.dedupe_key,
            )
        )
    return _events_store(events, subscribers)


def _events_store(events: list[WebhookEvent], subscribers: dict[str, list[int]]) -> list[WebhookDelivery]:
    if not events:
        return []
    try:
        with transaction.atomic():
            WebhookEvent.objects.bulk_create(events)
            stored = events
    except IntegrityError:  # another process made one of them meanwhile: each on its own, keeping the rest
        stored = []
        for event in events:
            try:
                with transaction.atomic():
                    event.pk = None
                    event.save(force_insert=True)
                stored.append(event)
            except IntegrityError:
                continue
    with transaction.atomic():
        deliveries = WebhookDelivery.objects.bulk_create(
            [
                WebhookDelivery(endpoint_id=endpoint_id, event=event, next_attempt_at=event.created_at)
                for event in stored
                for endpoint_id in subscribers.get(event.type, ())
            ]
        )
        ids = [delivery.pk for delivery in deliveries]
        transaction.on_commit(lambda: deliveries_enqueue(ids))
    return deliveries


def deliveries_enqueue(delivery_ids: Iterable[int], *, countdown: float | None = None) -> None:
    for delivery_id in delivery_ids:
        task_send_or_leave_to_sweep(DELIVER_TASK, {"delivery_id": delivery_id}, countdown=countdown)
