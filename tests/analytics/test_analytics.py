"""The analytics' numbers against a hand-counted fixture: 12 calls of two agents over two days, one campaign,
two of our numbers, every kind of outcome. Every field of every group is asserted, read from the hourly rollup,
live before any rollup, and after a late change to an old call."""

import csv
import io
from datetime import UTC, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from analytics.models import CallDaily, CallHourly
from analytics.rollup import calls_rollup
from analytics.selectors import call_analytics, days_period
from calls.models import Call, CallStatus, Direction, EndReason
from tests.factories import AgentFactory, CallFactory, CampaignFactory, UserFactory
from wordcab_admin.kernel.roles import Role

OUTBOUND_LINE = "+14155550100"
INBOUND_LINE = "+14155550199"
TODAY = timezone.now().astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
DAY_1, DAY_2 = TODAY - timedelta(days=2), TODAY - timedelta(days=1)
PERIOD = {"from": (DAY_1 - timedelta(days=1)).isoformat(), "to": TODAY.isoformat()}  # three whole days

C, F, N = CallStatus.COMPLETED, CallStatus.FAILED, CallStatus.NO_ANSWER
# (day, agent, in the campaign, inbound, status, end reason, error code, talk seconds or None, answered)
CALLS = [
    (DAY_1, "alpha", True, False, C, EndReason.HANGUP, "", 120, True),
    (DAY_1, "alpha", True, False, C, EndReason.HANGUP, "", 60, True),
    (DAY_1, "alpha", True, False, C, EndReason.VOICEMAIL, "", 30, True),
    (DAY_1, "alpha", True, False, N, EndReason.NO_ANSWER, "", None, False),
    (DAY_1, "beta", False, False, N, EndReason.BUSY, "", None, False),
    (DAY_1, "beta", False, True, C, EndReason.HANGUP, "", 90, True),
    (DAY_2, "alpha", True, False, C, EndReason.HANGUP, "", 180, True),
    (DAY_2, "alpha", True, False, F, EndReason.ERROR, "carrier_rejected", None, False),
    (DAY_2, "beta", True, False, F, EndReason.CANCELED, "", None, False),
    (DAY_2, "beta", False, False, C, EndReason.HANGUP, "", 240, True),
    (DAY_2, "beta", False, True, C, EndReason.HANGUP, "", 30, True),
    (DAY_2, "beta", False, False, F, EndReason.LOST, "call_failed", None, True),  # answered, end lost
]


def _group(group, label, calls, connected, rate, minutes, handle, outcomes):
    return {
        "group": group,
        "label": label,
        "calls": calls,
        "connected": connected,
        "connect_rate": rate,
        "minutes": minutes,
        "average_handle_seconds": handle,
        "outcomes": outcomes,
    }


EXPECTED = {
    "agent": [
        _group("agent_alpha", "Alpha", 6, 3, 0.5, 6.5, 120.0,
               {"Completed": 3, "Voicemail": 1, "No Answer": 1, "Failed: carrier rejected": 1}),
        _group("agent_beta", "Beta", 6, 4, 0.6667, 6.0, 120.0,
               {"Completed": 3, "Busy": 1, "Canceled": 1, "Failed": 1}),
    ],
    "campaign": [
        _group("campaign_reminders", "Reminders", 7, 3, 0.4286, 6.5, 120.0,
               {"Completed": 3, "Voicemail": 1, "No Answer": 1, "Failed: carrier rejected": 1, "Canceled": 1}),
        _group(None, "No campaign", 5, 4, 0.8, 6.0, 120.0, {"Completed": 3, "Busy": 1, "Failed": 1}),
    ],
    "number": [
        _group(OUTBOUND_LINE, OUTBOUND_LINE, 10, 5, 0.5, 10.5, 150.0,
               {"Completed": 4, "Voicemail": 1, "No Answer": 1, "Busy": 1, "Failed: carrier rejected": 1,
                "Canceled": 1, "Failed": 1}),
        _group(INBOUND_LINE, INBOUND_LINE, 2, 2, 1.0, 2.0, 60.0, {"Completed": 2}),
    ],
    "day": [
        _group((DAY_1 - timedelta(days=1)).date().isoformat(), (DAY_1 - timedelta(days=1)).date().isoformat(),
               0, 0, None, 0.0, None, {}),
        _group(DAY_1.date().isoformat(), DAY_1.date().isoformat(), 6, 3, 0.5, 5.0, 90.0,
               {"Completed": 3, "Voicemail": 1, "No Answer": 1, "Busy": 1}),
        _group(DAY_2.date().isoformat(), DAY_2.date().isoformat(), 6, 4, 0.6667, 7.5, 150.0,
               {"Completed": 3, "Failed: carrier rejected": 1, "Canceled": 1, "Failed": 1}),
    ],
}  # fmt: skip


