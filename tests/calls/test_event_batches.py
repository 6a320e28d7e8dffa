"""Status events applied in batches (group commit): the same outcome as one at a time, in order, each
event's own result, one bad event failing alone, and the live call object built from the batch's read."""

import asyncio
import json
from urllib.parse import urlencode

import pytest
from django.test import AsyncClient

from calls.lifecycle import EventIn, call_events_apply
from calls.models import Call, CallEvent, CallStatus
from campaigns.models import Campaign
from recordings.models import Recording
from telephony.twilio.signature import twilio_sign
from telephony.twilio.status import provider_status_event
from tests.factories import AgentFactory, CallFactory
from tests.telephony.test_twilio import post_status, twilio_call
from wordcab_admin.kernel.errors import NotFound
from wordcab_admin.kernel.fastpath.db_threads import db_threads_stop
from wordcab_admin.kernel.public_url import public_url


@pytest.fixture
def broadcast(monkeypatch) -> list[dict]:
    """What reaches the live publisher, decoded: call snapshots and campaign counts, in sending order."""
    sent: list[dict] = []
    monkeypatch.setattr(
        "live.publisher.live_events_send", lambda events: sent.extend(json.loads(e["text"]) for e in events)
    )
    return sent


def _event(call: Call, status: str, sequence: int | None = None, **kwargs) -> EventIn:
    return EventIn(status=status, public_id=call.public_id, sequence=sequence, source="test", **kwargs)


@pytest.mark.django_db
def test_a_batch_applies_its_events_in_order_and_answers_each_with_its_own_result(
    broadcast, django_capture_on_commit_callbacks
):
    first, second = CallFactory(), CallFactory()
    with django_capture_on_commit_callbacks(execute=True):
        results = call_events_apply(
            [
                _event(first, CallStatus.RINGING, 1),
                _event(second, CallStatus.RINGING, 1),
                _event(first, CallStatus.IN_PROGRESS, 2),
                _event(first, CallStatus.IN_PROGRESS, 2),  # a duplicate within the same batch
                EventIn(status=CallStatus.RINGING, public_id="call_missing", source="test"),
            ]
        )
    assert [r.applied for r in results[:4]] == [True, True, True, False]
    assert "duplicate" in results[3].ignored_reason
    assert isinstance(results[4], NotFound)
    assert results[4].code == "call_not_found"
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, first.last_sequence, first.answered_at is not None) == (
        CallStatus.IN_PROGRESS,
        2,
        True,
    )
    assert second.status == CallStatus.RINGING
    assert CallEvent.objects.filter(call=first).count() == 3
    # Every applied transition is announced, in order, each with the state it made.
    assert [(m["call"]["id"], m["call"]["status"]) for m in broadcast] == [
        (first.public_id, CallStatus.RINGING),
        (second.public_id, CallStatus.RINGING),
        (first.public_id, CallStatus.IN_PROGRESS),
    ]


@pytest.mark.django_db
def test_a_sequenceless_event_repeated_within_one_batch_is_applied_once():
    call = CallFactory()
    started = dict(status=CallStatus.IN_PROGRESS, event_id="stream-start:MZ1", provider_status="stream-start")
    results = call_events_apply([_event(call, **started), _event(call, **started)])
    assert [r.applied for r in results] == [True, False]
    assert results[1].ignored_reason.startswith("duplicate")


@pytest.mark.django_db
def test_one_event_the_database_refuses_fails_alone_and_the_rest_of_its_batch_lands():
    good, bad = CallFactory(), CallFactory()
    results = call_events_apply(
        [_event(bad, CallStatus.RINGING, sequence=2**70), _event(good, CallStatus.RINGING, sequence=1)]
    )
    assert isinstance(results[0], Exception)
    assert results[1].applied
    good.refresh_from_db()
    bad.refresh_from_db()
    assert good.status == CallStatus.RINGING
    assert bad.status == CallStatus.INITIATING  # nothing half-written: no event, no move
    assert not CallEvent.objects.filter(call=bad).exists()


