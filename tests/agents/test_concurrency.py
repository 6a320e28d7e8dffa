"""Two requests grabbing one number at the same moment: one wins, the other gets a 409 (PostgreSQL)."""

import threading

import pytest
from django.db import connection

from agents.models import PhoneNumber
from compliance.models import AuditEvent
from tests.factories import AgentFactory, PhoneNumberFactory


def race(api, user, bodies: dict[str, dict]) -> dict[str, int]:
    """PATCH each agent at once (released together by a barrier); their status codes."""
    clients = {agent_id: api(user) for agent_id in bodies}
    barrier = threading.Barrier(len(bodies))
    results: dict[str, int] = {}

    def patch(agent_id: str) -> None:
        try:
            barrier.wait(timeout=10)
            response = clients[agent_id].patch(f"/v1/agents/{agent_id}", bodies[agent_id], format="json")
            results[agent_id] = response.status_code
        finally:
            connection.close()

    threads = [threading.Thread(target=patch, args=(agent_id,)) for agent_id in bodies]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    return results


@pytest.mark.postgres
@pytest.mark.parametrize("existing", [True, False], ids=["number in the inventory", "number not yet added"])
def test_two_concurrent_patches_grabbing_one_number_one_wins_the_other_gets_409(
    on_postgres, transactional_db, api, alice, existing
):
    for _ in range(5):  # a few rounds: the interleaving differs each time
        PhoneNumber.objects.all().delete()
        first, second = AgentFactory(), AgentFactory()
        if existing:
            PhoneNumberFactory(number="+14155550111")
        body = {"phone_numbers": ["+14155550111"]}
        results = race(api, alice, {first.public_id: body, second.public_id: body})
        assert sorted(results.values()) == [200, 409], results
        winner = next(a for a, status in results.items() if status == 200)
        number = PhoneNumber.objects.select_related("agent").get(number="+14155550111")
        assert number.agent.public_id == winner
        assigned = AuditEvent.objects.filter(action="number.assigned", object_id=number.public_id)
        assert [e.after["agent_id"] for e in assigned] == [winner]


@pytest.mark.postgres
def test_crossing_patches_over_two_numbers_never_deadlock(on_postgres, transactional_db, api, alice):
    first, second = AgentFactory(), AgentFactory()
    PhoneNumberFactory(number="+14155550111")
    PhoneNumberFactory(number="+14155550122")
    results = race(
        api,
        alice,
        {
            first.public_id: {"phone_numbers": ["+14155550111", "+14155550122"]},
            second.public_id: {"phone_numbers": ["+14155550122", "+14155550111"]},
        },
    )
    assert sorted(results.values()) == [200, 409], results
    holders = set(PhoneNumber.objects.values_list("agent__public_id", flat=True))
    assert len(holders) == 1