@pytest.fixture
def history(db):
    """The twelve calls, created at 10:00 UTC + a minute each on their day, last written then too."""
    agents = {
        "alpha": AgentFactory(public_id="agent_alpha", name="Alpha"),
        "beta": AgentFactory(public_id="agent_beta", name="Beta"),
    }
    campaign = CampaignFactory(public_id="campaign_reminders", name="Reminders", agent=agents["alpha"])
    made = []
    for i, (day, agent, in_campaign, inbound, status, reason, error, talk, answered) in enumerate(CALLS):
        created = day + timedelta(hours=10, minutes=i)
        answered_at = created + timedelta(seconds=8) if answered else None
        ended_at = answered_at + timedelta(seconds=talk) if talk is not None else None
        call = CallFactory(
            agent=agents[agent],
            campaign=campaign if in_campaign else None,
            direction=Direction.INBOUND if inbound else Direction.OUTBOUND,
            from_number="+12125550000" if inbound else OUTBOUND_LINE,
            to_number=INBOUND_LINE if inbound else "+12125550123",
            status=status,
            end_reason=reason,
            error_code=error,
            answered_at=answered_at,
            ended_at=ended_at if reason != EndReason.LOST else None,
        )
        Call.objects.filter(pk=call.pk).update(created_at=created, updated_at=created + timedelta(minutes=5))
        made.append(call)
    return made


@pytest.fixture
def viewer_api(api, db):
    return api(UserFactory(username="vera", role=Role.VIEWER))


def _analytics(client, group_by: str, **extra) -> dict:
    response = client.get("/v1/analytics/calls", {"group_by": group_by, **PERIOD, **extra})
    assert response.status_code == 200, response.content
    return response.json()


@pytest.mark.parametrize("group_by", ["agent", "campaign", "number", "day"])
def test_each_grouping_matches_the_hand_count_read_from_the_rollup(history, viewer_api, group_by):
    calls_rollup()
    assert CallHourly.objects.exists()
    body = _analytics(viewer_api, group_by)
    assert body["group_by"] == group_by
    assert body["results"] == EXPECTED[group_by]
    assert body["total"]["calls"] == 12
    assert body["total"]["connected"] == 7


@pytest.mark.parametrize("group_by", ["agent", "campaign", "number", "day"])
def test_each_grouping_is_exact_before_any_rollup_has_run(history, viewer_api, group_by):
    assert not CallHourly.objects.exists()
    assert _analytics(viewer_api, group_by)["results"] == EXPECTED[group_by]


def test_the_rollup_run_twice_writes_the_same_rows(history):
    assert calls_rollup() == 2  # the 10:00 hour of each day
    first = sorted(
        CallHourly.objects.values_list("hour", "agent_id", "status", "end_reason", "calls", "talk_seconds")
    )
    assert calls_rollup() == 0  # nothing changed since: nothing rewritten
    calls_rollup()
    again = sorted(
        CallHourly.objects.values_list("hour", "agent_id", "status", "end_reason", "calls", "talk_seconds")
    )
    assert first == again
    assert sum(row[4] for row in again) == 12


def test_each_days_rows_are_the_sum_of_its_hours(history):
    calls_rollup()
    measures = ("calls", "ended", "connected", "talk_seconds", "handle_seconds", "handled_calls")
    for day in (DAY_1, DAY_2):
        hourly = CallHourly.objects.filter(hour__gte=day, hour__lt=day + timedelta(days=1))
        daily = CallDaily.objects.filter(day=day.date())
        for measure in measures:
            assert sum(daily.values_list(measure, flat=True)) == sum(hourly.values_list(measure, flat=True))
    assert sum(CallDaily.objects.values_list("calls", flat=True)) == 12


def test_a_late_change_to_an_old_call_is_counted_at_once_and_rewritten_into_its_hour(history, viewer_api):
    calls_rollup()
    no_answer = history[3]  # alpha's unanswered call of day 1 turns out answered: a late status event
    answered = no_answer.created_at + timedelta(seconds=5)
    Call.objects.filter(pk=no_answer.pk).update(
        status=CallStatus.COMPLETED,
        end_reason=EndReason.HANGUP,
        answered_at=answered,
        ended_at=answered + timedelta(seconds=300),
        updated_at=timezone.now(),  # as the lifecycle writes it
    )
    alpha = _analytics(viewer_api, "agent")["results"][0]
    assert (alpha["connected"], alpha["minutes"], alpha["average_handle_seconds"]) == (4, 11.5, 165.0)
    assert alpha["outcomes"] == {"Completed": 4, "Voicemail": 1, "Failed: carrier rejected": 1}

    assert calls_rollup() == 1  # day 1's hour, and only it
    hour = DAY_1 + timedelta(hours=10)
    alphas = {"agent__public_id": "agent_alpha", "status": "no_answer"}
    assert not CallHourly.objects.filter(hour=hour, **alphas).exists()
    assert not CallDaily.objects.filter(day=DAY_1.date(), **alphas).exists()
    assert _analytics(viewer_api, "agent")["results"][0] == alpha


