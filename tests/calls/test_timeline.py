"""The call page's timeline shows the repeats the carrier is known to send quietly, as "already known", and
only surprises as problems (issue #18, item 6)."""

import re

from django.test import Client

from calls.models import CallStatus
from tests.factories import CallFactory
from tests.helpers import apply_event, apply_status


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def timeline_rows(html: str) -> list[tuple[str, str]]:
    """(result, text of the result cell) of each timeline row, in order."""
    (body,) = re.findall(r'<table class="timeline">.*?<tbody>(.*?)</tbody>', html, re.S)
    rows = re.findall(r'<tr class="event-(\w+)" data-result="\w+">(.*?)</tr>', body, re.S)
    return [
        (result, re.sub(r"<[^>]+>|\s+", " ", cells.split('data-label="Result">')[1]).strip())
        for result, cells in rows
    ]


def carrier_says(call, status: str, sequence: int) -> None:
    apply_status(
        provider="simulator",
        source="simulator",
        call_public_id=call.public_id,
        params={"CallSid": f"SIM{call.pk}", "CallStatus": status, "SequenceNumber": str(sequence)},
    )


def test_a_normal_calls_timeline_starts_quietly_with_the_initiated_it_already_knew(bob):
    call = CallFactory()  # created initiating, as every outbound call
    for sequence, status in enumerate(["initiated", "ringing", "in-progress", "completed"]):
        carrier_says(call, status, sequence)
    html = signed_in(bob).get(f"/calls/{call.public_id}/").content.decode()
    rows = timeline_rows(html)
    assert [result for result, _ in rows] == ["known", "applied", "applied", "applied"]
    assert rows[0][1].startswith("already known")
    assert "duplicate: the call is already initiating" in html  # the lifecycle's reason, one click away
    assert "event-surprise" not in html
    assert "⚠" not in html
    assert "ignored:" not in html


def test_repeats_and_late_news_are_known_and_a_contradiction_is_a_surprise(bob):
    call = CallFactory()
    carrier_says(call, "ringing", 1)
    carrier_says(call, "ringing", 1)  # the carrier retried a callback: a repeat
    carrier_says(call, "initiated", 0)  # late news of a state the call has gone past
    carrier_says(call, "in-progress", 2)
    carrier_says(call, "completed", 3)
    carrier_says(call, "completed", 4)  # the end, again: after the end, the same end
    apply_event(call=call, status=CallStatus.FAILED, source="watchdog")  # an end that contradicts it
    rows = timeline_rows(signed_in(bob).get(f"/calls/{call.public_id}/").content.decode())
    assert [result for result, _ in rows] == [
        "applied",
        "known",
        "known",
        "applied",
        "applied",
        "known",
        "surprise",
    ]
    assert rows[1][1].startswith("already known")
    assert rows[2][1].startswith("already known: the call had moved on")
    assert rows[5][1].startswith("already known: the call had ended")
    assert rows[6][1].startswith("⚠ ignored: failed arrived after the call ended completed")


def test_a_status_the_lifecycle_does_not_allow_is_shown_as_a_problem(bob):
    call = CallFactory(status=CallStatus.IN_PROGRESS)
    apply_event(
        call=call, status=CallStatus.NO_ANSWER, source="twilio"
    )  # answered calls cannot go unanswered
    rows = timeline_rows(signed_in(bob).get(f"/calls/{call.public_id}/").content.decode())
    assert rows == [("surprise", "⚠ ignored: not allowed: in_progress → no_answer")]
