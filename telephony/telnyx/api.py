"""`POST /v1/telnyx/webhook`: every Telnyx Call Control event of our calls, Ed25519-signed.

The signature over the raw body is checked before a byte of it is parsed (403 otherwise). Then: an
incoming call is answered (telephony/telnyx/inbound.py), a refused one is walked to its hang-up, status
events go into the lifecycle (telephony/telnyx/status.py), and an event type we do not use is acknowledged
and ignored. Telnyx redelivers anything not answered 2xx, so a transient failure of ours is a 503."""

from __future__ import annotations

import json
import logging

from asgiref.sync import sync_to_async
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from calls.lifecycle import call_events_apply
from calls.providers import ProviderRejected, ProviderUnavailable
from telephony.telnyx.inbound import inbound_call_answer, is_incoming_call, is_refusal, refusal_continue
from telephony.telnyx.signature import telnyx_signature_refusal
from telephony.telnyx.status import KNOWN_EVENTS, Malformed, TelnyxEvent, telnyx_event_in, telnyx_event_read
from wordcab_admin.kernel.api_errors import error_body
from wordcab_admin.kernel.errors import DomainError, NotFound
from wordcab_admin.kernel.fastpath.db_threads import run_db_batched

log = logging.getLogger(__name__)


@csrf_exempt
@require_POST
async def telnyx_webhook(request: HttpRequest) -> HttpResponse:
    body = request.body
    refusal = telnyx_signature_refusal(
        body=body,
        signature=request.headers.get("telnyx-signature-ed25519"),
        timestamp=request.headers.get("telnyx-timestamp"),
    )
    if refusal:
        log.warning("Refused a Telnyx webhook: %s", refusal)
        return JsonResponse(error_body("invalid_signature", refusal), status=403)
    try:
        event = telnyx_event_read(json.loads(body))
    except (ValueError, Malformed) as exc:  # json.JSONDecodeError is a ValueError
        return JsonResponse(error_body("invalid", f"Not a Telnyx event: {exc}"), status=400)
    try:
        await _handle(event)
    except ProviderUnavailable as exc:
        log.warning("Telnyx %s %s: %s; Telnyx will deliver it again", event.event_type, event.event_id, exc)
        return JsonResponse(error_body("provider_unavailable", str(exc)), status=503)
    except ProviderRejected as exc:
        log.error("Telnyx %s %s could not be acted on: %s", event.event_type, event.event_id, exc.message)
    except NotFound:
        # Not one of our calls (a refused caller's hang-up, say): a redelivery would not find it either.
        log.info("Telnyx %s for unknown call %s ignored", event.event_type, event.call_control_id)
    except DomainError as exc:
        return JsonResponse(error_body(exc.code, exc.message, exc.field), status=exc.status)
    return HttpResponse(status=204)


async def _handle(event: TelnyxEvent) -> None:
    if is_incoming_call(event):
        await sync_to_async(inbound_call_answer)(event)
    elif is_refusal(event):
        await sync_to_async(refusal_continue)(event)
    elif event.event_type in KNOWN_EVENTS:
        await run_db_batched(call_events_apply, telnyx_event_in(event))
    else:
        log.debug("Telnyx %s ignored", event.event_type)
