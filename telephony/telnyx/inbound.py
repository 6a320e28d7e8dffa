"""Inbound calls from Telnyx: the number that was called decides the agent that answers.

`call.initiated` (direction incoming) → the agent (telephony/inbound.py) → an inbound Call record (once per
call_control_id: a redelivered webhook finds it) → Call Control `answer` with the media stream to that
agent. What cannot be routed is answered with a refusal in its client_state, told its sentence
(`call.answered` → `speak`) and hung up once it has been said (`call.speak.ended` → `hangup`), as Twilio's
`<Say>` then `<Hangup>`."""

from __future__ import annotations

import logging

from agents.models import Provider
from calls.models import Call
from calls.providers import ProviderRejected
from calls.services import inbound_call_record
from telephony.inbound import CANNOT_CONNECT, agent_for_number, sip_user
from telephony.media.websocket import text_or_empty
from telephony.telnyx.commands import (
    call_client_state,
    client_state_encode,
    stream_options,
    telnyx_client,
    translate,
    translated_errors,
)
from telephony.telnyx.status import TelnyxEvent

log = logging.getLogger(__name__)

REFUSAL_VOICE = "female"
REFUSAL_LANGUAGE = "en-US"


def is_incoming_call(event: TelnyxEvent) -> bool:
    return event.event_type == "call.initiated" and event.payload.get("direction") == "incoming"


def is_refusal(event: TelnyxEvent) -> bool:
    return "refuse" in event.state


def _command(action: str, call_control_id: str, **options) -> None:
    """One Call Control command. A refusal for good (the caller already hung up, say) is logged; a
    transient failure is raised as ProviderUnavailable, so the webhook fails and Telnyx delivers it again."""
    client = telnyx_client()
    try:
        getattr(client.calls.actions, action)(call_control_id, **options)
    except translated_errors() as exc:
        failure = translate(exc, action)
        if isinstance(failure, ProviderRejected):
            log.warning("Telnyx refused to %s call %s: %s", action, call_control_id, failure.message)
            return
        raise failure from exc


def inbound_call_answer(event: TelnyxEvent) -> Call | None:
    """Answer an incoming call: with the media stream to the called number's agent, or with a refusal."""
    call_control_id = event.call_control_id
    to_number, from_number = text_or_empty(event.payload.get("to")), text_or_empty(event.payload.get("from"))
    if not call_control_id:
        log.warning("Telnyx incoming call to %s without a call_control_id: ignored", to_number)
        return None
    agent, refusal, called = agent_for_number(to_number)
    if agent is None:
        _command("answer", call_control_id, client_state=client_state_encode({"refuse": refusal}))
        return None
    call = inbound_call_record(
        agent=agent,
        provider=Provider.TELNYX,
        provider_call_id=call_control_id,
        from_number=sip_user(from_number) or from_number,
        to_number=called or to_number,
    )
    _command("answer", call_control_id, client_state=call_client_state(call), **stream_options(call))
    return call


def refusal_continue(event: TelnyxEvent) -> None:
    """The next step of a refused call: say why once it is answered, hang up once that has been said."""
    if not event.call_control_id:
        return
    if event.event_type == "call.answered":
        _command(
            "speak",
            event.call_control_id,
            payload=event.state.get("refuse") or CANNOT_CONNECT,
            voice=REFUSAL_VOICE,
            language=REFUSAL_LANGUAGE,
            client_state=client_state_encode(event.state),
        )
    elif event.event_type in ("call.speak.ended", "call.speak.failed"):
        _command("hangup", event.call_control_id)
