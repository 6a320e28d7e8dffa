"""The simulator end to end: API → calls.place on a real Celery worker → scheduled status events → the
same status path as Twilio's callbacks → the outcome table of docs/contract.md."""

import random

import pytest
from django.utils import timezone

from calls.models import Call, CallEvent, CallStatus
from telephony.simulator.provider import Outcome, disorder, simulator_outcome, simulator_timeline
from tests.helpers import wait_for

OUTCOMES = [
    # number, status, end_reason, error code
    ("+14155550123", CallStatus.COMPLETED, "hangup", ""),
    ("+14155550150", CallStatus.NO_ANSWER, "no_answer", ""),
    ("+14155550159", CallStatus.NO_ANSWER, "no_answer", ""),
    ("+14155550160", CallStatus.NO_ANSWER, "busy", ""),
    ("+14155550169", CallStatus.NO_ANSWER, "busy", ""),
    ("+14155550170", CallStatus.FAILED, "error", "carrier_rejected"),
    ("+14155550179", CallStatus.FAILED, "error", "carrier_rejected"),
    ("+14155550180", CallStatus.COMPLETED, "voicemail", ""),
    ("+14155550189", CallStatus.COMPLETED, "voicemail", ""),
    ("+14155550149", CallStatus.COMPLETED, "hangup", ""),
    ("+14155550190", CallStatus.COMPLETED, "hangup", ""),
]


@pytest.fixture
def fast_simulator(settings):
    settings.SIMULATOR_SPEED = 20
    settings.SIMULATOR_DISORDER = False
    return settings


def final_status(call_id):
    status = Call.objects.filter(public_id=call_id).values_list("status", flat=True).first()
    return status if status in CallStatus.terminal() else None


@pytest.mark.parametrize(("number", "status", "end_reason", "error_code"), OUTCOMES)
def test_every_row_of_the_outcome_table_end_to_end(
    celery_worker_thread, fast_simulator, api, alice, agent, number, status, end_reason, error_code
):
    response = api(alice).post(f"/v1/agents/{agent.public_id}/calls", {"phone_number": number}, format="json")
    assert response.status_code == 201
    call_id = response.json()["id"]
    wait_for(lambda: final_status(call_id), timeout=20, what=f"call to {number} to end")
    call = api(alice).get(f"/v1/calls/{call_id}").json()
    assert (call["status"], call["end_reason"]) == (status, end_reason)
    assert (call["error"] or {}).get("code", "") == error_code
    assert call["ended_at"] is not None
    if end_reason == "hangup":
        assert call["answered_at"] is not None
        assert call["duration"] is not None
    sources = set(CallEvent.objects.filter(call__public_id=call_id).values_list("source", flat=True))
    assert sources == {"simulator"}


def test_out_of_order_and_duplicate_delivery_ends_the_same_way(
    celery_worker_thread, fast_simulator, api, alice, agent
):
    body = {
        "phone_number": "+14155550123",
        "context": {"simulator": {"out_of_order": True, "duplicates": True}},
    }
    call_id = api(alice).post(f"/v1/agents/{agent.public_id}/calls", body, format="json").json()["id"]
    wait_for(
        lambda: CallEvent.objects.filter(call__public_id=call_id).count() == 8,
        timeout=20,
        what="all eight deliveries (four events, twice each)",
    )
    call = Call.objects.get(public_id=call_id)
    assert (call.status, call.end_reason) == (CallStatus.COMPLETED, "hangup")
    assert call.answered_at is not None
    assert call.ended_at > call.answered_at
    ignored = CallEvent.objects.filter(call=call, applied=False)
    assert ignored.count() >= 4  # every duplicate at least
    assert all(event.ignored_reason for event in ignored)


def test_a_recorded_simulated_call_asks_for_its_recording_when_it_completes(
    celery_worker_thread, fast_simulator, api, alice, agent, monkeypatch
):
    from wordcab_admin.kernel import tasks as task_sending

    sent = []
    real = task_sending.current_app.send_task

    class Recorder:
        def send_task(self, name, **kwargs):
            if name == "recordings.simulate":
                sent.append(kwargs["kwargs"])
                return None
            return real(name, **kwargs)

    monkeypatch.setattr(task_sending, "current_app", Recorder())
    body = {"phone_number": "+14155550123", "record": True}
    call_id = api(alice).post(f"/v1/agents/{agent.public_id}/calls", body, format="json").json()["id"]
    wait_for(lambda: sent, timeout=20, what="the recordings.simulate task")
    call = Call.objects.get(public_id=call_id)
    assert sent == [{"call_id": call.pk, "talk_seconds": (call.ended_at - call.answered_at).total_seconds()}]
    assert sent[0]["talk_seconds"] > 0


def test_a_simulated_call_reaching_its_max_duration_is_ended_there_by_the_carrier_with_that_reason(
    celery_worker_thread, settings, api, alice, agent
):
    settings.SIMULATOR_SPEED = 1  # talk would last 3 to 6 s, beyond the 1 s allowed
    body = {"phone_number": "+14155550123", "max_duration": 1}
    call_id = api(alice).post(f"/v1/agents/{agent.public_id}/calls", body, format="json").json()["id"]
    wait_for(lambda: final_status(call_id), timeout=20, what="the call to end")
    call = Call.objects.get(public_id=call_id)
    assert (call.status, call.end_reason) == (CallStatus.COMPLETED, "max_duration")
    assert call.duration == 1
    completed = CallEvent.objects.get(call=call, provider_status="completed")
    assert completed.applied
    assert float(completed.payload["CallDuration"]) == 1


@pytest.mark.parametrize(
    ("number", "outcome"),
    [
        ("+14155550149", Outcome.COMPLETED),
        ("+14155550150", Outcome.NO_ANSWER),
        ("+14155550165", Outcome.BUSY),
        ("+14155550177", Outcome.FAILED),
        ("+14155550181", Outcome.VOICEMAIL),
        ("+14155550190", Outcome.COMPLETED),
    ],
)
def test_the_last_four_digits_choose_the_outcome(number, outcome):
    assert simulator_outcome(number) == outcome


def test_ring_and_talk_times_scale_with_the_simulator_speed():
    def last_delay(speed):
        events = simulator_timeline(
            call_sid="SIM1", to_number="+14155550123", from_number="", start=timezone.now(), speed=speed,
            rng=random.Random(7),
        )  # fmt: skip
        return events[-1].delay

    assert last_delay(1) == pytest.approx(last_delay(10) * 10)
    assert 5 <= last_delay(1) <= 11


def test_disorder_shuffles_and_duplicates_deliveries():
    events = simulator_timeline(
        call_sid="SIM1", to_number="+14155550123", from_number="", start=timezone.now(), speed=1,
        rng=random.Random(1),
    )  # fmt: skip
    delivered = disorder(events, out_of_order=True, duplicates=True, rng=random.Random(3))
    assert len(delivered) == 2 * len(events)
    assert sorted(e.params["SequenceNumber"] for e in delivered) == sorted(
        2 * [e.params["SequenceNumber"] for e in events]
    )