@pytest.mark.django_db
def test_the_live_call_object_from_a_batch_names_its_campaign_and_stored_recording(
    broadcast, django_capture_on_commit_callbacks
):
    call = CallFactory()
    campaign = Campaign.objects.create(name="Renewals", agent=call.agent)
    Call.objects.filter(pk=call.pk).update(campaign=campaign, record=True)
    Recording.objects.create(call=call, status="stored")
    with django_capture_on_commit_callbacks(execute=True):
        (event,) = call_events_apply([_event(call, CallStatus.RINGING, 1)])
    assert event.applied
    call_message, campaign_message = broadcast
    assert call_message["call"]["agent_id"] == call.agent.public_id
    assert call_message["call"]["campaign_id"] == campaign.public_id
    assert call_message["call"]["recording_url"] == f"/v1/calls/{call.public_id}/recording"
    assert campaign_message["type"] == "campaign.updated"
    assert campaign_message["campaign"]["id"] == campaign.public_id


@pytest.mark.django_db
def test_inbound_calls_are_found_by_their_provider_call_id_in_a_batch():
    inbound = twilio_call(provider_call_id="CA" + "7" * 32)
    params = {"CallSid": inbound.provider_call_id, "CallStatus": "ringing", "SequenceNumber": "1"}
    (event,) = call_events_apply([provider_status_event(provider="twilio", params=params, source="twilio")])
    assert event.applied
    assert event.call == inbound


@pytest.mark.django_db
@pytest.mark.usefixtures("twilio_settings")
def test_a_status_callback_with_an_impossible_sequence_number_is_kept_without_it_and_ordered_by_status(
    client,
):
    call = twilio_call(provider_call_id="CA" + "3" * 32)
    params = {"CallSid": call.provider_call_id, "CallStatus": "ringing", "SequenceNumber": "99999999999"}
    assert post_status(client, params, call=call).status_code == 204
    event = CallEvent.objects.get(call=call)
    assert event.sequence is None
    assert event.payload["SequenceNumber"] == "99999999999"
    call.refresh_from_db()
    assert call.status == CallStatus.RINGING


@pytest.mark.django_db(transaction=True)
def test_concurrent_status_callbacks_are_grouped_into_batches_and_all_land(monkeypatch, twilio_settings):
    twilio_settings.HOT_DB_THREADS = 1
    batch_sizes: list[int] = []

    def counted(events):
        batch_sizes.append(len(events))
        return call_events_apply(events)

    monkeypatch.setattr("telephony.twilio.api.call_events_apply", counted)
    agent = AgentFactory()
    calls = [twilio_call(agent=agent, provider_call_id=f"CA{index:032x}") for index in range(30)]

    async def send_all() -> list[int]:
        client = AsyncClient()

        async def post(call, status, sequence):
            path = f"/v1/twilio/status?call_id={call.public_id}"
            params = {"CallSid": call.provider_call_id, "CallStatus": status, "SequenceNumber": str(sequence)}
            signature = twilio_sign(public_url(path), params)
            response = await client.post(
                path,
                urlencode(params),
                content_type="application/x-www-form-urlencoded",
                headers={"X-Twilio-Signature": signature},
            )
            return response.status_code

        codes = []
        for sequence, status in enumerate(["ringing", "in-progress", "completed"], start=1):
            codes += await asyncio.gather(*(post(call, status, sequence) for call in calls))
        return codes

    try:
        codes = asyncio.run(send_all())
    finally:
        db_threads_stop()
    assert codes == [204] * 90
    assert max(batch_sizes) > 1
    assert sum(batch_sizes) == 90
    assert Call.objects.filter(pk__in=[c.pk for c in calls], status=CallStatus.COMPLETED).count() == 30
    assert CallEvent.objects.filter(call__in=calls, applied=True).count() == 90
