"""Streams that start together are started together (telephony/media/session.py streams_begin): a batch
costs the same few queries whatever its size, and each stream still gets the outcome it would get alone,
a refused one with nothing of it written."""

import threading
from dataclasses import asdict
from pathlib import Path

import pytest
from django.db import connection, connections, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from calls.models import Call, CallEvent, CallStatus
from calls.services import StreamRefused
from recordings.models import Recording, RecordingStatus
from telephony.media import session
from telephony.media.session import StreamRequest, StreamStart, stream_begin, streams_begin
from tests.factories import AgentFactory, CallFactory, ConsentOpenerFactory
from tests.helpers import wait_for
from tests.telephony.test_media_stream_starts import request_for

# The calls found and locked, the claim, the opener (jurisdiction, choice, snapshot), the lifecycle (its
# savepoint, lock, applied events, insert, write), the recordings (read, insert), the opener's audio, the
# batch's savepoint: 16 for one start or for STARTS_PER_COMMIT of one agent and jurisdiction.
QUERIES_PER_BATCH = 16


@pytest.fixture
def spool_dir(settings, tmp_path) -> Path:
    settings.RECORDINGS_SPOOL_DIR = str(tmp_path / "spool")
    return tmp_path / "spool"


@pytest.fixture
def opener(db):
    return ConsentOpenerFactory()  # the deployment default, with its audio


def ringing_calls(count: int, **fields) -> list[Call]:
    agent = fields.pop("agent", None) or AgentFactory()
    return [
        CallFactory(agent=agent, provider="twilio", status=CallStatus.RINGING, record=True, **fields)
        for _ in range(count)
    ]


def queries_to_start(calls: list[Call]) -> tuple[list[StreamStart | Exception], int]:
    requests = [request_for(call) for call in calls]
    with CaptureQueriesContext(connection) as queries:
        results = streams_begin(requests)
    return results, len(queries)


@pytest.mark.django_db
def test_a_batch_of_starts_takes_the_same_queries_for_five_calls_as_for_twenty_five(spool_dir, opener):
    few_results, few = queries_to_start(ringing_calls(5))
    many_calls = ringing_calls(session.STARTS_PER_COMMIT)
    many_results, many = queries_to_start(many_calls)

    assert (few, many) == (QUERIES_PER_BATCH, QUERIES_PER_BATCH)
    assert all(isinstance(result, StreamStart) for result in few_results + many_results)
    for call, begun in zip(many_calls, many_results, strict=True):
        stored = Call.objects.get(pk=call.pk)
        assert (stored.status, stored.stream_token_hash) == (CallStatus.IN_PROGRESS, "")
        assert stored.stream_started_at is not None
        assert stored.consent_opener["id"] == opener.pk
        starts = CallEvent.objects.filter(call=call, provider_status="stream-start", applied=True)
        assert [event.provider_event_id for event in starts] == [f"stream-start:MZ{call.pk}"]
        recording = Recording.objects.get(call=call)
        assert (recording.status, begun.recording_id) == (RecordingStatus.RECORDING, recording.pk)
        assert begun.spool is not None
        assert not begun.spool.failed
        assert begun.opener == bytes(opener.audio)
        assert begun.info.opener_seconds == 1.0


def outcome(result: StreamStart | Exception) -> tuple[str, str]:
    if isinstance(result, StreamStart):
        return ("started", result.call_public_id)
    return (type(result).__name__, str(result))


def outcomes_alone(requests: list[StreamRequest]) -> list[tuple[str, str]]:
    """What each request gets when started on its own, one after the other (then rolled back)."""
    outcomes = []
    with transaction.atomic():
        for request in requests:
            try:
                with transaction.atomic():
                    outcomes.append(outcome(stream_begin(**asdict(request))))
            except StreamRefused as refused:
                outcomes.append(outcome(refused))
        transaction.set_rollback(True)
    return outcomes


def call_record(call: Call) -> tuple:
    """Everything a stream's start writes for its call."""
    stored = Call.objects.get(pk=call.pk)
    return (
        stored.status,
        stored.stream_token_hash,
        stored.stream_started_at,
        stored.consent_opener,
        CallEvent.objects.filter(call=call).count(),
        Recording.objects.filter(call=call).exists(),
    )


