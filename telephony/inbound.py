"""Which agent answers an inbound call, whatever carrier brings it: the called number (or, from a PBX, a
SIP URI naming a number or an agent) decides. Every provider's inbound webhook asks `agent_for_number`;
what cannot be routed (unknown or unassigned number, disabled agent) gets a polite message to say before
hanging up, and a log line, never an error page."""

import logging

from agents.models import Agent, PhoneNumber
from agents.phone import InvalidPhoneNumber, normalize_e164

log = logging.getLogger(__name__)

NOT_IN_SERVICE = "Sorry, this number is not in service. Goodbye."
UNAVAILABLE = "Sorry, no one can take your call right now. Please try again later. Goodbye."
CANNOT_CONNECT = "Sorry, we could not connect your call. Goodbye."


def sip_user(address: str) -> str | None:
    """'sip:+14155550111@gw.example.com;transport=tcp' → '+14155550111'; None when not a SIP URI."""
    scheme, colon, rest = address.strip().partition(":")
    if not colon or scheme.lower() not in ("sip", "sips"):
        return None
    return rest.split("@", 1)[0].split(";", 1)[0]


def agent_for_number(to: str) -> tuple[Agent | None, str, str]:
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
