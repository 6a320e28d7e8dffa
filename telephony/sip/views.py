"""A SIP number's "Test this number": a simulated inbound call delivered as the SIP gateway would, and its
outcome on the number's page (templates/agents/number_detail.html, the #sip-test section)."""

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.html import format_html
from django.views.decorators.http import require_POST

from agents import selectors
from agents.models import PhoneNumber, Provider
from calls.models import Call, CallStatus
from telephony.simulator.inbound_test_call import InboundTestCall, inbound_test_call_deliver
from wordcab_admin.kernel.errors import NotFound
from wordcab_admin.kernel.roles import Capability, require


def _sip_number_or_404(number_id: str) -> PhoneNumber:
    try:
        number = selectors.number_get(number_id)
    except NotFound:
        raise Http404(f"No number {number_id}") from None
    if number.provider != Provider.SIP:
        raise Http404(f"{number.number} is not a SIP trunk number")
    return number


def gateway_uri(number: PhoneNumber) -> str:
    """The Request-URI the PBX sends for `number`, as the gateway passes it on in `To`."""
    return f"sip:{number.number}@{settings.SIP_GATEWAY_DOMAIN}"


def refusal_reason(number: PhoneNumber, outcome: InboundTestCall) -> str:
    """Why the test call reached no agent, and what to do, then what the caller heard."""
    if number.agent is None:
        why = f"{number.number} has no agent: assign one above, then test again."
    elif not number.agent.is_active:
        why = f"{number.agent.name} ({number.agent.public_id}) is disabled: enable it, then test again."
    else:
        why = "The call could not be routed to an agent."
    return f"{why} The caller heard: “{outcome.refusal}”"


@require_POST
@require(Capability.OPERATE)
def sip_test_call(request: HttpRequest, number_id: str) -> HttpResponse:
    number = _sip_number_or_404(number_id)
    outcome = inbound_test_call_deliver(to_uri=gateway_uri(number), provider=Provider.SIP)
    page = reverse("numbers:detail", kwargs={"number_id": number.public_id})
    if outcome.call is None:
        messages.error(request, f"Test call not connected. {refusal_reason(number, outcome)}")
        return redirect(f"{page}#sip-test")
    call = outcome.call
    messages.success(
        request,
        format_html(
            'Test call <a href="{}">{}</a> delivered to {} as the gateway would deliver it.',
            reverse("calls:detail", kwargs={"call_id": call.public_id}),
            call.public_id,
            call.agent.name,
        ),
    )
    return redirect(f"{page}?test_call={call.public_id}#sip-test")


@require(Capability.VIEW)
def sip_test_call_outcome(request: HttpRequest, number_id: str, call_id: str) -> HttpResponse:
    """The test call's status, for the number's page: htmx asks again every second until it has ended."""
    number = _sip_number_or_404(number_id)
    call = (
        Call.objects.select_related("agent")
        .filter(public_id=call_id, to_number=number.number, provider=Provider.SIP)
        .first()
    )
    if call is None:
        raise Http404(f"No test call {call_id} to {number.number}")
    context = {"n": number, "call": call, "ended": call.status in CallStatus.terminal()}
    return render(request, "telephony/sip_test_outcome.html", context)
