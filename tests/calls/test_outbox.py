"""The outbox: a committed outbound call is placed even when the task meant to place it is lost (broker
down at commit, worker killed), once, and a broker outage is never a 500 with a half-made call."""

from datetime import timedelta

import pytest
from django.utils import timezone

from agents.models import Provider
from calls.lifecycle import call_hangup
from calls.models import Call, CallStatus
from calls.services import (
    PLACE_HANDOVER_SECONDS,
    PLACE_UNKNOWN_OUTCOME_SECONDS,
    call_place,
    calls_place_sweep,
)
from telephony.models import SimulatorDial, SimulatorEvent
from tests.factories import AgentFactory, CallFactory
from tests.helpers import apply_status, broker_down
from tests.telephony.fake_twilio import FakeTwilio

pytestmark = pytest.mark.django_db


def test_with_the_broker_down_placing_a_call_answers_201_and_the_sweep_places_it_once_the_broker_is_back(
    api, alice, agent, django_capture_on_commit_callbacks, caplog
):
    with broker_down(), django_capture_on_commit_callbacks(execute=True):
        response = api(alice).post(
            f"/v1/agents/{agent.public_id}/calls", {"phone_number": "+14155550123"}, format="json"
        )
    assert response.status_code == 201, response.content
    assert "calls.place" in caplog.text  # its send failed: left to the sweep
    assert "left to its sweep" in caplog.text
    call = Call.objects.get(public_id=response.json()["id"])
    assert (call.status, call.provider_call_id) == (CallStatus.INITIATING, None)
    assert call.place_due_at is not None  # durably recorded as still to place
    assert calls_place_sweep(now=call.place_due_at) == 1
    call.refresh_from_db()
    assert call.provider_call_id.startswith("SIM")
    assert call.place_due_at is None
    assert SimulatorDial.objects.filter(request_key=call.public_id).count() == 1


def test_the_sweep_leaves_a_fresh_call_to_its_task_and_takes_it_once_the_handover_time_has_passed():
    call = CallFactory(place_due_at=timezone.now() + timedelta(seconds=PLACE_HANDOVER_SECONDS))
    assert calls_place_sweep(now=timezone.now()) == 0
    assert calls_place_sweep(now=call.place_due_at) == 1
    assert Call.objects.get(pk=call.pk).provider_call_id


def test_a_call_placed_by_its_task_and_again_by_the_sweep_is_dialled_once():
    """The simulator keeps its request key: a second placing (a duplicated task, the sweep racing the
    task) answers with the first dial and dials nothing."""
    call = CallFactory(place_due_at=timezone.now())
    first = call_place(call_id=call.pk)
    Call.objects.filter(pk=call.pk).update(provider_call_id=None, place_due_at=timezone.now())  # write lost
    second = call_place(call_id=call.pk)
    assert first == second
    dial = SimulatorDial.objects.get(request_key=call.public_id)
    assert dial.requests == 2
    assert SimulatorEvent.objects.filter(call_public_id=call.public_id).count() == 4  # scheduled once


def test_a_call_hung_up_before_it_was_placed_leaves_the_outbox():
    call = CallFactory(place_due_at=timezone.now())
    call_hangup(call=call)
    call.refresh_from_db()
    assert (call.status, call.place_due_at) == (CallStatus.FAILED, None)
    assert calls_place_sweep(now=timezone.now() + timedelta(minutes=5)) == 0
    assert not SimulatorDial.objects.filter(request_key=call.public_id).exists()


@pytest.fixture
def fake_twilio(settings):
    fake = FakeTwilio().start()
    settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN = "AC" + "1" * 32, "token"
    settings.TWILIO_API_BASE_URL = fake.base_url
    yield fake
    fake.stop()


def twilio_call_to_place():
    return CallFactory(
        agent=AgentFactory(),
        provider=Provider.TWILIO,
        from_number="+14155559999",
        place_due_at=timezone.now(),
    )


def test_a_twilio_attempt_of_unknown_outcome_waits_for_twilios_callbacks_before_dialling_again(fake_twilio):
    """Twilio cannot tell a repeated request: an attempt that began (committed) but whose answer was lost
    with its process is retried only after PLACE_UNKNOWN_OUTCOME_SECONDS, and not at all once Twilio's
    first callback, which names our call, has told us its CallSid."""
    call = twilio_call_to_place()
    began = timezone.now()
    Call.objects.filter(pk=call.pk).update(
        place_attempts=1, place_due_at=began + timedelta(seconds=PLACE_UNKNOWN_OUTCOME_SECONDS)
    )  # as _place_attempt_begin leaves it, the process then dying during Twilio's request
    assert calls_place_sweep(now=began + timedelta(seconds=10)) == 0
    apply_status(
        provider="twilio",
        params={"CallSid": "CA" + "7" * 32, "CallStatus": "initiated", "SequenceNumber": "0"},
        source="twilio",
        call_public_id=call.public_id,
    )
    call.refresh_from_db()
    assert (call.provider_call_id, call.place_due_at) == ("CA" + "7" * 32, None)  # adopted
    assert calls_place_sweep(now=began + timedelta(seconds=PLACE_UNKNOWN_OUTCOME_SECONDS + 1)) == 0
    assert fake_twilio.creates() == []  # never dialled a second time


def test_a_twilio_attempt_of_unknown_outcome_with_no_callback_is_placed_again_after_the_wait(fake_twilio):
    call = twilio_call_to_place()
    began = timezone.now()
    Call.objects.filter(pk=call.pk).update(
        place_attempts=1, place_due_at=began + timedelta(seconds=PLACE_UNKNOWN_OUTCOME_SECONDS)
    )
    assert calls_place_sweep(now=began + timedelta(seconds=PLACE_UNKNOWN_OUTCOME_SECONDS)) == 1
    call.refresh_from_db()
    assert call.provider_call_id.startswith("CA")
    assert (call.place_attempts, len(fake_twilio.creates())) == (2, 1)
