"""Creating many outbound calls at once (calls.services.calls_create_many, a campaign's dispatch run): each
call cleared on its own exactly as `call_create` clears one, refusals creating nothing, taken keys left to
`call_create`, the batch announced once and placed by one task after commit, all or nothing in the
database."""

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from django.db import IntegrityError, transaction

from calls.announce import calls_changed
from calls.models import Call, CallStatus
from calls.services import OutboundCallRequest, call_create, calls_create_many, calls_place_sweep
from compliance.clearance import clearance_rules_read_once
from telephony.models import SimulatorDial
from tests.factories import AgentFactory, CallFactory, DoNotCallFactory, PhoneNumberFactory
from wordcab_admin.kernel.errors import Conflict

pytestmark = pytest.mark.django_db

NOON_WEDNESDAY = datetime(2026, 6, 17, 18, 30, tzinfo=UTC)  # 11:30 in California, 03:30 in Tokyo
CALLABLE = ["+14155550123", "+12125550131", "+13125550142"]
LISTED = "+14155550144"  # on the do-not-call list
ASLEEP = "+81312345678"  # Tokyo, in the middle of the night


@pytest.fixture
def agent():
    agent = AgentFactory()
    PhoneNumberFactory(agent=agent, number="+14155550100")
    return agent


@pytest.fixture
def heard() -> Iterator[list[dict]]:
    sends: list[dict] = []
    calls_changed.connect(lambda sender, **kwargs: sends.append(kwargs), weak=False, dispatch_uid="test.many")
    yield sends
    calls_changed.disconnect(dispatch_uid="test.many")


@pytest.fixture
def tasks_sent(monkeypatch) -> list[tuple[str, dict]]:
    sent: list[tuple[str, dict]] = []
    monkeypatch.setattr(
        "wordcab_admin.kernel.tasks.current_app.send_task",
        lambda name, **kwargs: sent.append((name, kwargs["kwargs"])),
    )
    return sent


def requests_for(numbers: list[str]) -> list[OutboundCallRequest]:
    return [
        OutboundCallRequest(to_number=number, idempotency_key=f"batch:{index}", context={"row": index})
        for index, number in enumerate(numbers)
    ]


def test_a_batch_creates_the_callable_and_refuses_a_do_not_call_number_and_one_outside_its_window(agent):
    DoNotCallFactory(number=LISTED, reason="asked us to stop")
    numbers = [CALLABLE[0], LISTED, CALLABLE[1], ASLEEP, CALLABLE[2]]
    made = calls_create_many(agent=agent, requests=requests_for(numbers), now=NOON_WEDNESDAY)
    assert sorted(made.created) == [0, 2, 4]
    assert made.refused[1].code == "do_not_call"
    assert "asked us to stop" in made.refused[1].message
    assert made.refused[3].code == "outside_calling_window"
    assert made.refused[3].extra["opens_at"]  # when to come back, as call_create's refusal says
    assert made.key_taken == []
    calls = Call.objects.order_by("pk")
    assert [call.to_number for call in calls] == [CALLABLE[0], CALLABLE[1], CALLABLE[2]]
    for index, call in made.created.items():
        stored = Call.objects.get(pk=call.pk)
        assert (stored.idempotency_key, stored.context) == (f"batch:{index}", {"row": index})
        assert (stored.status, stored.from_number, stored.owner) == (
            CallStatus.INITIATING,
            "+14155550100",
            None,
        )
        assert stored.place_due_at is not None  # in the outbox
        assert stored.decision["cleared"] is True
        assert stored.decision["do_not_call"]["number"] == numbers[index]  # its own decision
        assert stored.jurisdiction == stored.decision["jurisdictions"]["callee"]["jurisdiction"]


