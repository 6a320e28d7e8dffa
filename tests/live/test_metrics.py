"""The wallboard's metrics (issue #18, item 12): answer rate, average handle time, abandoned and failed shares,
calls waiting; in all, per agent and per campaign; for today or a chosen period; the TV mode's page."""

import itertools
import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from calls.models import Call, CallStatus, Direction, EndReason
from campaigns.models import Campaign, CampaignStatus, ContactStatus
from live.metrics import metrics_cache_clear, metrics_compute, period_from_query
from tests.core.test_csp import inline_code
from tests.factories import AgentFactory, CallFactory, ContactFactory


@pytest.fixture(autouse=True)
def fresh_metrics():
    metrics_cache_clear()
    yield
    metrics_cache_clear()


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def ended(agent, status, end_reason="", *, talk=None, campaign=None, direction=Direction.OUTBOUND, **fields):
    now = timezone.now()
    return CallFactory(
        agent=agent,
        campaign=campaign,
        direction=direction,
        status=status,
        end_reason=end_reason,
        answered_at=now - timedelta(seconds=talk) if talk is not None else None,
        ended_at=now if status in CallStatus.terminal() else None,
        **fields,
    )


@pytest.fixture
def floor(db) -> dict:
    """Two agents' day: Maria's campaign calls and Sam's own ones, every kind of outcome."""
    maria, sam = AgentFactory(name="Maria"), AgentFactory(name="Sam")
    renewals = Campaign.objects.create(name="Renewals", agent=maria, status=CampaignStatus.RUNNING)
    ended(maria, CallStatus.COMPLETED, EndReason.HANGUP, talk=60, campaign=renewals)
    ended(maria, CallStatus.COMPLETED, EndReason.HANGUP, talk=120, campaign=renewals)
    ended(maria, CallStatus.COMPLETED, EndReason.VOICEMAIL, talk=20, campaign=renewals)
    ended(maria, CallStatus.NO_ANSWER, EndReason.BUSY, campaign=renewals)
    ended(maria, CallStatus.FAILED, EndReason.ERROR, campaign=renewals, error_code="carrier_rejected")
    ended(maria, CallStatus.RINGING, campaign=renewals)  # waiting
    ended(sam, CallStatus.COMPLETED, EndReason.HANGUP, talk=30)
    ended(sam, CallStatus.NO_ANSWER, EndReason.NO_ANSWER)
    ended(sam, CallStatus.FAILED, EndReason.CANCELED, error_code="canceled")  # hung up before the answer
    ended(sam, CallStatus.NO_ANSWER, EndReason.NO_ANSWER, direction=Direction.INBOUND)  # the caller gave up
    ended(sam, CallStatus.FAILED, EndReason.LOST, talk=10, error_code="provider_lost")  # talked; end lost
    ended(sam, CallStatus.INITIATING)  # waiting
    ended(sam, CallStatus.IN_PROGRESS, talk=5)  # talking: not waiting
    ContactFactory(campaign=renewals, status=ContactStatus.PENDING, next_attempt_at=None)  # due now
    ContactFactory(
        campaign=renewals, status=ContactStatus.PENDING, next_attempt_at=timezone.now() + timedelta(hours=1)
    )
    return {"maria": maria, "sam": sam, "renewals": renewals}


def today():
    period, error = period_from_query({})
    assert error == ""
    return period


def test_todays_metrics_count_each_outcome_once_in_all_per_agent_and_per_campaign(floor):
    metrics = metrics_compute(today())
    total = metrics.total
    assert (total.calls, total.ended, total.waiting) == (13, 10, 2)
    assert (total.connected, total.voicemail, total.no_answer, total.abandoned, total.failed) == (
        4,
        1,
        2,
        2,
        1,
    )
    assert total.answer_rate == pytest.approx(0.4)
    assert total.abandoned_share == pytest.approx(0.2)
    assert total.failed_share == pytest.approx(0.1)
    assert total.average_handle_seconds == pytest.approx(
        (60 + 120 + 30) / 3, abs=0.5
    )  # the lost call's: unknown
    agents = {f.name: f for f in metrics.agents}
    assert list(agents) == ["Sam", "Maria"]  # busiest first
    maria, sam = agents["Maria"], agents["Sam"]
    assert (maria.calls, maria.ended, maria.connected, maria.waiting) == (6, 5, 2, 1)
    assert maria.average_handle_seconds == pytest.approx(90, abs=0.5)
    assert (sam.calls, sam.ended, sam.connected, sam.abandoned, sam.waiting) == (7, 5, 2, 2, 1)
    (renewals,) = metrics.campaigns
    assert (renewals.name, renewals.calls, renewals.connected, renewals.failed) == ("Renewals", 6, 2, 1)
    assert (renewals.waiting, renewals.due) == (1, 1)


def test_every_ended_call_falls_in_exactly_one_outcome_share(db):
    agent = AgentFactory()
    for status, end_reason, direction, answered in itertools.product(
        CallStatus.terminal(), EndReason.values, Direction.values, (False, True)
    ):
        ended(agent, status, end_reason, talk=5 if answered else None, direction=direction)
    total = metrics_compute(today()).total
    assert total.connected + total.voicemail + total.no_answer + total.abandoned + total.failed == total.ended


