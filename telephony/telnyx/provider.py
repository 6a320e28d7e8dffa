"""The Telnyx provider: Call Control `dial` through the telnyx SDK with the media stream to the agent from
the answer on, answering-machine detection, a ring timeout and Telnyx's own time limit; `hangup` to drop
the line. Events come back to `POST /v1/telnyx/webhook` (telephony/telnyx/api.py)."""

from __future__ import annotations

import logging

from calls.models import Call, Direction
from calls.providers import CredentialField, ProviderRejected, TelephonyProvider
from telephony.credentials import credential
from telephony.telnyx.commands import (
    CALL_ALREADY_ENDED,
    call_client_state,
    error_code,
    sdk,
    stream_options,
    telnyx_client,
    translate,
    translated_errors,
    webhook_url,
)

log = logging.getLogger(__name__)

RING_TIMEOUT_SECONDS = 30
MAX_TIME_LIMIT_SECONDS = 14_400  # Telnyx's longest call leg (4 hours), as our max_duration's


class TelnyxProvider(TelephonyProvider):
    name = "telnyx"
    label = "Telnyx"
    order = 20
    credentials = (
        CredentialField("api_key", "API key"),
        CredentialField("public_key", "Webhook public key (base64 Ed25519)", secret=False),
        CredentialField("connection_id", "Call Control application ID", secret=False),
    )

    def place(self, call: Call) -> str:
        if not call.from_number:
            raise ProviderRejected("no_from_number", "The agent has no Telnyx number to call from.")
        connection_id = credential("telnyx", "connection_id")
        if not connection_id:
            raise ProviderRejected(
                "provider_not_configured", "Telnyx is not configured: set TELNYX_CONNECTION_ID."
            )
        client = telnyx_client()
        try:
            dialed = client.calls.dial(
                connection_id=connection_id,
                from_=call.from_number,
                to=call.to_number,
                webhook_url=webhook_url(),
                webhook_url_method="POST",
                client_state=call_client_state(call),
                timeout_secs=RING_TIMEOUT_SECONDS,
                time_limit_secs=min(call.max_duration, MAX_TIME_LIMIT_SECONDS),
                answering_machine_detection="detect",
                stream_bidirectional_sampling_rate=8000,
                **stream_options(call),
            )
        except translated_errors() as exc:
            raise translate(exc, "place the call") from exc
        return dialed.data.call_control_id

    def hangup(self, call: Call) -> None:
        if not call.provider_call_id:
            return
        client = telnyx_client()
        try:
            client.calls.actions.hangup(call.provider_call_id)
        except sdk().APIStatusError as exc:
            if exc.status_code == 404 or error_code(exc) == CALL_ALREADY_ENDED:
                log.info("Telnyx call %s has already ended", call.provider_call_id)
                return
            raise translate(exc, "hang up") from exc
        except sdk().APIConnectionError as exc:
            raise translate(exc, "hang up") from exc

    def not_configured(self) -> str:
        missing = [
            f"TELNYX_{key.upper()}" for key in ("api_key", "connection_id") if not credential("telnyx", key)
        ]
        if not missing:
            return ""
        return f"Telnyx is not configured ({', '.join(missing)})."

    def enforces_time_limit(self, call: Call) -> bool:
        return call.direction == Direction.OUTBOUND  # dialed with `time_limit_secs`; inbound calls have none


PROVIDER = TelnyxProvider()
