"""Celery tasks of the simulated carrier: its status events, and the synthetic recording of a talked call."""

from __future__ import annotations

import logging

from celery import shared_task

from calls.lifecycle import EventSource, call_events_apply
from calls.models import Call
from recordings import services as recordings
from telephony.twilio.status import provider_status_event
from wordcab_admin.kernel.audio import pcm16_to_ulaw, speechlike_pcm16
from wordcab_admin.kernel.errors import NotFound

log = logging.getLogger(__name__)


@shared_task(name="calls.simulator_deliver", acks_late=True, ignore_result=True)
def simulator_deliver(call_public_id: str, params: dict[str, str]) -> bool:
    """One simulator status event, applied exactly as a Twilio status callback would be."""
    event = provider_status_event(
        provider="simulator", params=params, source=EventSource.SIMULATOR, call_public_id=call_public_id
    )
    result = call_events_apply([event])[0]
    if isinstance(result, NotFound):
        log.info("simulator event for a call that no longer exists: %s", call_public_id)
        return False
    if isinstance(result, Exception):
        raise result
    return result.applied


@shared_task(name="recordings.simulate", acks_late=True)
def simulate_recording(call_id: int, talk_seconds: float) -> None:
    """A simulated call's recording: `talk_seconds` of synthetic speech-like audio as an 8 kHz WAV,
    caller and agent taking turns, stored exactly as a real call's recording is."""
    call = Call.objects.get(pk=call_id)
    recording = recordings.recording_start(call=call)
    if recording is None:
        return  # a retried task: the first run already made it
    spool = recordings.StereoSpool(recordings.spool_path_for(call))
    caller = speechlike_pcm16(seconds=talk_seconds, seed=call.pk)
    agent = speechlike_pcm16(seconds=talk_seconds, seed=call.pk + 1_000_003)
    for second, (caller_pcm, agent_pcm) in enumerate(zip(caller, agent, strict=True)):
        silence = b"\x00" * len(caller_pcm)
        turn_is_callers = (second // 3) % 2 == 1  # the agent speaks first, then turns of about 3 s
        spool.add_agent(pcm16_to_ulaw(silence if turn_is_callers else agent_pcm))
        spool.add_caller(pcm16_to_ulaw(caller_pcm if turn_is_callers else silence))
    spool.close()
    recordings.recording_finish(recording_id=recording.pk)
