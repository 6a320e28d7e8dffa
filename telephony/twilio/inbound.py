"""Inbound calls from Twilio: the number that was called decides the agent that answers.

`POST /v1/twilio/voice` → signature check → `To` → the agent (telephony/inbound.py) → an inbound Call
record and TwiML that connects the caller to the agent over Media Streams. Anything that cannot be routed
gets a polite message and a hang-up (telephony/inbound.py says which)."""

import logging
from collections.abc import Mapping

from agents.models import Provider
from calls.services import inbound_call_record
from telephony.inbound import CANNOT_CONNECT, agent_for_number, sip_user
from telephony.twilio.signature import twilio_signature_valid
from telephony.twilio.twiml import call_stream_twiml, polite_hangup_twiml
from wordcab_admin.kernel.public_url import public_url

log = logging.getLogger(__name__)


def inbound_voice_answer(*, path: str, params: Mapping[str, str], signature: str | None) -> str | None:
    """The TwiML to answer with, or None when the request is not provably from Twilio."""
    if not twilio_signature_valid(public_url(path), params, signature):
        log.warning("Refused a Twilio voice webhook with a missing or invalid signature (%s)", path)
        return None
    return inbound_call_route(
        call_sid=params.get("CallSid", ""),
        to_number=params.get("To", ""),
        from_number=params.get("From", ""),
    )


def inbound_call_route(
    *, call_sid: str, to_number: str, from_number: str, provider: str = Provider.TWILIO
) -> str:
    """Create (once per CallSid) the inbound call and answer with the stream TwiML for its agent.

    `provider` is the call's: Twilio's own, or `sip` for the simulated call a SIP number's "Test this
    number" delivers as the gateway would (telephony/simulator/inbound_test_call.py)."""
    if not call_sid:
        log.warning("Inbound call to %s without a CallSid: hung up", to_number)
        return polite_hangup_twiml(CANNOT_CONNECT)
    agent, refusal, called = agent_for_number(to_number)
    if agent is None:
        return polite_hangup_twiml(refusal)
    call = inbound_call_record(
        agent=agent,
        provider=provider,
        provider_call_id=call_sid,
        from_number=sip_user(from_number) or from_number,
        to_number=called or to_number,
    )
    return call_stream_twiml(call)
