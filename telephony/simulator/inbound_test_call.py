"""A simulated inbound call, delivered as a carrier's gateway would deliver it: "Test this number" on a
SIP number's page (telephony/sip/views.py).

The call goes through the real inbound routing, `telephony.twilio.inbound.inbound_call_route` (the called
SIP URI → `telephony.inbound.agent_for_number` → an inbound Call, or the polite refusal the caller would
hear), and then through the lifecycle on the simulated carrier's schedule: its status events are stored as
SimulatorEvent rows and sent by the simulator's delivery (delivery.py), exactly as for the calls the
simulator places. Nobody talks on it: there is no media stream, so no recording and no opener."""

from __future__ import annotations

import random
import uuid
import xml.etree.ElementTree as ET  # noqa: S405 -- parses TwiML we generated ourselves, never input
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from calls.models import Call
from telephony.models import SimulatorEvent
from telephony.simulator.delivery import simulator_events_schedule
from telephony.simulator.provider import PlannedEvent
from telephony.twilio.inbound import inbound_call_route

# Where the simulated caller dials from: a fictional number (555-01xx is reserved for fiction).
TEST_CALLER = "+14155550100"


@dataclass(frozen=True)
class InboundTestCall:
    call: Call | None  # the inbound call, when an agent took it
    refusal: str = ""  # else what the caller heard before the gateway hung up


def inbound_test_timeline(*, call_sid: str, to_uri: str, from_uri: str, speed: float) -> list[PlannedEvent]:
    """The gateway's status events of an inbound call that an agent answers and the caller ends: ringing,
    answered, completed after a few seconds' talk (scaled by SIMULATOR_SPEED), Twilio-shaped."""
    rng = random.Random()  # noqa: S311 -- jitter, not security
    ring = rng.uniform(0.5, 1.0) / speed
    talk = rng.uniform(2.0, 4.0) / speed
    start = timezone.now()
    steps = [
        (ring / 4, {"CallStatus": "ringing"}),
        (ring, {"CallStatus": "in-progress"}),
        (ring + talk, {"CallStatus": "completed", "CallDuration": f"{talk:.3f}", "SipResponseCode": "200"}),
    ]
    return [
        PlannedEvent(
            delay,
            {
                "CallSid": call_sid,
                "AccountSid": "ACsimulator",
                "From": from_uri,
                "To": to_uri,
                "Direction": "inbound",
                "CallbackSource": "call-progress-events",
                "SequenceNumber": str(sequence),
                "Timestamp": (start + timedelta(seconds=delay)).isoformat(timespec="milliseconds"),
                **params,
            },
        )
        for sequence, (delay, params) in enumerate(steps)
    ]


def inbound_test_call_deliver(
    *, to_uri: str, provider: str, from_number: str = TEST_CALLER
) -> InboundTestCall:
    """Deliver a simulated inbound call to `to_uri` (`sip:+14155550111@<gateway domain>`) as the gateway
    would; the call (recorded with `provider`) then runs to `completed` on the simulator's schedule."""
    call_sid = "SIM" + uuid.uuid4().hex
    from_uri = f"sip:{from_number}@{settings.SIP_GATEWAY_DOMAIN}"
    with transaction.atomic():
        twiml = inbound_call_route(
            call_sid=call_sid, to_number=to_uri, from_number=from_uri, provider=provider
        )
        call = Call.objects.filter(provider=provider, provider_call_id=call_sid).first()
        if call is None:
            return InboundTestCall(call=None, refusal=_spoken(twiml))
        events = [
            SimulatorEvent(
                call_public_id=call.public_id,
                due_at=timezone.now() + timedelta(seconds=event.delay),
                params=event.params,
            )
            for event in inbound_test_timeline(
                call_sid=call_sid, to_uri=to_uri, from_uri=from_uri, speed=settings.SIMULATOR_SPEED
            )
        ]
        SimulatorEvent.objects.bulk_create(events)
        due = [event.due_at for event in events]
        transaction.on_commit(lambda: simulator_events_schedule(due))
    return InboundTestCall(call=call)


def _spoken(twiml: str) -> str:
    """What a TwiML answer says to the caller (the refusal's sentence)."""
    root = ET.fromstring(twiml)  # noqa: S314 -- our own TwiML
    return " ".join((say.text or "").strip() for say in root.iter("Say")).strip()
