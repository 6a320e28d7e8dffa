"""The one small interface every telephony provider implements, and the registry that finds one by name.

calls places, hangs up and ends calls through this interface without knowing any carrier: the providers
themselves (telephony/, a higher layer, one sub-package each) register here when Django starts
(telephony/apps.py). A name nobody registered can neither place nor hang up calls."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from calls.models import Call


class ProviderUnavailable(Exception):
    """A transient failure (network, 5xx, rate limit): placing or hanging up is retried with backoff."""


class ProviderRejected(Exception):
    """The provider refused the request for good (bad number, account problem): the call fails."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code, self.message = code, message


@dataclass(frozen=True)
class CredentialField:
    """One credential a provider needs (`key`: "auth_token"; its setting is <PROVIDER>_<KEY>)."""

    key: str
    label: str
    secret: bool = True  # shown once when stored, masked after


class TelephonyProvider(ABC):
    name: str
    label: str = ""  # as pickers show it ("Telnyx"); the name when empty
    owns_numbers: bool = True  # whether phone numbers can be on it (a browser's WebRTC leg has none)
    order: int = 100  # where it stands in pickers
    credentials: tuple[CredentialField, ...] = ()  # what its settings page asks for (telephony.credentials)
    # (label, path) of each URL to paste into the carrier's console ("Status callback", "/v1/twilio/status");
    # the providers' settings page shows them under PUBLIC_BASE_URL.
    console_urls: tuple[tuple[str, str], ...] = ()
    # Whether placing the same call twice (its public_id is the request key) dials it once. A provider that
    # cannot tell gets a marker committed before each request, and a lost attempt waits for its callbacks.
    dedupes_requests: bool = False

    @abstractmethod
    def place(self, call: Call) -> str:
        """Start the outbound call and return the provider's id for it (Twilio's CallSid).

        Runs inside the transaction that holds the call's row lock; status events arrive later through
        the provider's webhook or events, into `calls.lifecycle.call_events_apply`."""

    def place_many(self, calls: list[Call]) -> dict[int, str | ProviderRejected | ProviderUnavailable]:
        """Start these outbound calls and answer, by call id, the provider's id of each or why it was not
        placed. Used only for a provider that `dedupes_requests`, in the one transaction that holds all
        their row locks (`calls.services.calls_place_many`). This default places them one by one; a
        provider may do it in bulk (the simulator writes its dials and events in a few statements)."""
        answers: dict[int, str | ProviderRejected | ProviderUnavailable] = {}
        for call in calls:
            try:
                answers[call.pk] = self.place(call)
            except (ProviderRejected, ProviderUnavailable) as exc:
                answers[call.pk] = exc
        return answers

    @abstractmethod
    def hangup(self, call: Call) -> None:
        """Drop the line of a call we ended (operator hang-up, max_duration, voicemail, watchdog)."""

    def call_ended(self, call: Call) -> None:  # noqa: B027 -- optional hook, most providers need nothing
        """Called by the lifecycle inside the transaction that ended the call; defer side effects on commit."""

    def enforces_time_limit(self, call: Call) -> bool:
        """Whether the provider itself ends `call` at its max_duration (Twilio's `time_limit` on calls we
        place) and reports that end: then a call still in progress well past it has lost its provider's
        news, and the max-duration sweep closes it as such instead of inventing a talk time."""
        return False

    def news_pending(self, call: Call) -> bool:
        """Whether the provider holds news of `call` not delivered yet (a provider that keeps its events
        durably, as the simulator does, may be late after an outage but never loses them)."""
        return False

    def not_configured(self) -> str:
        """Why calls cannot go through this provider now (its credentials are missing), as a sentence
        that says what to set; "" when it is ready."""
        return ""

    @property
    def outbound(self) -> bool:
        """Whether calls can be placed through it (a PBX's SIP numbers only receive calls)."""
        return True


_PROVIDERS: dict[str, TelephonyProvider] = {}


def provider_register(provider: TelephonyProvider) -> None:
    _PROVIDERS[provider.name] = provider


def provider_for(name: str) -> TelephonyProvider:
    try:
        return _PROVIDERS[name]
    except KeyError:
        raise ProviderRejected("provider_not_supported", f"No telephony provider named {name!r}.") from None


def outbound_capable(name: str) -> bool:
    provider = _PROVIDERS.get(name)
    return provider is not None and provider.outbound
