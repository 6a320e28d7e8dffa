"""Numbers routed in from a PBX through the SIP gateway (docs/sip.md).

A `sip` number's outbound calls, when it has a `trunk_provider`, are placed by that carrier (the number
is a line of that provider: calls.services.AgentLines), so a call whose provider is `sip` is inbound, or
the simulated test call of telephony/simulator/inbound_test_call.py."""

from __future__ import annotations

from agents.models import Provider
from calls.models import Call
from calls.providers import ProviderRejected, TelephonyProvider
from telephony.models import SimulatorEvent


class SipProvider(TelephonyProvider):
    """We never place calls through the PBX itself, and its lines are dropped by the PBX when the media
    stream closes."""

    name = Provider.SIP
    label = "SIP trunk (your PBX)"
    order = 50
    outbound = False

    def place(self, call: Call) -> str:
        raise ProviderRejected(
            "provider_not_supported",
            "A SIP trunk number only receives calls unless it names the carrier that hosts its trunk: set "
            "its trunk_provider (twilio, telnyx or plivo) and that provider's credentials.",
        )

    def hangup(self, call: Call) -> None:
        return None

    def news_pending(self, call: Call) -> bool:
        """A test call's status events are still stored by the simulated gateway (never lost)."""
        return SimulatorEvent.objects.filter(call_public_id=call.public_id).exists()


PROVIDER = SipProvider()
