"""The one small interface every telephony provider implements."""

from __future__ import annotations

from abc import ABC, abstractmethod
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


class TelephonyProvider(ABC):
    name: str

    @abstractmethod
    def place(self, call: Call) -> str:
        """Start the outbound call and return the provider's id for it (Twilio's CallSid).

        Runs inside the transaction that holds the call's row lock; status events arrive later through
        `calls.providers.status.provider_status_apply`."""

    @abstractmethod
    def hangup(self, call: Call) -> None:
        """Drop the line of a call we ended (operator hang-up, max_duration, voicemail, watchdog)."""

    def call_ended(self, call: Call) -> None:  # noqa: B027 -- optional hook, most providers need nothing
        """Called by the lifecycle inside the transaction that ended the call; defer side effects on commit."""
