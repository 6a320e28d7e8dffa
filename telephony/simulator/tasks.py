"""Celery tasks of the simulated carrier: its status events, and the synthetic recording of a talked call."""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path

from celery import shared_task

from calls.models import Call
from recordings import services as recordings
from telephony.simulator import delivery
from wordcab_admin.kernel.audio import pcm16_to_ulaw, speechlike_pcm16

log = logging.getLogger(__name__)


@shared_task(name="telephony.simulator_deliver_due", acks_late=True, ignore_result=True)
def simulator_deliver_due(until: str) -> int:
    """At the end of a bucket of time: every simulator status event due by `until` (ISO 8601), in due
    order, each applied exactly as a Twilio status callback would be."""
    return delivery.simulator_events_deliver_due(until=datetime.fromisoformat(until))


@shared_task(name="calls.simulator_deliver", acks_late=True, ignore_result=True)
def simulator_deliver(event_id: int) -> int:
    """One simulator status event: the task of one event each, which versions before the buckets sent;
    kept so that those still queued when the new version starts are delivered on time, not by the sweep."""
    return delivery.simulator_events_deliver([event_id])


@shared_task(name="telephony.simulator_sweep", acks_late=True, ignore_result=True)
def simulator_sweep() -> int:
    """The simulator's overdue events and lost recordings (tasks lost with the broker or the worker), and
    the tasks of the events that have come near."""
    return delivery.simulator_sweep()


@shared_task(name="recordings.simulate", acks_late=True)
def simulate_recording(call_id: int, talk_seconds: float) -> None:
    """A simulated call's recording: `talk_seconds` of synthetic speech-like audio as an 8 kHz WAV,
    caller and agent taking turns, stored exactly as a real call's recording is.

    The audio is deterministic (seeded by the call), so a run that Celery repeats because the worker died
    midway makes the recording again from the start over the partial spool; a recording already finished
    is left alone. A spool that cannot be written fails the recording, with its reason, not the task."""
    call = Call.objects.get(pk=call_id)
    recording = recordings.recording_start(call=call, start_over=True)
    if recording is None:
        return  # a repeated task: an earlier run already finished it
    spool = recordings.recording_spool_open(recording_id=recording.pk, path=Path(recording.local_path))
    caller = speechlike_pcm16(seconds=talk_seconds, seed=call.pk)
    agent = speechlike_pcm16(seconds=talk_seconds, seed=call.pk + 1_000_003)
    for second, (caller_pcm, agent_pcm) in enumerate(zip(caller, agent, strict=True)):
        if spool.failed:
            break  # nothing more can be written: the reason is kept for recording_spool_close
        silence = b"\x00" * len(caller_pcm)
        turn_is_callers = (second // 3) % 2 == 1  # the agent speaks first, then turns of about 3 s
        spool.add_agent(pcm16_to_ulaw(silence if turn_is_callers else agent_pcm))
        spool.add_caller(pcm16_to_ulaw(caller_pcm if turn_is_callers else silence))
    recordings.recording_spool_close(spool=spool)
