"""One status table, one badge, one call row: the live pages embed the lifecycle's status table (what
static/js/live.js reads instead of copying it), and every call row draws its badge and cells from the same
server partials (calls/_call_row.html, calls/_status_badge.html)."""

import json
import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.template.loader import render_to_string
from django.test import Client
from django.utils import timezone

from calls.lifecycle import RANK
from calls.models import CallStatus
from campaigns.models import Campaign, CampaignStatus
from tests.factories import AgentFactory, CallFactory

LIVE_JS = Path(__file__).resolve().parents[2] / "static" / "js" / "live.js"


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def expected_table() -> dict:
    """The table as the lifecycle defines it (calls/models.py CallStatus, calls/lifecycle.py RANK)."""
    return {
        "order": [s.value for s in CallStatus],
        "rank": {s.value: RANK[s] for s in CallStatus},
        "active": [s.value for s in CallStatus if s in CallStatus.active()],
        "terminal": [s.value for s in CallStatus if s in CallStatus.terminal()],
        "labels": {s.value: s.label for s in CallStatus},
        "talking": CallStatus.IN_PROGRESS.value,
    }


def embedded_table(html: str) -> dict:
    (script,) = re.findall(r'<script id="call-statuses" type="application/json">(.*?)</script>', html, re.S)
    return json.loads(script)


def template_badges(html: str) -> dict[str, str]:
    """The badges live.js clones, by state: `<template id="call-status-badges">`."""
    (template,) = re.findall(r'<template id="call-status-badges">(.*?)</template>', html, re.S)
    return dict(re.findall(r'<span data-badge-for="([^"]+)">(<span class="badge.*?</span>)</span>', template))


def row(html: str, row_id: str) -> str:
    (found,) = re.findall(rf'<tr id="{re.escape(row_id)}"[^>]*>(.*?)</tr>', html, re.S)
    return found


def cells(row_html: str) -> list[str]:
    return re.findall(r"<td[^>]*>.*?</td>", row_html, re.S)


def badge(html: str) -> str:
    (found,) = re.findall(r'<span class="badge [^"]*"[^>]*>[^<]*</span>', html)
    return found


def server_badge(status: CallStatus) -> str:
    return render_to_string("calls/_status_badge.html", {"status": status.value, "label": status.label})


@pytest.fixture
def campaign_calls(bob) -> tuple[Campaign, dict[str, object]]:
    """A running campaign with one call in each state (ended ones answered, so they have a duration)."""
    agent = AgentFactory(name="Survey bot")
    campaign = Campaign.objects.create(name="Spring survey", agent=agent, status=CampaignStatus.RUNNING)
    now = timezone.now()
    calls = {}
    for status in CallStatus:
        answered = status in (CallStatus.IN_PROGRESS, CallStatus.COMPLETED)
        calls[status.value] = CallFactory(
            agent=agent,
            campaign=campaign,
            status=status,
            answered_at=now - timedelta(seconds=42) if answered else None,
            ended_at=now if status in CallStatus.terminal() else None,
        )
    return campaign, calls


def test_every_live_page_embeds_the_lifecycles_status_table_once(bob, campaign_calls):
    campaign, calls = campaign_calls
    client = signed_in(bob)
    call = calls["ringing"]
    pages = ["/", "/calls/", f"/calls/{call.public_id}/", f"/campaigns/{campaign.public_id}/"]
    for path in pages:
        html = client.get(path).content.decode()
        assert html.count('id="call-statuses"') == 1, path
        assert embedded_table(html) == expected_table(), path
        badges = template_badges(html)
        assert list(badges) == [s.value for s in CallStatus], path
        assert all(badges[s.value] == server_badge(s) for s in CallStatus), path
    # The resync partials replace a part of the page: they must not bring a second table.
    partials = [
        "/dashboard/board",
        f"/campaigns/{campaign.public_id}/board",
        f"/calls/{call.public_id}/partial",
    ]
    for path in partials:
        assert 'id="call-statuses"' not in client.get(path).content.decode(), path


def test_the_table_covers_every_state_of_the_lifecycle():
    table = expected_table()
    assert set(table["rank"]) == set(table["order"]) == set(table["labels"])
    assert set(table["active"]) | set(table["terminal"]) == set(table["order"])
    assert table["talking"] in table["active"]


def test_a_changed_label_reaches_the_page_without_touching_the_script(bob, monkeypatch):
    monkeypatch.setattr(CallStatus.NO_ANSWER, "_label_", "Nobody picked up")
    html = signed_in(bob).get("/").content.decode()
    assert embedded_table(html)["labels"]["no_answer"] == "Nobody picked up"
    assert template_badges(html)["no_answer"] == '<span class="badge badge-no_answer">Nobody picked up</span>'


def test_live_js_names_no_state_and_no_label():
    """The table is data for live.js: no status name (as a string or a key) nor label is written in it."""
    source = LIVE_JS.read_text()
    for status in CallStatus:
        v = re.escape(status.value)
        assert not re.search(rf"[\"']{v}[\"']|[{{,]\s*{v}\s*:|\.{v}\b", source), status.value
        assert not re.search(rf"[\"']{re.escape(status.label)}[\"']", source), status.label


def test_the_board_rows_and_the_list_rows_show_the_same_badge_for_each_state(bob, campaign_calls):
    campaign, calls = campaign_calls
    client = signed_in(bob)
    wallboard = client.get("/").content.decode()
    calls_list = client.get("/calls/").content.decode()
    campaign_page = client.get(f"/campaigns/{campaign.public_id}/").content.decode()
    for status in CallStatus:
        call = calls[status.value]
        expected = server_badge(status)
        assert f">{status.label}</span>" in expected
        assert badge(row(wallboard, f"live-call-{call.public_id}")) == expected, status
        assert badge(row(campaign_page, f"live-call-{call.public_id}")) == expected, status
        assert badge(row(calls_list, f"call-row-{call.public_id}")) == expected, status
        live_row = client.get(f"/calls/{call.public_id}/row").content.decode()
        assert badge(row(live_row, f"call-row-{call.public_id}")) == expected, status
        call_page = client.get(f"/calls/{call.public_id}/").content.decode()
        (heading,) = re.findall(r"<h1>(.*?)</h1>", call_page, re.S)
        assert badge(heading) == expected.replace(">", " data-call-status>", 1), status


def test_the_board_row_is_a_column_subset_of_the_list_row(bob, campaign_calls):
    campaign, calls = campaign_calls
    done = calls["completed"]
    client = signed_in(bob)
    board_cells = cells(row(client.get("/").content.decode(), f"live-call-{done.public_id}"))
    list_cells = cells(row(client.get("/calls/").content.decode(), f"call-row-{done.public_id}"))
    # call, agent, direction, from, to, status (its outcome once ended), started, duration; the board: call,
    # agent, to, status, duration
    assert len(list_cells) == 8
    assert board_cells == [list_cells[i] for i in (0, 1, 4, 5, 7)]
    assert "42 s" in board_cells[-1]
    # and the blank row live.js clones has the fields it fills, in the same columns
    html = client.get("/").content.decode()
    (blank,) = re.findall(r'<template id="call-row-template">(.*?)</template>', html, re.S)
    fields = re.findall(r'data-field="([^"]+)"', blank)
    assert fields == ["id", "agent", "phone_number", "status", "duration"]
