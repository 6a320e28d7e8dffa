"""Property: whatever the recordings, policies and holds, the sweep never deletes a recording that an active
hold names (by its call, agent, campaign, or either of its numbers), and deletes every other recording
that its most specific policy says has expired. The expected outcome is worked out here, independently of
the code under test (HoldIndex, RetentionTable, the SQL exclusion)."""

from dataclasses import dataclass

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from campaigns.models import Campaign
from compliance import holds, retention
from compliance.holds import HoldTarget
from recordings.models import RecordingStatus
from recordings.retention import retention_sweep, retention_sweep_plan
from tests.factories import AgentFactory
from tests.recordings.retention_helpers import in_store, status_of, stored_recording

AGENTS, CAMPAIGNS = 3, 2
NUMBERS = ["+14155550101", "+14155550102", "+14155550103", "+442071838750"]
JURISDICTIONS = ["US-CA", "US-NY", "GB"]

PROPERTY = settings(
    max_examples=100,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@dataclass(frozen=True)
class Rec:
    agent: int
    campaign: int | None
    jurisdiction: str
    to_number: str
    from_number: str
    days_ago: int


recs = st.builds(
    Rec,
    agent=st.integers(0, AGENTS - 1),
    campaign=st.none() | st.integers(0, CAMPAIGNS - 1),
    jurisdiction=st.sampled_from(JURISDICTIONS),
    to_number=st.sampled_from(NUMBERS),
    from_number=st.sampled_from(NUMBERS),
    days_ago=st.integers(0, 60),
)
# (agent index or None, jurisdiction or "") -> days; the scope must name something
policies = st.dictionaries(
    st.tuples(st.none() | st.integers(0, AGENTS - 1), st.sampled_from(["", *JURISDICTIONS])).filter(
        lambda scope: scope != (None, "")
    ),
    st.integers(0, 60),
    max_size=6,
)
# (kind, index into that kind's pool, released?)
hold_specs = st.lists(
    st.tuples(st.sampled_from(list(HoldTarget)), st.integers(0, 11), st.booleans()), min_size=1, max_size=5
)


def expected_days(rec: Rec, policy_days: dict, default: int) -> int:
    for scope in [(rec.agent, rec.jurisdiction), (rec.agent, ""), (None, rec.jurisdiction)]:
        if scope in policy_days:
            return policy_days[scope]
    return default


@pytest.mark.usefixtures("recording_store")
def test_no_recording_under_a_hold_is_ever_deleted_and_every_other_expired_one_is(db, carol, settings):
    settings.RETENTION_DEFAULT_DAYS = 30

    @PROPERTY
    @given(world=st.lists(recs, min_size=3, max_size=12), policy_days=policies, hold_list=hold_specs)
    def check(world: list[Rec], policy_days: dict, hold_list: list) -> None:
        with transaction.atomic():
            agents = [AgentFactory() for _ in range(AGENTS)]
            campaigns = [Campaign.objects.create(name=f"c{i}", agent=agents[0]) for i in range(CAMPAIGNS)]
            recordings = [
                stored_recording(
                    agent=agents[r.agent],
                    campaign=None if r.campaign is None else campaigns[r.campaign],
                    jurisdiction=r.jurisdiction,
                    to_number=r.to_number,
                    from_number=r.from_number,
                    days_ago=r.days_ago + 0.01,  # clear of the cutoff by more than the test's own run time
                )
                for r in world
            ]
            for (agent, jurisdiction), days in policy_days.items():
                retention.retention_policy_create(
                    actor=carol,
                    agent=None if agent is None else agents[agent],
                    jurisdiction=jurisdiction,
                    days=days,
                )
            held_calls, held_agents, held_campaigns, held_numbers = set(), set(), set(), set()
            for kind, index, released in hold_list:
                target, bucket, key = {
                    HoldTarget.CALL: lambda i: (
                        recordings[i % len(recordings)].call.public_id,
                        held_calls,
                        None,
                    ),
                    HoldTarget.AGENT: lambda i: (agents[i % AGENTS], held_agents, i % AGENTS),
                    HoldTarget.CAMPAIGN: lambda i: (
                        campaigns[i % CAMPAIGNS].public_id,
                        held_campaigns,
                        i % CAMPAIGNS,
                    ),
                    HoldTarget.PHONE_NUMBER: lambda i: (NUMBERS[i % len(NUMBERS)], held_numbers, None),
                }[kind](index)
                hold = holds.legal_hold_place(actor=carol, kind=kind, target=target, reason="Matter 7")
                if released:
                    holds.legal_hold_release(actor=carol, hold=hold)
                else:
                    bucket.add(target if key is None else key)

            def is_held(i: int) -> bool:
                r = world[i]
                return (
                    recordings[i].call.public_id in held_calls
                    or r.agent in held_agents
                    or (r.campaign is not None and r.campaign in held_campaigns)
                    or r.to_number in held_numbers
                    or r.from_number in held_numbers
                )

            def is_expired(i: int) -> bool:
                return world[i].days_ago >= expected_days(world[i], policy_days, 30)

            plan = retention_sweep_plan()
            assert plan.would_delete == sum(1 for i in range(len(world)) if is_expired(i) and not is_held(i))
            assert plan.held == sum(1 for i in range(len(world)) if is_expired(i) and is_held(i))
            kept = {recordings[i].call.public_id for i in range(len(world)) if is_expired(i) and is_held(i)}
            assert {k.call_id for k in plan.kept} == kept
            assert all(k.holds and k.why for k in plan.kept)  # each says which hold keeps it, and why

            retention_sweep(batch_size=3, parallel=2)
            for i, recording in enumerate(recordings):
                if is_held(i) or not is_expired(i):
                    assert status_of(recording) == RecordingStatus.STORED, (world[i], "kept")
                    assert in_store(recording)
                else:
                    assert status_of(recording) == RecordingStatus.DELETED, (world[i], "deleted")
                    assert not in_store(recording)
            transaction.set_rollback(True)

    check()