def test_the_wallboard_shows_the_metrics_per_agent_and_per_campaign(bob, floor):
    html = signed_in(bob).get("/").content.decode()
    assert '<span class="n" data-metric="answer_rate">40 %</span>' in html
    assert '<span class="n" data-metric="average_handle_time">1:10</span>' in html
    assert '<span class="n" data-metric="abandoned">20 %</span>' in html
    assert '<span class="n" data-metric="failed">10 %</span>' in html
    assert '<span class="n" data-metric="waiting" data-waiting>2</span>' in html
    (maria,) = re.findall(rf'<tr data-agent-id="{floor["maria"].public_id}">(.*?)</tr>', html, re.S)
    assert [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", maria, re.S)] == [
        "Maria", "6", "40 %", "1:30", "0 %", "20 %", "1",
    ]  # fmt: skip
    (renewals,) = re.findall(rf'<tr data-campaign-id="{floor["renewals"].public_id}">(.*?)</tr>', html, re.S)
    assert [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", renewals, re.S)] == [
        "Renewals", "6", "40 %", "1:30", "0 %", "20 %", "1", "1",
    ]  # fmt: skip


def test_a_chosen_period_counts_the_calls_of_its_days(bob, db):
    agent = AgentFactory(name="Maria")
    old = ended(agent, CallStatus.COMPLETED, EndReason.HANGUP, talk=30)
    Call.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=1))
    ended(agent, CallStatus.NO_ANSWER, EndReason.BUSY)
    client = signed_in(bob)
    calls = lambda query: re.findall(r'data-metric="calls">(\d+)<', client.get("/", query).content.decode())  # noqa: E731
    assert calls({}) == ["1"]
    assert calls({"period": "yesterday"}) == ["1"]
    assert calls({"period": "7d"}) == ["2"]
    yesterday = (timezone.localdate() - timedelta(days=1)).isoformat()
    assert calls({"period": "custom", "from": yesterday, "to": timezone.localdate().isoformat()}) == ["2"]
    html = client.get("/", {"period": "7d"}).content.decode()
    assert 'data-board-url="/dashboard/board?period=7d"' in html  # a reconnect resyncs the same period
    assert 'href="/tv/?period=7d"' in html


def test_a_bad_period_shows_today_and_says_why(bob, db):
    html = signed_in(bob).get("/", {"period": "custom", "from": "yesterday"}).content.decode()
    assert "Enter the period&#x27;s first and last day as dates." in html
    assert '<h2 id="metrics-title">Today' in html
    html = (
        signed_in(bob)
        .get("/", {"period": "custom", "from": "2026-01-01", "to": "2026-12-31"})
        .content.decode()
    )
    assert "Choose a period of at most 92 days." in html


def test_the_metrics_refresh_is_one_cached_computation_for_every_screen(
    bob, floor, django_assert_max_num_queries
):
    client = signed_in(bob)
    first = client.get("/dashboard/metrics", {"period": "today"})
    assert first.status_code == 200
    html = first.content.decode()
    assert html.lstrip().startswith('<section id="wallboard-metrics"')
    assert "data-metrics-live" in html  # today includes now: live.js refreshes it
    ended(floor["sam"], CallStatus.COMPLETED, EndReason.HANGUP, talk=30)
    with django_assert_max_num_queries(3):  # the session and the user: the metrics come from the cache
        again = client.get("/dashboard/metrics", {"period": "today"}).content.decode()
    assert re.findall(r'data-metric="calls">(\d+)<', again) == ["13"]
    metrics_cache_clear()  # as two seconds later
    fresh = client.get("/dashboard/metrics", {"period": "today"}).content.decode()
    assert re.findall(r'data-metric="calls">(\d+)<', fresh) == ["14"]
    past = client.get("/dashboard/metrics", {"period": "yesterday"}).content.decode()
    assert "data-metrics-live" not in past


def test_the_metrics_take_a_fixed_number_of_queries(bob, floor, django_assert_max_num_queries):
    CallFactory.create_batch(40, agent=floor["maria"], status=CallStatus.COMPLETED)
    client = signed_in(bob)
    client.get("/")
    metrics_cache_clear()
    with django_assert_max_num_queries(10):
        client.get("/dashboard/metrics")


def test_a_chart_without_calls_says_so_instead_of_a_peak(bob, db):
    html = signed_in(bob).get("/").content.decode()
    assert re.search(r"<span data-cpm-busy hidden>peak <b data-cpm-peak>1</b>/min</span>", html)
    assert "<span data-cpm-quiet>No calls in the last hour</span>" in html
    CallFactory()
    html = signed_in(bob).get("/").content.decode()
    assert "<span data-cpm-busy>peak <b data-cpm-peak>1</b>/min</span>" in html
    assert "<span data-cpm-quiet hidden>No calls in the last hour</span>" in html


def test_tv_mode_is_the_wallboard_without_navigation_or_inline_code(bob, floor):
    response = signed_in(bob).get("/tv/", {"period": "7d"})
    assert response.status_code == 200
    html = response.content.decode()
    assert '<body hx-headers=\'{"X-CSRFToken": "' in html
    assert 'class="tv"' in html
    assert 'class="mainnav"' not in html  # no navigation
    assert 'data-live="wallboard" data-tv' in html
    assert 'data-board-url="/dashboard/board?period=7d&amp;tv=1"' in html
    assert 'data-metric="answer_rate"' in html
    assert "<form" not in html.split('id="wallboard"')[1]  # no period form on the wall
    assert 'href="/dashboard/metrics' not in html
    assert inline_code(html) == []
    board = signed_in(bob).get("/dashboard/board", {"period": "7d", "tv": "1"}).content.decode()
    assert 'data-metrics-url="/dashboard/metrics?period=7d&amp;tv=1"' in board


def test_tv_mode_needs_a_signed_in_user(client):
    response = client.get("/tv/")
    assert response.status_code == 302
    assert "/login/" in response["Location"]
