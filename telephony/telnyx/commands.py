"""Call Control commands through the official `telnyx` package: the client, the state we hand Telnyx with a
command (`client_state`, given back in every later webhook and in the media stream's `start`), the media
stream every call opens, and Telnyx's HTTP errors translated into the providers' two kinds.

settings.TELNYX_API_BASE_URL (tests: a local fake of Telnyx's API, ending in /v2 as Telnyx's own does)
replaces https://api.telnyx.com/v2; production leaves it unset."""

from __future__ import annotations

import base64
import binascii
import json
from typing import TYPE_CHECKING
from urllib.parse import urlencode

from django.conf import settings

from calls.models import Call
from calls.providers import ProviderRejected, ProviderUnavailable
from calls.services import call_stream_token_issue
from telephony.credentials import credential
from wordcab_admin.kernel.public_url import public_url

if TYPE_CHECKING:
    from types import ModuleType

    from telnyx import APIStatusError, Telnyx

WEBHOOK_PATH = "/v1/telnyx/webhook"
MEDIA_STREAM_PATH = "/v1/media/telnyx"
HTTP_TIMEOUT_SECONDS = 10
CALL_ALREADY_ENDED = "90018"  # Telnyx's error code for a command on a call that has hung up


def sdk() -> ModuleType:
    """The telnyx package, imported when first used: importing it takes over a second (it loads a type for
    every object of Telnyx's API), which every Django process would otherwise pay when it starts (each
    worker, each manage.py, each test server) whether or not it ever talks to Telnyx."""
    import telnyx

    return telnyx


def translated_errors() -> tuple[type[Exception], ...]:
    """The SDK's errors that `translate` turns into ours (an `except` clause evaluates it only when an
    exception is on its way, so the SDK is imported by then)."""
    return (sdk().APIStatusError, sdk().APIConnectionError)


def telnyx_client() -> Telnyx:
    """No retries inside the SDK: placing runs under the call's row lock, and calls.services retries a
    ProviderUnavailable with its own backoff."""
    api_key = credential("telnyx", "api_key")
    if not api_key:
        raise ProviderRejected("provider_not_configured", "Telnyx is not configured: set TELNYX_API_KEY.")
    return sdk().Telnyx(
        api_key=api_key,
        base_url=settings.TELNYX_API_BASE_URL or None,
        timeout=HTTP_TIMEOUT_SECONDS,
        max_retries=0,
    )


def webhook_url() -> str:
    return public_url(WEBHOOK_PATH)


def client_state_encode(state: dict[str, str]) -> str:
    """Telnyx takes client_state as base64 and hands it back untouched."""
    return base64.b64encode(json.dumps(state, separators=(",", ":")).encode()).decode("ascii")


def client_state_decode(value: object) -> dict[str, str]:
    """The state we handed Telnyx, or {} for none or anything we did not write."""
    if not isinstance(value, str) or not value:
        return {}
    try:
        state = json.loads(base64.b64decode(value, validate=True))
    except (binascii.Error, ValueError):
        return {}
    if not isinstance(state, dict):
        return {}
    return {str(k): v for k, v in state.items() if isinstance(v, str)}


def call_client_state(call: Call) -> str:
    return client_state_encode({"call_id": call.public_id})


def media_stream_url(*, agent_id: str, call_id: str, stream_token: str) -> str:
    """wss://… (ws:// when PUBLIC_BASE_URL is http). Telnyx's dial and answer commands take no custom
    stream parameters, so our call id and the stream's single-use token ride in the URL's query."""
    query = urlencode({"agent_id": agent_id, "call_id": call_id, "stream_token": stream_token})
    return public_url(f"{MEDIA_STREAM_PATH}?{query}", scheme="ws")


def stream_options(call: Call) -> dict[str, str]:
    """The media stream of `call`, with a fresh single-use stream token (the latest one issued is the one
    that opens the stream): the caller's audio in, ours back as RTP PCMU 8 kHz, as Twilio's μ-law."""
    return {
        "stream_url": media_stream_url(
            agent_id=call.agent.public_id,
            call_id=call.public_id,
            stream_token=call_stream_token_issue(call=call),
        ),
        "stream_track": "inbound_track",
        "stream_codec": "PCMU",
        "stream_bidirectional_mode": "rtp",
        "stream_bidirectional_codec": "PCMU",
    }


def error_code(exc: APIStatusError) -> str:
    """Telnyx's own error code ("10015"), from `{"errors": [{"code", "title", "detail"}]}`."""
    errors = exc.body.get("errors") if isinstance(exc.body, dict) else None
    if isinstance(errors, list) and errors and isinstance(errors[0], dict) and errors[0].get("code"):
        return str(errors[0]["code"])
    return ""


def _error_detail(exc: APIStatusError) -> str:
    errors = exc.body.get("errors") if isinstance(exc.body, dict) else None
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        return str(errors[0].get("detail") or errors[0].get("title") or "")
    return ""


def translate(exc: Exception, action: str) -> Exception:
    """5xx, 429 and the network: try again later. Any other refusal is for good."""
    if isinstance(exc, sdk().APIStatusError):
        if exc.status_code >= 500 or exc.status_code == 429:
            return ProviderUnavailable(f"Telnyx {action}: HTTP {exc.status_code}")
        return ProviderRejected(
            f"telnyx_{error_code(exc) or exc.status_code}",
            _error_detail(exc) or f"Telnyx refused to {action} (HTTP {exc.status_code}).",
        )
    return ProviderUnavailable(f"Telnyx {action}: {exc}")
