"""Announcements gathered over a transaction (calls.announce.calls_changes_gathered): one `calls_changed`
after commit, in order, with only what committed; and the clearance's rules read once per run."""

import contextlib
from collections.abc import Iterator

import pytest
from django.db import transaction

from calls.announce import call_changed_on_commit, calls_changed, calls_changes_gathered
from compliance.clearance import call_clearance, clearance_rules_read_once
from tests.factories import AgentFactory, CallFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def heard() -> Iterator[list[dict]]:
    sends: list[dict] = []

    def hear(sender, **kwargs):
        sends.append(kwargs)

    calls_changed.connect(hear, weak=False, dispatch_uid="test.gathered")
    yield sends
    calls_changed.disconnect(dispatch_uid="test.gathered")


def test_gathered_changes_are_sent_once_after_commit_in_order(heard):
    first, second = CallFactory(), CallFactory()
    with transaction.atomic(), calls_changes_gathered():
        call_changed_on_commit(first)
        call_changed_on_commit(second)
        assert heard == []
    assert len(heard) == 1
    assert [c["id"] for c in heard[0]["calls"]] == [first.public_id, second.public_id]


def test_a_change_in_a_rolled_back_savepoint_is_never_announced(heard):
    kept, dropped = CallFactory(), CallFactory()
    with transaction.atomic(), calls_changes_gathered():
        call_changed_on_commit(kept)
        with contextlib.suppress(RuntimeError), transaction.atomic():
            call_changed_on_commit(dropped)
            raise RuntimeError("refused")
    assert [c["id"] for c in heard[0]["calls"]] == [kept.public_id]


def test_a_rolled_back_transaction_announces_nothing(heard):
    call = CallFactory()

    def change_then_fail() -> None:
        with transaction.atomic(), calls_changes_gathered():
            call_changed_on_commit(call)
            raise RuntimeError("rolled back")

    with pytest.raises(RuntimeError):
        change_then_fail()
    assert heard == []


def test_rules_read_once_give_the_same_decision_with_fewer_queries(django_assert_max_num_queries):
    agent = AgentFactory()
    numbers = ["+14155550123", "+14155550142", "+14155550195"]

    def decisions() -> list[dict]:
        return [
            call_clearance(
                agent=agent, callee_number=n, caller_number="+14155550100", direction="outbound"
            ).decision
            for n in numbers
        ]

    plain = decisions()
    with clearance_rules_read_once(), django_assert_max_num_queries(len(numbers) + 5):
        once = decisions()
    assert once == plain
