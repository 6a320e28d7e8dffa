"""Placing many calls at once (calls.services.calls_place_many, the `calls.place_many` task of a dispatch
run): each call through the same guard as `call_place` (its row lock; only a call still `initiating`
without a provider id), a provider that knows repeated requests dialling the batch in bulk, the others
placed one by one."""

import pytest
from django.utils import timezone

from agents.models import Provider
from calls.lifecycle import call_hangup
from calls.models import Call, CallStatus
from calls.services import calls_place_many, calls_place_sweep
from telephony.models import SimulatorDial, SimulatorEvent
from tests.factories import AgentFactory, CallFactory
from tests.telephony.fake_twilio import FakeTwilio

pytestmark = pytest.mark.django_db


@pytest.fixture
def fake_twilio(settings):
    fake = FakeTwilio().start()
    settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN = "AC" + "1" * 32, "token"
    settings.TWILIO_API_BASE_URL = fake.base_url
    yield fake
    fake.stop()


def calls_to_place(count: int, **fields) -> list[Call]:
    return [
        CallFactory(to_number=f"+1415555{2000 + index:04d}", place_due_at=timezone.now(), **fields)
        for index in range(count)
    ]


def test_a_batch_is_dialled_once_each_with_its_events_and_leaves_the_outbox():
    calls = calls_to_place(5)
    assert calls_place_many(call_ids=[call.pk for call in calls]) == 5
    for call in calls:
        call.refresh_from_db()
        dial = SimulatorDial.objects.get(request_key=call.public_id)
        assert (call.provider_call_id, call.place_due_at, call.place_attempts) == (dial.call_sid, None, 1)
        assert (dial.requests, dial.to_number) == (1, call.to_number)
        events = SimulatorEvent.objects.filter(call_public_id=call.public_id).order_by("due_at")
        assert [event.params["CallStatus"] for event in events] == [
            "initiated",
            "ringing",
            "in-progress",
            "completed",
        ]
        assert {event.params["CallSid"] for event in events} == {dial.call_sid}
    assert calls_place_sweep(now=timezone.now()) == 0


def test_a_batch_placed_twice_places_each_call_once():
    calls = calls_to_place(4)
    ids = [call.pk for call in calls]
    calls_place_many(call_ids=ids)
    first = dict(Call.objects.filter(pk__in=ids).values_list("pk", "provider_call_id"))
    assert calls_place_many(call_ids=ids) == 0  # a duplicated task: every call has its provider id
    # A run whose writes were lost (the worker died before its commit reached us, say) asks again: the
    # simulator answers each call's first dial, and dials and schedules nothing more.
    Call.objects.filter(pk__in=ids).update(provider_call_id=None, place_due_at=timezone.now())
    assert calls_place_many(call_ids=ids) == 4
    assert dict(Call.objects.filter(pk__in=ids).values_list("pk", "provider_call_id")) == first
    for call in calls:
        assert SimulatorDial.objects.get(request_key=call.public_id).requests == 2
        assert SimulatorEvent.objects.filter(call_public_id=call.public_id).count() == 4


def test_a_call_of_the_batch_that_ended_before_it_was_placed_is_not_dialled():
    hung_up, kept = calls_to_place(2)
    call_hangup(call=hung_up)
    assert calls_place_many(call_ids=[hung_up.pk, kept.pk]) == 1
    hung_up.refresh_from_db()
    assert (hung_up.status, hung_up.provider_call_id, hung_up.place_due_at) == (CallStatus.FAILED, None, None)
    assert not SimulatorDial.objects.filter(request_key=hung_up.public_id).exists()
    assert SimulatorDial.objects.filter(request_key=kept.public_id).exists()


def test_calls_of_a_provider_that_cannot_tell_a_repeated_request_are_placed_one_by_one(fake_twilio):
    simulated = calls_to_place(2)
    twilio = calls_to_place(2, agent=AgentFactory(), provider=Provider.TWILIO, from_number="+14155559999")
    assert calls_place_many(call_ids=[call.pk for call in [*simulated, *twilio]]) == 4
    assert len(fake_twilio.creates()) == 2
    for call in twilio:
        call.refresh_from_db()
        assert call.provider_call_id.startswith("CA")
        assert call.place_attempts == 1  # its attempt committed before Twilio's request, as call_place does
    for call in simulated:
        call.refresh_from_db()
        assert call.provider_call_id.startswith("SIM")


def test_a_provider_nobody_registered_holds_back_only_its_own_calls(caplog):
    unknown = CallFactory(place_due_at=timezone.now(), provider="carrier-pigeon")
    (known,) = calls_to_place(1)
    assert calls_place_many(call_ids=[unknown.pk, known.pk]) == 1
    unknown.refresh_from_db()
    assert (unknown.provider_call_id, unknown.status) == (None, CallStatus.INITIATING)
    assert unknown.place_due_at is not None  # still due: the sweep tries again
    assert "carrier-pigeon" in caplog.text
    known.refresh_from_db()
    assert known.provider_call_id.startswith("SIM")
