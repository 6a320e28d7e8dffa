"""Numbers routed in from a PBX through the SIP gateway (docs/sip.md)."""

from __future__ import annotations

from agents.models import Provider
from calls.models import Call
from calls.providers import ProviderRejected, TelephonyProvider


class SipProvider(TelephonyProvider):
    """We never place calls through a PBX's numbers, and their lines are dropped by the PBX itself when the
    media stream closes."""

    name = Provider.SIP
    label = "SIP trunk (your PBX)"
    order = 50
    outbound = False

    def place(self, call: Call) -> str:
        raise ProviderRejected(
            "provider_not_supported", f"Outbound calls through {self.name} are not supported."
        )

    def hangup(self, call: Call) -> None:
        return None


PROVIDER = SipProvider()
