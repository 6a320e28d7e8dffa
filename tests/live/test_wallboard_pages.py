"""The wallboard and its resync endpoint: what each role sees."""

import json
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from calls.models import Call, CallStatus
from campaigns.models import Campaign, CampaignStatus, ContactStatus, SkipReason
from live.wallboard import agent_occupancy, call_counts, calls_per_minute, ended_calls, wallboard_context
from tests.factories import AgentFactory, CallFactory, CampaignFactory, ContactFactory


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_wallboard_shows_counts_active_calls_and_occupancy(bob):
    agent = AgentFactory(name="Reminder bot")
    ringing = CallFactory(agent=agent, status=CallStatus.RINGING)
    CallFactory(agent=agent, status=CallStatus.IN_PROGRESS)
    CallFactory(agent=agent, status=CallStatus.COMPLETED)
    CallFactory(agent=agent, status=CallStatus.NO_ANSWER)
    page = signed_in(bob).get("/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'data-live="wallboard"' in html
    assert f'id="live-call-{ringing.public_id}"' in html
    assert "Reminder bot" in html
    counts = page.context["counts"]
    assert (counts["ringing"], counts["in_progress"], counts["completed"], counts["no_answer"]) == (
        1,
        1,
        1,
        1,
    )
    assert page.context["agents"][0]["active"] == 2
    state = json.loads(html.split('id="wallboard-state" type="application/json">')[1].split("</script>")[0])
    assert set(state["calls"]) == {c.public_id for c in Call.objects.filter(status__in=CallStatus.active())}
    assert len(state["chart"]) == 60


def test_the_board_partial_is_what_the_page_resyncs_from(bob):
    call = CallFactory(status=CallStatus.RINGING)
    response = signed_in(bob).get("/dashboard/board")
    assert response.status_code == 200
    assert f'id="live-call-{call.public_id}"' in response.content.decode()
    assert "<html" not in response.content.decode()


def test_the_board_needs_a_signed_in_user(client):
    assert client.get("/dashboard/board").status_code == 302


def test_calls_per_minute_counts_each_minute_of_the_last_hour(db):
    from datetime import timedelta

    from django.utils import timezone

    now = timezone.now()
    for minutes_ago in (0, 0, 5, 59, 61):
        call = CallFactory()
        Call.objects.filter(pk=call.pk).update(created_at=now - timedelta(minutes=minutes_ago))
    buckets = calls_per_minute(now=now)
    assert len(buckets) == 60
    assert buckets[-1]["n"] == 2
    assert buckets[-6]["n"] == 1
    assert buckets[0]["n"] == 1
    assert sum(b["n"] for b in buckets) == 4


def test_the_wallboard_queries_do_not_grow_with_calls(db, django_assert_max_num_queries):
    agent = AgentFactory()
    counts = []
    for _ in range(2):
        CallFactory.create_batch(30, agent=agent, status=CallStatus.RINGING)
        CallFactory.create_batch(30, agent=agent, status=CallStatus.COMPLETED)
        with CaptureQueriesContext(connection) as queries:
            wallboard_context()
        counts.append(len(queries))
    assert counts[0] == counts[1]  # twice the calls, the same queries
    with django_assert_max_num_queries(18):  # a fixed number of narrow, index-backed queries
        wallboard_context()


@pytest.mark.parametrize("path", ["/", "/dashboard/board"])
def test_every_role_sees_the_wallboard(path, ada, alice, bob, carol):
    for user in (ada, alice, bob, carol):
        assert signed_in(user).get(path).status_code == 200


def test_the_wallboard_lists_running_campaigns_with_their_progress(bob):
    agent = AgentFactory()
    running = Campaign.objects.create(name="Reminders", agent=agent, status=CampaignStatus.RUNNING)
    Campaign.objects.create(name="Old one", agent=agent, status=CampaignStatus.COMPLETED)
    CallFactory(agent=agent, campaign=running, status=CallStatus.COMPLETED)
    CallFactory(agent=agent, campaign=running, status=CallStatus.RINGING)
    html = signed_in(bob).get("/").content.decode()
    assert f'href="/campaigns/{running.public_id}/"' in html
    assert "Old one" not in html
    (campaign,) = wallboard_context()["campaigns"]
    assert (campaign.progress.done, campaign.progress.total, campaign.progress.unit) == (1, 2, "calls ended")


def test_the_wallboard_counts_a_running_campaigns_contacts_done_once_it_has_contacts(bob):
    running = CampaignFactory(status=CampaignStatus.RUNNING)
    ContactFactory(campaign=running, status=ContactStatus.COMPLETED)
    ContactFactory(campaign=running, status=ContactStatus.SKIPPED, skip_reason=SkipReason.DUPLICATE)
    ContactFactory(campaign=running, status=ContactStatus.CALLING)
    CallFactory(agent=running.agent, campaign=running, status=CallStatus.RINGING)
    html = signed_in(bob).get("/").content.decode()
    assert 'data-done-states="completed failed no_answer skipped"' in html
    (campaign,) = wallboard_context()["campaigns"]
    assert (campaign.progress.done, campaign.progress.total, campaign.progress.unit) == (
        2,
        3,
        "contacts done",
    )


def test_the_wallboard_counts_live_calls_of_any_day_and_ended_calls_of_today_only(db):
    agent = AgentFactory(name="Busy")
    quiet = AgentFactory(name="Quiet")
    AgentFactory(name="Retired", is_active=False)
    yesterday = timezone.now() - timedelta(days=1, hours=1)
    old_live = CallFactory(agent=agent, status=CallStatus.IN_PROGRESS)
    old_done = CallFactory(agent=agent, status=CallStatus.COMPLETED)
    Call.objects.filter(pk__in=[old_live.pk, old_done.pk]).update(created_at=yesterday)
    CallFactory(agent=agent, status=CallStatus.RINGING)
    CallFactory(agent=quiet, status=CallStatus.FAILED)
    counts = call_counts()
    assert (counts["ringing"], counts["in_progress"], counts["completed"], counts["failed"]) == (1, 1, 0, 1)
    busy, idle = agent_occupancy()
    assert (busy["name"], busy["active"], busy["talking"], busy["today"]) == ("Busy", 2, 1, 1)
    assert (idle["name"], idle["active"], idle["talking"], idle["today"]) == ("Quiet", 0, 0, 1)


def test_recently_ended_calls_are_the_newest_whatever_their_outcome(db):
    agent = AgentFactory()
    outcomes = [CallStatus.COMPLETED, CallStatus.FAILED, CallStatus.NO_ANSWER] * 5
    made = [CallFactory(agent=agent, status=status) for status in outcomes]
    CallFactory(agent=agent, status=CallStatus.RINGING)
    assert [c.pk for c in ended_calls(limit=4)] == [c.pk for c in reversed(made)][:4]