def test_each_call_of_a_batch_stores_what_call_create_stores_for_it(agent):
    with clearance_rules_read_once():
        made = calls_create_many(agent=agent, requests=requests_for(CALLABLE), now=NOON_WEDNESDAY)
    for index, number in enumerate(CALLABLE):
        single, created = call_create(
            agent=agent, to_number=number, context={"row": index}, now=NOON_WEDNESDAY
        )
        assert created
        batched = Call.objects.get(pk=made.created[index].pk)
        single.refresh_from_db()
        for field in ("decision", "jurisdiction", "from_number", "provider", "max_duration", "record"):
            assert getattr(batched, field) == getattr(single, field), field
        assert batched.request_fingerprint == single.request_fingerprint  # a retry by call_create matches


def test_a_key_already_taken_is_left_to_call_create_and_nothing_is_made_for_it(agent):
    existing = CallFactory(agent=agent, idempotency_key="batch:1", owner=None)
    made = calls_create_many(agent=agent, requests=requests_for(CALLABLE), now=NOON_WEDNESDAY)
    assert made.key_taken == [1]
    assert sorted(made.created) == [0, 2]
    assert Call.objects.filter(idempotency_key="batch:1").get() == existing


def test_the_batch_is_announced_once_and_placed_by_one_task_after_its_commit(
    agent, heard, tasks_sent, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        made = calls_create_many(agent=agent, requests=requests_for(CALLABLE), now=NOON_WEDNESDAY)
        assert (heard, tasks_sent) == ([], [])  # nothing before the commit
    ids = [made.created[index].pk for index in range(3)]
    assert [[call["id"] for call in send["calls"]] for send in heard] == [
        [made.created[index].public_id for index in range(3)]
    ]
    assert all(call["status"] == "initiating" for call in heard[0]["calls"])
    assert tasks_sent == [("calls.place_many", {"call_ids": ids})]


def test_a_batch_rolled_back_announces_and_places_nothing(
    agent, heard, tasks_sent, django_capture_on_commit_callbacks
):
    def create_then_fail() -> None:
        with transaction.atomic():
            calls_create_many(agent=agent, requests=requests_for(CALLABLE), now=NOON_WEDNESDAY)
            raise RuntimeError("the dispatch run failed")

    with django_capture_on_commit_callbacks(execute=True) as callbacks, pytest.raises(RuntimeError):
        create_then_fail()
    assert (callbacks, heard, tasks_sent) == ([], [], [])
    assert not Call.objects.exists()


def test_a_batch_whose_task_is_lost_is_placed_by_the_outbox_sweep(agent, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False), transaction.atomic():  # calls.place_many lost
        made = calls_create_many(agent=agent, requests=requests_for(CALLABLE), now=NOON_WEDNESDAY)
    due = max(Call.objects.values_list("place_due_at", flat=True))
    assert calls_place_sweep(now=due) == 3
    for call in made.created.values():
        call.refresh_from_db()
        assert call.provider_call_id.startswith("SIM")
        assert SimulatorDial.objects.filter(request_key=call.public_id).count() == 1


def test_a_disabled_agent_refuses_the_whole_batch(agent):
    agent.is_active = False
    agent.save()
    with pytest.raises(Conflict) as refused:
        calls_create_many(agent=agent, requests=requests_for(CALLABLE), now=NOON_WEDNESDAY)
    assert refused.value.code == "agent_disabled"
    assert not Call.objects.exists()


def test_an_insert_the_database_refuses_fails_the_whole_batch_and_writes_none_of_it(agent):
    """All or nothing: here two requests of one batch carry one key, which the lookup cannot see (neither
    is stored yet) and the database refuses (call_key_unique_unowned), as it would a key that a concurrent
    request inserted between the lookup and the insert."""
    requests = [
        *requests_for(CALLABLE[:2]),
        OutboundCallRequest(to_number=CALLABLE[2], idempotency_key="batch:0"),
    ]
    with pytest.raises(IntegrityError), transaction.atomic():
        calls_create_many(agent=agent, requests=requests, now=NOON_WEDNESDAY)
    assert not Call.objects.exists()
