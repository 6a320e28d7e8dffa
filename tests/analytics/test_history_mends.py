"""The four spots bench_history mended keep answering the same: the calls list's agent and campaign filters
(now on the foreign key, looked up first), the calls export (now read a page at a time below the last id), the
audit page's action filter (now one index probe per action) and a campaign's calls per status (now from the
`(campaign, status, id)` index, and on the wallboard from the analytics rollup)."""

import csv
import io
from datetime import timedelta

import pytest
from django.utils import timezone

from analytics.rollup import calls_rollup
from analytics.selectors import campaign_call_counts
from calls.models import Call, CallStatus
from calls.views import EXPORT_PAGE
from campaigns.selectors import call_counts_by_campaign
from compliance.audit import audit_event_write
from compliance.views import audit_actions
from tests.factories import AgentFactory, CallFactory, CampaignFactory, UserFactory
from wordcab_admin.kernel.roles import Role


@pytest.fixture
def viewer_api(api, db):
    return api(UserFactory(username="vera", role=Role.VIEWER))


def _ids(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [call["id"] for call in response.json()["results"]]


def test_the_agent_filter_lists_that_agents_calls_only_and_an_unknown_agent_none(viewer_api):
    quiet, busy = AgentFactory(public_id="agent_quiet"), AgentFactory(public_id="agent_busy")
    theirs = [CallFactory(agent=quiet).public_id for _ in range(2)]
    CallFactory.create_batch(3, agent=busy)
    assert _ids(viewer_api.get("/v1/calls", {"agent_id": "agent_quiet"})) == theirs[::-1]
    assert _ids(viewer_api.get("/v1/calls", {"agent_id": "agent_nobody"})) == []


def test_the_campaign_filter_lists_that_campaigns_calls_only_and_an_unknown_campaign_none(viewer_api):
    campaign = CampaignFactory(public_id="campaign_quiet")
    theirs = CallFactory(agent=campaign.agent, campaign=campaign).public_id
    CallFactory.create_batch(2, agent=campaign.agent)
    assert _ids(viewer_api.get("/v1/calls", {"campaign_id": "campaign_quiet"})) == [theirs]
    assert _ids(viewer_api.get("/v1/calls", {"campaign_id": "campaign_nobody"})) == []


def test_the_export_pages_through_every_call_newest_first_once(client, db):
    client.force_login(UserFactory(username="vera", role=Role.VIEWER))
    agent = AgentFactory()
    total = EXPORT_PAGE + 3  # past one page
    Call.objects.bulk_create([Call(agent=agent, to_number="+14155550123") for _ in range(total)])
    response = client.get("/calls/export.csv")
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    expected = list(Call.objects.order_by("-id").values_list("public_id", flat=True))
    assert [row["id"] for row in rows] == expected
    assert len(expected) == total


def test_the_audit_action_filter_lists_each_action_once_in_order(db):
    for action in ["number.assigned", "agent.created", "number.assigned", "agent.updated", "agent.created"]:
        audit_event_write(actor=None, action=action, object_type="agent", object_id="agent_x")
    assert audit_actions() == ["agent.created", "agent.updated", "number.assigned"]


def test_an_empty_audit_log_has_no_actions_to_filter_by(db):
    assert audit_actions() == []


def test_a_campaigns_calls_are_counted_per_status(db):
    campaign = CampaignFactory()
    for status in [CallStatus.COMPLETED, CallStatus.COMPLETED, CallStatus.RINGING]:
        CallFactory(agent=campaign.agent, campaign=campaign, status=status)
    CallFactory(agent=campaign.agent, status=CallStatus.COMPLETED)  # not the campaign's
    counts = call_counts_by_campaign([campaign.pk])[campaign.pk]
    assert (counts["completed"], counts["ringing"], counts["total"]) == (2, 1, 3)


def test_the_wallboards_campaign_counts_from_the_rollup_equal_the_calls_tables(db):
    """Before the first rollup (everything counted live), after it (from the days), and after a late change
    that only the next rollup rewrites (that hour counted live)."""
    campaign, other = CampaignFactory(), CampaignFactory()
    long_ago = timezone.now() - timedelta(days=40)
    for status in [CallStatus.COMPLETED, CallStatus.NO_ANSWER, CallStatus.COMPLETED]:
        call = CallFactory(agent=campaign.agent, campaign=campaign, status=status)
        Call.objects.filter(pk=call.pk).update(created_at=long_ago, updated_at=long_ago)
    CallFactory(agent=other.agent, campaign=other, status=CallStatus.RINGING)  # today's, still ringing
    ids = [campaign.pk, other.pk]
    assert campaign_call_counts(ids) == call_counts_by_campaign(ids)
    calls_rollup()
    assert campaign_call_counts(ids) == call_counts_by_campaign(ids)
    Call.objects.filter(campaign=campaign, status=CallStatus.NO_ANSWER).update(
        status=CallStatus.COMPLETED, updated_at=timezone.now()
    )
    counted = campaign_call_counts(ids)
    assert counted == call_counts_by_campaign(ids)
    assert (counted[campaign.pk]["completed"], counted[campaign.pk]["total"]) == (3, 3)
    assert counted[other.pk]["ringing"] == 1
