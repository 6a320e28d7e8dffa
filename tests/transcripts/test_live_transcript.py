"""The runtime seam writes the transcript as the call goes, and /ws/calls shows it live, in order: the
demo runtime's own lines as agent lines, the caller's speech through the speech-to-text task (a real
Celery worker), each line a `transcript.segment` message."""

import asyncio

import pytest
from channels.db import database_sync_to_async

from calls.models import CallStatus
from compliance.tts import synthesize
from live.publisher import live_events_flush
from telephony.runtime import CallInfo
from telephony.runtime.demo import DemoRuntime, greeting_text
from tests.factories import CallFactory
from tests.helpers import wait_for
from tests.live.test_live_consumer import messages, session_cookie, watching
from transcripts.models import TranscriptSegment
from transcripts.services import transcript_segment_add
from wordcab_admin.kernel.audio import ulaw_frames

pytestmark = pytest.mark.django_db(transaction=True)


def test_transcript_lines_reach_the_calls_watchers_as_transcript_segment_messages_in_order(bob):
    call = CallFactory(status=CallStatus.IN_PROGRESS)
    lines = [
        ("agent", "Hello there."),
        ("caller", "Hi."),
        ("agent", "Is Tuesday fine?"),
        ("caller", "Yes it is."),
    ]
    add = database_sync_to_async(transcript_segment_add)
    cookie = session_cookie(bob)

    async def scenario():
        async with watching([cookie], query=f"call_id={call.public_id}") as ws:
            for index, (speaker, text) in enumerate(lines):
                await add(
                    call_id=call.public_id,
                    speaker=speaker,
                    start=index * 2.0,
                    end=index * 2.0 + 1.5,
                    text=text,
                )
            await database_sync_to_async(live_events_flush)()
            return await messages(ws, len(lines))

    received = asyncio.run(scenario())

    assert [message["type"] for message in received] == ["transcript.segment"] * 4
    assert {message["call_id"] for message in received} == {call.public_id}
    assert [(m["segment"]["speaker"], m["segment"]["text"]) for m in received] == lines
    assert received[1]["segment"] == {
        "speaker": "caller",
        "start": 2.0,
        "end": 3.5,
        "text": "Hi.",
        "confidence": None,
    }


class Outlet:
    """The carrier's side of a stream, as a runtime sees it (telephony.runtime.MediaOutlet)."""

    def __init__(self):
        self.audio = bytearray()

    async def send_audio(self, ulaw: bytes) -> None:
        self.audio += ulaw

    async def send_mark(self, name: str) -> None:
        return None

    async def clear(self) -> None:
        return None


def test_the_demo_runtime_transcribes_its_own_lines_and_the_callers_speech(celery_worker_thread):
    call = CallFactory(status=CallStatus.IN_PROGRESS, context={"customer_name": "Sam"})
    info = CallInfo(
        call_id=call.public_id, agent_id=call.agent.public_id, agent_name="Reminder bot", language="en-US",
        direction="outbound", context={"customer_name": "Sam"}, opener_seconds=3.0,
    )  # fmt: skip
    caller_speech = synthesize("i would like to book an appointment for tuesday morning")
    silence = b"\xff" * 8000  # one second of μ-law silence

    async def scenario():
        runtime = DemoRuntime(call=info, outlet=Outlet())
        await runtime.start()
        for frame in ulaw_frames(silence + caller_speech + silence):
            await runtime.audio(frame)
        await runtime.stop()
        await asyncio.gather(*runtime._sending)  # the utterance handed to the broker

    asyncio.run(scenario())

    wait_for(
        lambda: TranscriptSegment.objects.filter(call=call, speaker="caller").exists(),
        timeout=60,
        what="the caller's line",
    )
    caller_line, agent_line = TranscriptSegment.objects.filter(call=call).order_by("start")
    assert (caller_line.speaker, agent_line.speaker) == ("caller", "agent")
    assert agent_line.text == greeting_text(agent_name="Reminder bot", context={"customer_name": "Sam"})
    assert agent_line.start == pytest.approx(3.0, abs=0.5)  # after the consent opener
    assert caller_line.start == pytest.approx(1.0, abs=0.3)  # one second of silence, then the caller
    assert caller_line.end == pytest.approx(1.0 + len(caller_speech) / 8000, abs=0.5)
    heard = set(caller_line.text.split())
    assert len(heard & {"i", "would", "like", "book", "appointment", "tuesday", "morning"}) >= 3, (
        caller_line.text
    )
