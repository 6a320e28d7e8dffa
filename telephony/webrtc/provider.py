"""The `webrtc` provider: an operator's browser talking to an agent (docs/providers.md, "WebRTC").

It owns no numbers and places no calls: a browser call is made by its signalling request
(`POST /v1/webrtc/calls`, telephony/webrtc/api.py). What the lifecycle needs from it is the hang-up: a call
ended anywhere (an operator's hang-up on another page, the max_duration sweep in a Celery worker, the
watchdog) must close the peer connection that the web process holds (telephony/webrtc/leg.py)."""

from __future__ import annotations

from django.db import transaction

from calls.models import Call
from calls.providers import ProviderRejected, TelephonyProvider
from telephony.webrtc.leg import PROVIDER_NAME, leg_hangup_request


class WebrtcProvider(TelephonyProvider):
    name = PROVIDER_NAME
    label = "Browser (WebRTC)"
    owns_numbers = False
    order = 90
    outbound = False

    def place(self, call: Call) -> str:
        raise ProviderRejected(
            "provider_not_supported", "A browser call starts from the agent's page, not by placing it."
        )

    def hangup(self, call: Call) -> None:
        if call.provider_call_id:
            leg_hangup_request(call.provider_call_id)

    def call_ended(self, call: Call) -> None:
        # Also here, not only in `hangup` (a Celery task): the peer closes as soon as the call ends, with or
        # without a worker. The leg that ended the call itself ignores it.
        leg_id = call.provider_call_id
        if leg_id:
            transaction.on_commit(lambda: leg_hangup_request(leg_id), robust=True)


PROVIDER = WebrtcProvider()
