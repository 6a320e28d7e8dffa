"""The Plivo provider: calls placed through Plivo's Voice API with the official `plivo` SDK, answered by our
answer URL with `<Stream>` XML to the agent, every callback (ring, hang-up, machine detection) sent to
/v1/plivo/status with our call id, a ring timeout and a time limit.

Plivo answers a placed call with its `request_uuid` (what we store as the call's provider id); the call's
own CallUUID arrives with its first callback and is what hanging up an answered call needs.

settings.PLIVO_API_BASE_URL (tests: a local fake of Plivo's HTTP API) replaces https://api.plivo.com;
production leaves it unset."""

from __future__ import annotations

import logging
from urllib.parse import urlencode, urlsplit, urlunsplit

import plivo
import requests
from django.conf import settings
from plivo.exceptions import PlivoRestError, ResourceNotFoundError

from calls.models import Call, CallEvent, Direction
from calls.providers import CredentialField, ProviderRejected, ProviderUnavailable, TelephonyProvider
from telephony.credentials import credential
from wordcab_admin.kernel.public_url import public_url

log = logging.getLogger(__name__)

ANSWER_PATH = "/v1/plivo/answer"
STATUS_CALLBACK_PATH = "/v1/plivo/status"
RING_TIMEOUT_SECONDS = 30
HTTP_TIMEOUT_SECONDS = 10
NOT_CONFIGURED = "Plivo is not configured (PLIVO_AUTH_ID, PLIVO_AUTH_TOKEN)."


class PlivoClient(plivo.RestClient):
    """The SDK's client with one change where every request passes (`send_request`): it goes to
    PLIVO_API_BASE_URL's host when that is set (the SDK re-picks its own base URI on every call, so the URI
    itself cannot be overridden), its HTTP status is remembered, as the SDK's errors do not carry it, and a
    5xx is an outage at once (no resending to the SDK's fallback hosts)."""

    def __init__(self, auth_id: str, auth_token: str, *, base_url: str = ""):
        super().__init__(auth_id, auth_token, timeout=HTTP_TIMEOUT_SECONDS)
        self.base = urlsplit(base_url) if base_url else None
        self.last_status: int | None = None

    def send_request(self, request, **kwargs):
        if self.base is not None:
            parts = urlsplit(request.url)
            request.url = urlunsplit((self.base.scheme, self.base.netloc, parts.path, parts.query, ""))
        self.last_status = None
        response = super().send_request(request, **kwargs)
        self.last_status = response.status_code
        if response.status_code >= 500:
            # The SDK would resend a 5xx'd voice request to its fallback hosts at once, and a request the
            # first host carried out before failing would dial the callee twice; our outbox retries
            # instead, after waiting for the callbacks of a call that may exist (calls.services).
            raise ProviderUnavailable(f"Plivo: HTTP {response.status_code}")
        return response


def plivo_client() -> PlivoClient:
    auth_id, auth_token = credential("plivo", "auth_id"), credential("plivo", "auth_token")
    if not (auth_id and auth_token):
        raise ProviderRejected("provider_not_configured", NOT_CONFIGURED)
    try:
        return PlivoClient(auth_id, auth_token, base_url=settings.PLIVO_API_BASE_URL)
    except PlivoRestError as exc:  # the SDK refuses an auth id that is not MA… or SA… (20 characters)
        raise ProviderRejected("provider_not_configured", f"Plivo: {exc}") from exc


def _callback_url(path: str, call: Call) -> str:
    """Carries our call id, so a callback that races the commit of the request_uuid still finds its call."""
    return public_url(f"{path}?{urlencode({'call_id': call.public_id})}")


def answer_url(call: Call) -> str:
    return _callback_url(ANSWER_PATH, call)


def status_callback_url(call: Call) -> str:
    return _callback_url(STATUS_CALLBACK_PATH, call)


def plivo_number(e164: str) -> str:
    """Plivo takes numbers as digits with their country code, no `+` (14155550123)."""
    return e164.removeprefix("+")


def _translate(exc: Exception, status: int | None, action: str) -> Exception:
    if isinstance(exc, requests.RequestException):
        return ProviderUnavailable(f"Plivo {action}: {exc}")
    if status is None:  # refused by the SDK's own checks before any request
        return ProviderRejected("plivo_invalid", f"Plivo refused to {action}: {exc}")
    if status >= 500 or status == 429:
        return ProviderUnavailable(f"Plivo {action}: HTTP {status}")
    return ProviderRejected(f"plivo_{status}", str(exc) or f"Plivo refused to {action}.")


def plivo_call_uuid(call: Call) -> str:
    """Plivo's CallUUID of `call`: its provider id when it came in, else what its callbacks said."""
    if call.direction == Direction.INBOUND:
        return call.provider_call_id or ""
    payloads = CallEvent.objects.filter(call=call).order_by("-pk").values_list("payload", flat=True)
    for payload in payloads[:50]:
        if isinstance(payload, dict) and payload.get("CallUUID"):
            return str(payload["CallUUID"])
    return ""


class PlivoProvider(TelephonyProvider):
    name = "plivo"
    label = "Plivo"
    order = 30
    credentials = (
        CredentialField("auth_id", "Auth ID", secret=False),
        CredentialField("auth_token", "Auth token"),
    )

    def place(self, call: Call) -> str:
        if not call.from_number:
            raise ProviderRejected("no_from_number", "The agent has no Plivo number to call from.")
        client = plivo_client()
        callback = status_callback_url(call)
        try:
            created = client.calls.create(
                from_=plivo_number(call.from_number),
                to_=plivo_number(call.to_number),
                answer_url=answer_url(call),
                answer_method="POST",
                ring_url=callback,
                ring_method="POST",
                hangup_url=callback,
                hangup_method="POST",
                time_limit=call.max_duration,
                ring_timeout=RING_TIMEOUT_SECONDS,
                machine_detection="true",
                machine_detection_url=callback,
                machine_detection_method="POST",
            )
        except (PlivoRestError, requests.RequestException) as exc:
            raise _translate(exc, client.last_status, "place the call") from exc
        return str(created.request_uuid)

    def hangup(self, call: Call) -> None:
        """An answered call is hung up by its CallUUID; one not answered yet (no callback has named its
        CallUUID) is cancelled by its request_uuid. Plivo's 404: the call has already ended."""
        if not call.provider_call_id:
            return
        client = plivo_client()
        call_uuid = plivo_call_uuid(call)
        try:
            if call_uuid:
                client.calls.delete(call_uuid)
            else:
                client.calls.cancel(call.provider_call_id)
        except ResourceNotFoundError:
            log.info("Plivo call %s has already ended", call_uuid or call.provider_call_id)
        except (PlivoRestError, requests.RequestException) as exc:
            raise _translate(exc, client.last_status, "hang up") from exc

    def not_configured(self) -> str:
        if credential("plivo", "auth_id") and credential("plivo", "auth_token"):
            return ""
        return NOT_CONFIGURED

    def enforces_time_limit(self, call: Call) -> bool:
        return call.direction == Direction.OUTBOUND  # placed with `time_limit`; inbound calls have none


PROVIDER = PlivoProvider()
