"""Inbound calls from Twilio: the number that was called decides the agent that answers.

`POST /v1/twilio/voice` → signature check → `To` → PhoneNumber → Agent → an inbound Call record and TwiML
that connects the caller to the agent over Media Streams. Anything that cannot be routed (unknown or
unassigned number, disabled agent) gets a polite message and a hang-up, and a log line, never an error page."""

import logging
from collections.abc import Mapping

from agents.models import Agent, PhoneNumber, Provider
from agents.phone import InvalidPhoneNumber, normalize_e164
from calls.services import inbound_call_record
from telephony.twilio.signature import twilio_signature_valid
from telephony.twilio.twiml import call_stream_twiml, polite_hangup_twiml
from wordcab_admin.kernel.public_url import public_url

log = logging.getLogger(__name__)

NOT_IN_SERVICE = "Sorry, this number is not in service. Goodbye."
UNAVAILABLE = "Sorry, no one can take your call right now. Please try again later. Goodbye."
CANNOT_CONNECT = "Sorry, we could not connect your call. Goodbye."


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


def sip_user(address: str) -> str | None:
    """'sip:+14155550111@gw.example.com;transport=tcp' → '+14155550111'; None when not a SIP URI."""
    scheme, colon, rest = address.strip().partition(":")
    if not colon or scheme.lower() not in ("sip", "sips"):
        return None
    return rest.split("@", 1)[0].split(";", 1)[0]


def _agent_for_number(to: str) -> tuple[Agent | None, str, str]:
    """(agent or None, refusal message, the called number as we record it).

    `To` is an E.164 number, or, for calls from a PBX through a SIP domain, a SIP URI whose user part
    is the number (`sip:+14155550111@…`) or an agent id (`sip:agent_support@…`)."""
    user = sip_user(to)
    if user is not None and user.startswith("agent_"):
        agent = Agent.objects.filter(public_id=user).first()
        if agent is None:
            log.warning("Inbound SIP call to %s: no such agent", to)
            return None, NOT_IN_SERVICE, ""
        if not agent.is_active:
            log.warning("Inbound SIP call to %s: agent %s is disabled", to, agent.public_id)
            return None, UNAVAILABLE, ""
        return agent, "", ""
    try:
        e164 = normalize_e164(user if user is not None else to)
    except InvalidPhoneNumber:
        log.warning("Inbound call to %r: not a phone number", to)
        return None, NOT_IN_SERVICE, ""
    number = PhoneNumber.objects.select_related("agent").filter(number=e164).first()
    if number is None:
        log.warning("Inbound call to %s: not one of our numbers", e164)
        return None, NOT_IN_SERVICE, e164
    if number.agent is None:
        log.warning("Inbound call to %s (%s): no agent is assigned", e164, number.public_id)
        return None, NOT_IN_SERVICE, e164
    if not number.agent.is_active:
        log.warning("Inbound call to %s: agent %s is disabled", e164, number.agent.public_id)
        return None, UNAVAILABLE, e164
    return number.agent, "", e164


def inbound_call_route(*, call_sid: str, to_number: str, from_number: str) -> str:
    """Create (once per CallSid) the inbound call and answer with the stream TwiML for its agent."""
    if not call_sid:
        log.warning("Inbound call to %s without a CallSid: hung up", to_number)
        return polite_hangup_twiml(CANNOT_CONNECT)
    agent, refusal, called = _agent_for_number(to_number)
    if agent is None:
        return polite_hangup_twiml(refusal)
    call = inbound_call_record(
        agent=agent,
        provider=Provider.TWILIO,
        provider_call_id=call_sid,
        from_number=sip_user(from_number) or from_number,
        to_number=called or to_number,
    )
    return call_stream_twiml(call)
