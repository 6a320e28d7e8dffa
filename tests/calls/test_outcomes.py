"""One outcome label (status plus end reason) on every page, export and live update (issue #18, item 5): a busy
line reads "Busy" and a voicemail "Voicemail" everywhere, never "No Answer" or "Completed"."""

import csv
import io
import json
import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from calls.models import Call, CallStatus, EndReason
from calls.outcomes import REACHED_A_PERSON, call_object_outcome, outcome_label, reached_a_person
from calls.serializers import call_object
from campaigns.models import Campaign, CampaignStatus, ContactAttempt
from live.publisher import live_event_for_call
from tests.factories import AgentFactory, CallFactory, ContactFactory, PhoneNumberFactory

# (status, end reason, error code) → the label every page shows
LABELS = [
    (CallStatus.RINGING, "", "", "Ringing"),
    (CallStatus.IN_PROGRESS, "", "", "In Progress"),
    (CallStatus.COMPLETED, EndReason.HANGUP, "", "Completed"),
    (CallStatus.COMPLETED, EndReason.VOICEMAIL, "", "Voicemail"),
    (CallStatus.COMPLETED, EndReason.MAX_DURATION, "", "Completed (time limit)"),
    (CallStatus.NO_ANSWER, EndReason.NO_ANSWER, "", "No Answer"),
    (CallStatus.NO_ANSWER, EndReason.BUSY, "", "Busy"),
    (CallStatus.FAILED, EndReason.ERROR, "carrier_rejected", "Failed: carrier rejected"),
    (CallStatus.FAILED, EndReason.LOST, "provider_lost", "Failed: provider lost"),
    (CallStatus.FAILED, EndReason.ERROR, "call_failed", "Failed"),
    (CallStatus.FAILED, EndReason.CANCELED, "canceled", "Canceled"),
]


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def ended_call(status, end_reason, error_code="", **fields):
    now = timezone.now()
    return CallFactory(
        status=status,
        end_reason=end_reason,
        error_code=error_code,
        error_message=f"Because {error_code}" if error_code else "",
        answered_at=now - timedelta(seconds=30) if status == CallStatus.COMPLETED else None,
        ended_at=now if status in CallStatus.terminal() else None,
        **fields,
    )


@pytest.mark.parametrize(("status", "end_reason", "error_code", "label"), LABELS)
def test_each_outcome_has_one_label_from_its_status_end_reason_and_error(
    db, status, end_reason, error_code, label
):
    call = ended_call(status, end_reason, error_code)
    assert outcome_label(status, end_reason, error_code) == label
    assert call_object_outcome(call_object(call)) == label  # the same from the public call object


def test_a_busy_call_and_a_voicemail_read_the_same_on_every_page(bob):
    campaign = Campaign.objects.create(name="Renewals", agent=AgentFactory(), status=CampaignStatus.RUNNING)
    busy = ended_call(CallStatus.NO_ANSWER, EndReason.BUSY, agent=campaign.agent, campaign=campaign)
    voicemail = ended_call(CallStatus.COMPLETED, EndReason.VOICEMAIL, agent=campaign.agent, campaign=campaign)
    client = signed_in(bob)
    pages = {
        "wallboard": client.get("/").content.decode(),
        "calls list": client.get("/calls/").content.decode(),
        "campaign page": client.get(f"/campaigns/{campaign.public_id}/").content.decode(),
        "agent page": client.get(f"/agents/{campaign.agent.public_id}/").content.decode(),
    }
    for call, label in ((busy, "Busy"), (voicemail, "Voicemail")):
        badge = f'<span class="badge badge-{call.status}">{label}</span>'
        for name, html in pages.items():
            assert badge in html, (name, label)
        assert f"data-call-status>{label}</span>" in client.get(f"/calls/{call.public_id}/").content.decode()
        assert badge in client.get(f"/calls/{call.public_id}/row").content.decode()
    for html in pages.values():  # but in the status table live.js reads (calls/_status_table.html)
        rows = re.sub(r'<template id="call-status-badges">.*?</template>', "", html, flags=re.S)
        assert ">No Answer</span>" not in rows
        assert ">Completed</span>" not in rows


def test_a_numbers_page_names_the_outcome_of_the_calls_to_it(bob):
    number = PhoneNumberFactory()
    ended_call(CallStatus.NO_ANSWER, EndReason.BUSY, to_number=number.number)
    html = signed_in(bob).get(f"/numbers/{number.public_id}/").content.decode()
    assert '<span class="badge badge-no_answer">Busy</span>' in html


def test_a_failure_says_why_and_its_message_is_on_hover(bob):
    ended_call(CallStatus.FAILED, EndReason.ERROR, "invalid_number")
    html = signed_in(bob).get("/calls/").content.decode()
    assert (
        '<span class="badge badge-failed" title="Because invalid_number">Failed: invalid number</span>'
        in html
    )


def test_the_calls_export_has_the_outcome_label_and_keeps_the_codes(bob):
    busy = ended_call(CallStatus.NO_ANSWER, EndReason.BUSY)
    response = signed_in(bob).get("/calls/export.csv")
    (row,) = csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode()))
    assert row["id"] == busy.public_id
    assert (row["status"], row["end_reason"], row["outcome"]) == ("no_answer", "busy", "Busy")


def test_a_live_update_carries_the_outcome_label_beside_the_call_object(db):
    voicemail = ended_call(CallStatus.COMPLETED, EndReason.VOICEMAIL)
    message = json.loads(live_event_for_call(voicemail)["text"])
    assert message["type"] == "call.updated"
    assert message["call"]["status"] == "completed"
    assert message["outcome"] == "Voicemail"


def test_the_campaign_contacts_table_names_each_attempts_outcome(bob):
    campaign = Campaign.objects.create(
        name="Renewals",
        agent=AgentFactory(),
        status=CampaignStatus.RUNNING,
        validation={"rows": 1, "accepted": 1, "rejected": 0},
    )
    contact = ContactFactory(campaign=campaign)
    busy = ended_call(CallStatus.NO_ANSWER, EndReason.BUSY, agent=campaign.agent, campaign=campaign)
    ContactAttempt.objects.create(contact=contact, number=1, call=busy, outcome="busy")
    html = signed_in(bob).get(f"/campaigns/{campaign.public_id}/").content.decode()
    (cell,) = re.findall(rf'<a class="mono" href="/calls/{busy.public_id}/"[^>]*>.*?</small>', html, re.S)
    assert 'title="attempt 1: Busy"' in cell
    assert cell.endswith('<small class="muted">Busy</small>')


@pytest.mark.django_db
def test_a_person_was_reached_by_the_same_rule_in_python_and_in_the_database():
    """The wallboard judges each call in Python, the analytics rollup counts in SQL: one rule, two forms."""
    agent = AgentFactory()
    expected = {}
    for status in CallStatus:
        for end_reason in ["", *EndReason]:
            for answered in (False, True):
                call = CallFactory(
                    agent=agent,
                    status=status,
                    end_reason=end_reason,
                    answered_at=timezone.now() if answered else None,
                )
                expected[call.pk] = reached_a_person(status=status, end_reason=end_reason, answered=answered)
    counted = set(Call.objects.filter(REACHED_A_PERSON).values_list("pk", flat=True))
    assert counted == {pk for pk, reached in expected.items() if reached}
    assert 0 < len(counted) < len(expected)
