"""Streams that start together (a campaign's calls answered in the same second) are claimed together, each
as if alone: one refused start leaves the others whole (telephony/media/session.py streams_begin)."""

import pytest

from calls.models import Call, CallStatus
from calls.services import StreamRefused
from recordings.models import Recording, RecordingStatus
from telephony.media.session import StreamRequest, StreamStart, streams_begin
from tests.factories import AgentFactory, CallFactory
from tests.telephony.streams import stream_parameters

pytestmark = pytest.mark.django_db(transaction=True)


def request_for(call: Call, *, token: str | None = None) -> StreamRequest:
    parameters = stream_parameters(call)
    return StreamRequest(
        call_id=parameters["call_id"],
        call_sid="",
        stream_sid=f"MZ{call.pk}",
        agent_id=call.agent.public_id,
        stream_token=parameters["stream_token"] if token is None else token,
        provider="twilio",
    )


def test_a_refused_start_in_a_burst_leaves_the_other_starts_of_the_burst_whole(settings, tmp_path):
    settings.RECORDINGS_SPOOL_DIR = str(tmp_path / "spool")
    agent = AgentFactory()
    first, forged, third = (
        CallFactory(agent=agent, provider="twilio", status=CallStatus.RINGING, record=True) for _ in range(3)
    )
    requests = [request_for(first), request_for(forged, token="not-the-token"), request_for(third)]

    results = streams_begin(requests)

    assert [type(result) for result in results] == [StreamStart, StreamRefused, StreamStart]
    statuses = {call.pk: call.status for call in Call.objects.all()}
    assert statuses == {
        first.pk: CallStatus.IN_PROGRESS,
        forged.pk: CallStatus.RINGING,
        third.pk: CallStatus.IN_PROGRESS,
    }
    assert set(Recording.objects.values_list("call_id", "status")) == {
        (first.pk, RecordingStatus.RECORDING),
        (third.pk, RecordingStatus.RECORDING),
    }
    assert all(result.spool is not None and not result.spool.failed for result in (results[0], results[2]))


def test_more_starts_than_one_commit_holds_are_all_started(settings, tmp_path):
    settings.RECORDINGS_SPOOL_DIR = str(tmp_path / "spool")
    agent = AgentFactory()
    calls = [CallFactory(agent=agent, provider="twilio", status=CallStatus.RINGING) for _ in range(30)]

    results = streams_begin([request_for(call) for call in calls])  # 25 in one commit, then 5

    assert [result.call_pk for result in results] == [call.pk for call in calls]
    assert Call.objects.filter(status=CallStatus.IN_PROGRESS).count() == 30