@pytest.mark.django_db
def test_each_start_of_a_mixed_batch_gets_what_it_would_get_alone_and_a_refused_one_writes_nothing(
    spool_dir, opener, caplog
):
    agent = AgentFactory()
    valid, forged, others, ended, replayed, twice, by_provider = ringing_calls(7, agent=agent)
    others.agent = AgentFactory()
    others.save()
    Call.objects.filter(pk=by_provider.pk).update(provider_call_id="CA-by-provider")
    requests = {
        "valid": request_for(valid),
        "wrong token": request_for(forged, token="not-the-token"),
        "another agent's call": StreamRequest(**{**asdict(request_for(others)), "agent_id": agent.public_id}),
        "unknown call": StreamRequest(
            call_id="call_unknown",
            call_sid="",
            stream_sid="MZ0",
            agent_id=agent.public_id,
            stream_token="any",
            provider="twilio",
        ),
        "ended call": request_for(ended),
        "replayed token": request_for(replayed),
        "twice, first": request_for(twice),
        "by the provider's id": StreamRequest(
            **{**asdict(request_for(by_provider)), "call_id": "", "call_sid": "CA-by-provider"}
        ),
    }
    requests["twice, again"] = requests["twice, first"]
    Call.objects.filter(pk=ended.pk).update(status=CallStatus.COMPLETED, ended_at=timezone.now())
    assert isinstance(streams_begin([requests["replayed token"]])[0], StreamStart)  # its token is used
    refused_calls = [forged, others, ended]
    before = {call.pk: call_record(call) for call in [*refused_calls, replayed]}

    alone = outcomes_alone(list(requests.values()))
    together = [outcome(result) for result in streams_begin(list(requests.values()))]

    assert dict(zip(requests, together, strict=True)) == dict(zip(requests, alone, strict=True))
    assert dict(zip(requests, together, strict=True)) == {
        "valid": ("started", valid.public_id),
        "wrong token": ("StreamRefused", "wrong or stale stream token"),
        "another agent's call": ("StreamRefused", f"the call {others.public_id} belongs to another agent"),
        "unknown call": ("StreamRefused", "no such call"),
        "ended call": ("StreamRefused", "the call has ended (completed)"),
        "replayed token": ("StreamRefused", "the call already has a stream"),
        "twice, first": ("started", twice.public_id),
        "by the provider's id": ("started", by_provider.public_id),
        "twice, again": ("StreamRefused", "the call already has a stream"),
    }
    assert {call.pk: call_record(call) for call in [*refused_calls, replayed]} == before
    started = Call.objects.filter(pk__in=[valid.pk, twice.pk, by_provider.pk])
    assert set(started.values_list("status", flat=True)) == {CallStatus.IN_PROGRESS}
    assert CallEvent.objects.filter(call=twice).count() == 1
    assert "failed together" not in caplog.text  # judged by the batch itself, not one by one


@pytest.mark.django_db
def test_a_batch_that_fails_as_a_whole_is_started_one_stream_at_a_time(spool_dir, opener, monkeypatch):
    calls = ringing_calls(3)

    def broken(**kwargs):
        raise RuntimeError("the batched path broke")

    monkeypatch.setattr(session, "calls_opener_snapshot", broken)
    results = streams_begin([request_for(call) for call in calls])

    assert [outcome(result) for result in results] == [("started", call.public_id) for call in calls]
    assert CallEvent.objects.filter(call__in=calls).count() == 3  # the batch's own were rolled back
    assert all(result.spool is not None and result.spool.path.exists() for result in results)


@pytest.mark.postgres
def test_two_batches_racing_with_the_same_token_start_the_stream_once(
    on_postgres, transactional_db, spool_dir, opener, caplog
):
    contested, first_own, second_own = ringing_calls(3)
    token_request = request_for(contested)
    batches = [[request_for(first_own), token_request], [token_request, request_for(second_own)]]
    results: list[list[StreamStart | Exception]] = [[], []]

    def start(index: int) -> None:
        try:
            results[index] = streams_begin(batches[index])
        finally:
            connections["default"].close()

    with transaction.atomic():  # both batches wait on the contested call's row lock, then go together
        Call.objects.select_for_update().get(pk=contested.pk)
        threads = [threading.Thread(target=start, args=(index,)) for index in range(2)]
        for thread in threads:
            thread.start()
        wait_for(lambda: waiting_on_locks() == 2, what="both batches waiting on the call's lock")
    for thread in threads:
        thread.join(timeout=30)

    contested_outcomes = sorted([outcome(results[0][1])[0], outcome(results[1][0])[0]])
    assert contested_outcomes == ["StreamRefused", "started"]
    assert isinstance(results[0][0], StreamStart)  # each batch's other call started all the same
    assert isinstance(results[1][1], StreamStart)
    starts = CallEvent.objects.filter(call=contested, provider_status="stream-start")
    assert starts.count() == 1
    assert Recording.objects.filter(call=contested).count() == 1
    # The second batch judged the call as the first left it (its lock), so neither fell back to one by one.
    assert "failed together" not in caplog.text


def waiting_on_locks() -> int:
    """Backends of this test's database waiting on a lock (read afresh: within a transaction PostgreSQL
    keeps answering the activity it saw first)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return cursor.fetchone()[0]


@pytest.mark.django_db
def test_a_call_that_already_has_a_recording_starts_without_another_as_alone(spool_dir, opener):
    recorded, fresh = ringing_calls(2)
    earlier = Recording.objects.create(call=recorded, status=RecordingStatus.FAILED, failure_reason="lost")

    first, second = streams_begin([request_for(recorded), request_for(fresh)])

    assert (first.recording_id, first.spool) == (None, None)
    assert second.recording_id == Recording.objects.get(call=fresh).pk
    assert list(Recording.objects.filter(call=recorded)) == [earlier]
