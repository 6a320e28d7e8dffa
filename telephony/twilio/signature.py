"""Twilio request signatures, checked with the twilio package's RequestValidator.

Twilio signs the full public URL it called (PUBLIC_BASE_URL + path + query) and, for form POSTs, the
posted parameters; a websocket upgrade is signed as an HTTP GET of the wss URL."""

from collections.abc import Mapping

from django.conf import settings
from twilio.request_validator import RequestValidator


def twilio_signature_valid(url: str, params: Mapping[str, str], signature: str | None) -> bool:
    if not signature or not settings.TWILIO_AUTH_TOKEN:
        return False  # without a token nothing can be verified, so nothing is trusted
    return RequestValidator(settings.TWILIO_AUTH_TOKEN).validate(url, dict(params), signature)


def twilio_sign(url: str, params: Mapping[str, str]) -> str:
    """The signature Twilio would send: for tests, the simulator and local fakes."""
    return RequestValidator(settings.TWILIO_AUTH_TOKEN).compute_signature(url, dict(params))
