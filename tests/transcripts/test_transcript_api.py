"""The transcript of a call: stored in order by the runtime seam's service, read by GET
/v1/calls/{id}/transcript, searched by GET /v1/transcripts/search, and the roles that may do each."""

import pytest
from django.db import connection
from django.utils import timezone

from calls.models import CallStatus
from tests.factories import CallFactory
from transcripts.models import CallAnalysis, TranscriptSegment
from transcripts.services import transcript_segment_add

pytestmark = pytest.mark.django_db


def say(call, speaker, start, text, confidence=None):
    return transcript_segment_add(
        call_id=call.public_id,
        speaker=speaker,
        start=start,
        end=start + 1.5,
        text=text,
        confidence=confidence,
    )


def test_the_transcript_lists_the_calls_lines_in_the_order_they_were_said(api, bob):
    call = CallFactory(status=CallStatus.IN_PROGRESS)
    say(call, "agent", 0.0, "Hello, this is the clinic.", 1.0)
    say(call, "agent", 4.0, "Can you make it on Tuesday?", 1.0)
    say(call, "caller", 2.0, "hi there", 0.8)  # stored last (speech-to-text), said second

    response = api(bob).get(f"/v1/calls/{call.public_id}/transcript")

    assert response.status_code == 200
    assert response.json() == {
        "segments": [
            {
                "speaker": "agent",
                "start": 0.0,
                "end": 1.5,
                "text": "Hello, this is the clinic.",
                "confidence": 1.0,
            },
            {"speaker": "caller", "start": 2.0, "end": 3.5, "text": "hi there", "confidence": 0.8},
            {
                "speaker": "agent",
                "start": 4.0,
                "end": 5.5,
                "text": "Can you make it on Tuesday?",
                "confidence": 1.0,
            },
        ]
    }


def test_lines_are_numbered_per_call_and_blank_text_stores_nothing():
    call, other = CallFactory(), CallFactory()
    first = say(call, "agent", 0, "one")
    say(other, "agent", 0, "elsewhere")
    second = say(call, "caller", 1, "two")

    assert (first.seq, second.seq) == (1, 2)
    assert say(call, "caller", 3, "   ") is None
    assert TranscriptSegment.objects.filter(call=call).count() == 2


def test_the_transcript_of_an_unknown_call_is_a_404_in_the_error_shape(api, bob):
    response = api(bob).get("/v1/calls/call_nope/transcript")

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "call_not_found"


def test_the_transcript_needs_a_signed_in_role(api):
    call = CallFactory()

    assert api().get(f"/v1/calls/{call.public_id}/transcript").status_code in (401, 403)


def test_search_finds_the_calls_whose_transcript_matches_newest_first_with_the_matching_line(api, bob):
    older, newer, unrelated = CallFactory(), CallFactory(), CallFactory()
    say(older, "agent", 0, "Your appointment is on Tuesday")
    say(older, "caller", 2, "I need to reschedule my appointment")
    say(newer, "caller", 1, "Please reschedule the appointment for Friday")
    say(unrelated, "caller", 1, "Wrong number")

    response = api(bob).get("/v1/transcripts/search", {"q": "reschedule appointment"})

    assert response.status_code == 200
    body = response.json()
    assert [match["call"]["id"] for match in body["results"]] == [newer.public_id, older.public_id]
    assert body["results"][1]["segment"]["text"] == "I need to reschedule my appointment"
    assert body["results"][0]["segment"]["speaker"] == "caller"
    assert set(body) == {"next", "previous", "results"}


def test_search_pages_like_every_list(api, bob):
    calls = [CallFactory() for _ in range(3)]
    for call in calls:
        say(call, "caller", 0, "call me back tomorrow")

    first = api(bob).get("/v1/transcripts/search", {"q": "tomorrow", "limit": 2}).json()
    second = api(bob).get(first["next"]).json()

    assert [m["call"]["id"] for m in first["results"]] == [calls[2].public_id, calls[1].public_id]
    assert [m["call"]["id"] for m in second["results"]] == [calls[0].public_id]


def test_search_without_words_is_a_400_naming_q(api, bob):
    response = api(bob).get("/v1/transcripts/search", {"q": "  "})

    assert response.status_code == 400
    assert response.json()["error"]["field"] == "q"


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL full-text search: set DATABASE_URL")
def test_on_postgresql_search_matches_word_forms_through_the_full_text_index(api, bob):
    call = CallFactory()
    say(call, "caller", 0, "I was rescheduling appointments all day")

    response = api(bob).get("/v1/transcripts/search", {"q": "reschedule appointment"})

    assert [m["call"]["id"] for m in response.json()["results"]] == [call.public_id]
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_indexes WHERE indexname = 'transcript_segment_text_search'")
        assert cursor.fetchone() is not None


def test_the_call_object_carries_its_analysis_or_null_and_the_list_reads_it_without_a_query_per_row(
    api, bob, django_assert_max_num_queries
):
    ended = [CallFactory(status=CallStatus.COMPLETED, ended_at=timezone.now()) for _ in range(5)]
    CallAnalysis.objects.create(
        call=ended[0], summary="Confirmed.", outcome="appointment_confirmed", sentiment=0.5, analyser="test"
    )
    client = api(bob)

    detail = client.get(f"/v1/calls/{ended[0].public_id}").json()
    assert detail["analysis"] == {
        "summary": "Confirmed.",
        "outcome": "appointment_confirmed",
        "sentiment": 0.5,
    }
    assert client.get(f"/v1/calls/{ended[1].public_id}").json()["analysis"] is None

    with django_assert_max_num_queries(6):  # the key, the user, the page: the same for 5 calls as for 500
        listed = client.get("/v1/calls").json()["results"]
    assert {call["id"]: call["analysis"] is not None for call in listed}[ended[0].public_id] is True
    assert sum(call["analysis"] is not None for call in listed) == 1


def test_the_call_page_shows_the_transcript_lines_and_the_analysis_with_a_re_run_button_for_operators(
    client, alice, bob
):
    call = CallFactory(status=CallStatus.COMPLETED, ended_at=timezone.now())
    say(call, "agent", 0.0, "Hello, this is the clinic.")
    say(call, "caller", 61.0, "I need to reschedule")
    CallAnalysis.objects.create(
        call=call, summary="Asked to move it.", outcome="rescheduled", sentiment=-0.25, analyser="t"
    )

    client.force_login(alice)
    page = client.get(f"/calls/{call.public_id}/").content.decode()

    assert 'data-start="61.000"' in page
    assert "I need to reschedule" in page
    assert "1:01" in page
    assert "Asked to move it." in page
    assert "Rescheduled" in page
    assert f'data-analyse="/v1/calls/{call.public_id}/analysis"' in page
    assert "js/transcript.js" in page
    client.force_login(bob)
    assert "data-analyse=" not in client.get(f"/calls/{call.public_id}/").content.decode()
