"""Every telephony provider we ship, registered with calls' provider registry when Django starts. Adding a
provider is one new sub-package here and one line below (docs/architecture.md)."""

from calls.providers import provider_register
from telephony.simulator.provider import SimulatorProvider
from telephony.sip.provider import SipProvider
from telephony.twilio.provider import TwilioProvider


def providers_register() -> None:
    for provider in (SimulatorProvider(), TwilioProvider(), SipProvider()):
        provider_register(provider)
