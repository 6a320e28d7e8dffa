"""The browser call's signalling: `POST /v1/webrtc/calls` (offer in, answer out) and its hang-up.

Operators and admins only (Capability.OPERATE, the default for writes), by session or API key. The offer
is non-trickle (the browser waits for its ICE gathering to complete) and so is our answer: one request,
no candidate exchange afterwards.

The views are DRF's, so they run on a request thread; the peer connection must outlive the request on the
server's event loop, so `async_to_sync` hands the aiortc work to that loop (under ASGI, asgiref runs it on
the loop the request came from). The call is made only once the offer has been answered: a bad offer
creates nothing."""

from __future__ import annotations

from asgiref.sync import async_to_sync
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from agents.selectors import agent_get
from calls.lifecycle import CallError, EventIn, EventSource, call_events_apply
from calls.models import CallStatus, EndReason
from calls.serializers import CallOutput
from calls.services import call_get, call_stream_token_issue, inbound_call_record
from telephony.webrtc.leg import PROVIDER_NAME, BadOffer, leg_discard, leg_open
from wordcab_admin.kernel.errors import Conflict, DomainError, InvalidState, NotFound
from wordcab_admin.kernel.validation import validated

MAX_SDP_CHARS = 20_000  # a browser's audio offer is 3-6 kB


class BadSdp(DomainError):
    status, code = 400, "invalid_sdp"


class OfferInput(serializers.Serializer):
    agent_id = serializers.CharField(max_length=64)
    sdp = serializers.CharField(max_length=MAX_SDP_CHARS, trim_whitespace=False)
    type = serializers.ChoiceField(choices=["offer"])


AnswerOutput = inline_serializer(
    "WebrtcAnswer",
    {"call_id": serializers.CharField(), "sdp": serializers.CharField(), "type": serializers.CharField()},
)


class WebrtcCallCreateApi(APIView):
    @extend_schema(
        operation_id="webrtc_calls_create",
        request=OfferInput,
        responses={201: AnswerOutput},
        description="Start a browser call to an agent: the browser's SDP offer (all candidates gathered) "
        "in, our answer out (host candidates only). 409 `agent_disabled`, 400 `invalid_sdp`.",
    )
    def post(self, request: Request) -> Response:
        data = validated(OfferInput, request.data)
        agent = agent_get(data["agent_id"], code="agent_not_found")
        if not agent.is_active:
            raise Conflict(f"Agent {agent.public_id} is disabled.", code="agent_disabled", field="agent_id")
        try:
            leg, answer_sdp = async_to_sync(leg_open)(offer_sdp=data["sdp"], agent_id=agent.public_id)
        except BadOffer as exc:
            raise BadSdp(str(exc), field="sdp") from None
        try:
            call = inbound_call_record(
                agent=agent, provider=PROVIDER_NAME, provider_call_id=leg.id, from_number="", to_number=""
            )
            token = call_stream_token_issue(call=call)
        except BaseException:
            async_to_sync(leg_discard)(leg)
            raise
        leg.start_threadsafe(call_public_id=call.public_id, stream_token=token)
        return Response({"call_id": call.public_id, "sdp": answer_sdp, "type": "answer"}, status=201)


class WebrtcCallHangupApi(APIView):
    @extend_schema(
        operation_id="webrtc_calls_hangup",
        request=None,
        responses=CallOutput,
        description="The browser hangs up its call: completed (end_reason hangup) once it talked; 409 "
        "`invalid_state` once it has ended.",
    )
    def post(self, request: Request, call_id: str) -> Response:
        call = call_get(call_id=call_id)
        if call.provider != PROVIDER_NAME:
            raise NotFound(f"No browser call {call_id}.", code="call_not_found")
        if call.status in CallStatus.terminal():
            raise InvalidState(f"Call {call.public_id} has already ended ({call.status}).")
        talked = call.status == CallStatus.IN_PROGRESS
        # The browser's own end: the lifecycle completes the call, then the provider closes the peer
        # (WebrtcProvider.call_ended), in this process or the one that holds it.
        call_events_apply(
            [
                EventIn(
                    call_id=call.pk,
                    status=CallStatus.COMPLETED if talked else CallStatus.FAILED,
                    source=EventSource.PROVIDER,
                    provider_status="browser-hangup",
                    event_id=f"{call.provider_call_id}:browser-hangup",
                    payload={"reason": "browser-hangup"},
                    end_reason=EndReason.HANGUP if talked else EndReason.CANCELED,
                    error=None
                    if talked
                    else CallError("canceled", "The browser hung up before the call started."),
                )
            ]
        )
        return Response(CallOutput(call_get(call_id=call.public_id)).data)
