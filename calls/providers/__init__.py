"""Telephony providers, chosen per call (`Call.provider`): `simulator` and `twilio` place outbound calls."""

from __future__ import annotations

from agents.models import Provider
from calls.providers.base import ProviderRejected, ProviderUnavailable, TelephonyProvider

__all__ = ["ProviderRejected", "ProviderUnavailable", "TelephonyProvider", "outbound_capable", "provider_for"]


class _InboundOnly(TelephonyProvider):
    """Numbers routed in from a PBX (`sip`): we never place calls through them, and their lines are
    dropped by the PBX itself when the media stream closes."""

    def __init__(self, name: str):
        self.name = name

    def place(self, call) -> str:
        raise ProviderRejected(
            "provider_not_supported", f"Outbound calls through {self.name} are not supported."
        )

    def hangup(self, call) -> None:
        return None


def _registry() -> dict[str, TelephonyProvider]:
    from calls.providers.simulator import SimulatorProvider
    from calls.providers.twilio import TwilioProvider

    return {Provider.SIMULATOR: SimulatorProvider(), Provider.TWILIO: TwilioProvider()}


_PROVIDERS: dict[str, TelephonyProvider] = {}


def provider_for(name: str) -> TelephonyProvider:
    if not _PROVIDERS:
        _PROVIDERS.update(_registry())
    return _PROVIDERS.get(name) or _InboundOnly(name)


def outbound_capable(name: str) -> bool:
    return name in (Provider.SIMULATOR, Provider.TWILIO)
