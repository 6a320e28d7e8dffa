"""The Twilio provider: `Calls.create` through the twilio SDK, TwiML `<Connect><Stream>` to our media
endpoint, status callbacks for every event, a ring timeout and answering-machine detection.

settings.TWILIO_API_BASE_URL (tests: a local fake of Twilio's HTTP API) replaces https://api.twilio.com
and its siblings; production leaves it unset."""

from __future__ import annotations

import logging
from urllib.parse import urlencode, urlsplit, urlunsplit

import requests
from django.conf import settings
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from calls.models import Call, Direction
from calls.providers import CredentialField, ProviderRejected, ProviderUnavailable, TelephonyProvider
from telephony.credentials import credential
from telephony.twilio.twiml import call_stream_twiml
from wordcab_admin.kernel.public_url import public_url

log = logging.getLogger(__name__)

STATUS_CALLBACK_PATH = "/v1/twilio/status"
INBOUND_VOICE_PATH = "/v1/twilio/voice"  # what a Twilio number (or SIP domain) calls when a call comes in
STATUS_EVENTS = ["initiated", "ringing", "answered", "completed"]
RING_TIMEOUT_SECONDS = 30
HTTP_TIMEOUT_SECONDS = 10
CALL_NOT_IN_PROGRESS = 21220  # Twilio error: the call is no longer in progress


class _BaseUrlHttpClient(TwilioHttpClient):
    """Sends every request to `base_url` instead of Twilio's hosts (the path is kept)."""

    def __init__(self, base_url: str, **kwargs):
        super().__init__(**kwargs)
        self.base = urlsplit(base_url)

    def request(self, method, url, *args, **kwargs):
        parts = urlsplit(url)
        url = urlunsplit((self.base.scheme, self.base.netloc, parts.path, parts.query, parts.fragment))
        return super().request(method, url, *args, **kwargs)


def twilio_client() -> Client:
    account_sid, auth_token = credential("twilio", "account_sid"), credential("twilio", "auth_token")
    if not (account_sid and auth_token):
        raise ProviderRejected(
            "provider_not_configured",
            "Twilio is not configured: enter its Account SID and Auth token on /settings/providers/ "
            "(or set TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN).",
        )
    if settings.TWILIO_API_BASE_URL:
        http_client = _BaseUrlHttpClient(settings.TWILIO_API_BASE_URL, timeout=HTTP_TIMEOUT_SECONDS)
    else:
        http_client = TwilioHttpClient(timeout=HTTP_TIMEOUT_SECONDS)
    return Client(account_sid, auth_token, http_client=http_client)


def status_callback_url(call: Call) -> str:
    """Carries our call id, so a callback that races the commit of the CallSid still finds its call."""
    return public_url(f"{STATUS_CALLBACK_PATH}?{urlencode({'call_id': call.public_id})}")


def _translate(exc: Exception, action: str) -> Exception:
    if isinstance(exc, TwilioRestException):
        if exc.status >= 500 or exc.status == 429:
            return ProviderUnavailable(f"Twilio {action}: HTTP {exc.status}")
        return ProviderRejected(f"twilio_{exc.code or exc.status}", exc.msg or f"Twilio refused to {action}.")
    return ProviderUnavailable(f"Twilio {action}: {exc}")


class TwilioProvider(TelephonyProvider):
    name = "twilio"
    label = "Twilio"
    order = 10
    credentials = (
        CredentialField("account_sid", "Account SID", secret=False),
        CredentialField("auth_token", "Auth token"),
    )
    console_urls = (
        ("A call comes in (Voice webhook, HTTP POST)", INBOUND_VOICE_PATH),
        ("Call status changes (HTTP POST)", STATUS_CALLBACK_PATH),
    )

    def place(self, call: Call) -> str:
        if not call.from_number:
            raise ProviderRejected("no_from_number", "The agent has no Twilio number to call from.")
        client = twilio_client()
        callback = status_callback_url(call)
        try:
            created = client.calls.create(
                to=call.to_number,
                from_=call.from_number,
                twiml=call_stream_twiml(call),
                status_callback=callback,
                status_callback_event=STATUS_EVENTS,
                status_callback_method="POST",
                timeout=RING_TIMEOUT_SECONDS,
                time_limit=call.max_duration,
                machine_detection="Enable",
                async_amd="true",
                async_amd_status_callback=callback,
                async_amd_status_callback_method="POST",
            )
        except (TwilioException, requests.RequestException) as exc:
            raise _translate(exc, "place the call") from exc
        return created.sid

    def not_configured(self) -> str:
        if credential("twilio", "account_sid") and credential("twilio", "auth_token"):
            return ""
        return "Twilio is not configured (TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN)."

    def enforces_time_limit(self, call: Call) -> bool:
        return call.direction == Direction.OUTBOUND  # placed with `time_limit`; inbound calls have none

    def hangup(self, call: Call) -> None:
        if not call.provider_call_id:
            return
        client = twilio_client()
        # Twilio hangs up an answered call with "completed" and cancels a queued or ringing one with "canceled".
        status = "completed" if call.answered_at else "canceled"
        try:
            client.calls(call.provider_call_id).update(status=status)
        except TwilioRestException as exc:
            if exc.status == 404 or exc.code == CALL_NOT_IN_PROGRESS:
                log.info("Twilio call %s has already ended", call.provider_call_id)
                return
            raise _translate(exc, "hang up") from exc
        except (TwilioException, requests.RequestException) as exc:
            raise _translate(exc, "hang up") from exc


PROVIDER = TwilioProvider()
