"""Twilio request signatures, checked with the twilio package's RequestValidator.

Twilio signs the full public URL it called (PUBLIC_BASE_URL + path + query) and, for form POSTs, the
posted parameters; a websocket upgrade is signed as an HTTP GET of the wss URL."""

from collections.abc import Mapping

from twilio.request_validator import RequestValidator

from telephony.credentials import credential


def twilio_signature_valid(url: str, params: Mapping[str, str], signature: str | None) -> bool:
    auth_token = credential("twilio", "auth_token")  # kept in process a few seconds: this is a hot path
    if not signature or not auth_token:
        return False  # without a token nothing can be verified, so nothing is trusted
    return RequestValidator(auth_token).validate(url, dict(params), signature)


def twilio_sign(url: str, params: Mapping[str, str]) -> str:
    """The signature Twilio would send: for tests, the simulator and local fakes."""
    return RequestValidator(credential("twilio", "auth_token")).compute_signature(url, dict(params))
