"""What we answer at Plivo's answer URL: the `<Stream>` XML that bridges the call into its agent.

A call we placed names itself (`?call_id=` in the answer URL): Plivo calls the answer URL once the callee
picks up, which is the call's `in-progress`. An inbound call is routed by the number that was called
(telephony/inbound.py), recorded once per CallUUID, and answered the same way; one that cannot be routed
gets a polite message and a hang-up."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from agents.models import Provider
from calls.lifecycle import call_events_apply
from calls.models import Call, CallStatus
from calls.services import inbound_call_record
from telephony.inbound import CANNOT_CONNECT, agent_for_number, sip_user
from telephony.plivo.status import plivo_status_event
from telephony.plivo.xml import call_stream_xml, polite_hangup_xml
from wordcab_admin.kernel.errors import NotFound

log = logging.getLogger(__name__)


def plivo_address(raw: str) -> str:
    """Plivo's From/To: digits with the country code (14155550123) → E.164; a SIP URI stays as it is."""
    raw = raw.strip()
    return f"+{raw}" if raw.isdigit() else raw


def outbound_answer(*, call_public_id: str, params: Mapping[str, str]) -> str:
    """The stream XML of a call we placed, after its answer is applied (→ in_progress). A call that has
    ended meanwhile (hung up by an operator, say) is hung up."""
    (result,) = call_events_apply([plivo_status_event(params=params, call_public_id=call_public_id)])
    if isinstance(result, NotFound):
        log.warning("Plivo answered a call we do not know (%s): hung up", call_public_id)
        return polite_hangup_xml(CANNOT_CONNECT)
    call = Call.objects.select_related("agent").get(public_id=call_public_id)
    if call.status not in CallStatus.active():
        log.info("Plivo answered call %s, which has ended (%s): hung up", call.public_id, call.status)
        return polite_hangup_xml(CANNOT_CONNECT)
    return call_stream_xml(call)


def inbound_answer(*, params: Mapping[str, str]) -> str:
    """Create (once per CallUUID) the inbound call and answer with the stream XML for its agent."""
    call_uuid = params.get("CallUUID", "")
    to_number = plivo_address(params.get("To", ""))
    from_number = plivo_address(params.get("From", ""))
    if not call_uuid:
        log.warning("Inbound Plivo call to %s without a CallUUID: hung up", to_number)
        return polite_hangup_xml(CANNOT_CONNECT)
    agent, refusal, called = agent_for_number(to_number)
    if agent is None:
        return polite_hangup_xml(refusal)
    call = inbound_call_record(
        agent=agent,
        provider=Provider.PLIVO,
        provider_call_id=call_uuid,
        from_number=sip_user(from_number) or from_number,
        to_number=called or to_number,
    )
    return call_stream_xml(call)


def plivo_answer(*, call_public_id: str | None, params: Mapping[str, str]) -> str:
    if call_public_id:
        return outbound_answer(call_public_id=call_public_id, params=params)
    return inbound_answer(params=params)