def test_a_period_that_starts_off_the_hour_counts_its_partial_hours_live(history, viewer_api):
    calls_rollup()
    # 10:03 to 10:30 of day 1: calls 4, 5 and 6 (created 10:03, 10:04, 10:05)
    start, end = DAY_1 + timedelta(hours=10, minutes=3), DAY_1 + timedelta(hours=10, minutes=30)
    body = _analytics(viewer_api, "agent", **{"from": start.isoformat(), "to": end.isoformat()})
    assert [(g["group"], g["calls"], g["connected"]) for g in body["results"]] == [
        ("agent_beta", 2, 1),
        ("agent_alpha", 1, 0),
    ]


def test_days_are_the_viewers_days(history, viewer_api):
    """Calls at 10:00 UTC are on the same date in New York (05:00 or 06:00): each day keeps its six."""
    with timezone.override(ZoneInfo("America/New_York")):
        report = call_analytics("day", *days_period(DAY_1.date(), DAY_2.date()))
    assert [(g.group, g.calls) for g in report.groups] == [
        (DAY_1.date().isoformat(), 6),
        (DAY_2.date().isoformat(), 6),
    ]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"group_by": "hour"}, "group_by"),
        ({"from": "yesterday"}, "from"),
        ({"to": "2025-13-40"}, "to"),
        ({"from": "2025-02-01", "to": "2025-01-01"}, "to"),
        ({"from": "2023-01-01", "to": "2025-01-01"}, "to"),
    ],
)
def test_a_bad_query_is_a_400_naming_its_field(viewer_api, query, field):
    response = viewer_api.get("/v1/analytics/calls", query)
    assert response.status_code == 400
    assert response.json()["error"]["field"] == field


def test_the_api_defaults_to_the_last_seven_days_per_day(viewer_api):
    body = viewer_api.get("/v1/analytics/calls").json()
    assert body["group_by"] == "day"
    assert len(body["results"]) == 7
    assert body["total"]["calls"] == 0


def test_the_page_shows_charts_and_the_table_for_a_viewer(history, client):
    client.force_login(UserFactory(username="vera", role=Role.VIEWER))
    query = {"period": "custom", "from": DAY_1.date().isoformat(), "to": DAY_2.date().isoformat()}
    with timezone.override(UTC):
        page = client.get("/analytics/", {**query, "group_by": "day"})
    assert page.status_code == 200
    html = page.content.decode()
    assert html.count("<svg") == 3  # the line over days, calls and connect rate, outcomes
    assert "Export CSV" in html
    for figure in ("Completed 3", "Voicemail 1", "50%", "67%"):
        assert figure in html


def test_the_page_explains_an_empty_period(client, db):
    client.force_login(UserFactory(username="vera", role=Role.VIEWER))
    html = client.get("/analytics/", {"period": "today", "group_by": "agent"}).content.decode()
    assert "No calls in this period." in html
    assert "<svg" not in html


def test_the_page_says_what_was_wrong_with_a_bad_period(client, db):
    client.force_login(UserFactory(username="vera", role=Role.VIEWER))
    html = client.get("/analytics/", {"period": "custom", "from": "soon"}).content.decode()
    assert "Enter the period&#x27;s first and last day as dates." in html


def test_the_csv_has_a_row_per_group_and_the_total(history, client):
    client.force_login(UserFactory(username="vera", role=Role.VIEWER))
    query = {"period": "custom", "from": DAY_1.date().isoformat(), "to": DAY_2.date().isoformat()}
    with timezone.override(UTC):
        response = client.get("/analytics/export.csv", {**query, "group_by": "agent"})
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0] == ["group", "label", "calls", "connected", "connect_rate", "minutes",
                       "average_handle_seconds", "outcomes"]  # fmt: skip
    assert rows[1] == ["agent_alpha", "Alpha", "6", "3", "0.5", "6.5", "120.0",
                       "Completed: 3; Failed: carrier rejected: 1; No Answer: 1; Voicemail: 1"]  # fmt: skip
    assert rows[2][:7] == ["agent_beta", "Beta", "6", "4", "0.6667", "6.0", "120.0"]
    assert rows[3][:4] == ["total", "All calls", "12", "7"]


def test_signed_out_visitors_get_neither_the_page_nor_the_numbers(client, api, db):
    assert client.get("/analytics/").status_code == 302
    assert api().get("/v1/analytics/calls").status_code == 401
