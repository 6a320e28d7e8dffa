"""Plivo's webhooks: the answer URL (`<Stream>` XML to the call's agent) and the status callbacks.

Both are authenticated by Plivo's V3 signature alone (no API key, no CSRF): only a form is read (415 for
anything else, before a byte of it is parsed) and its signature, over the public URL we were called at,
the nonce and the form's fields, is checked before anything else (403 without a valid one)."""

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from calls.lifecycle import call_events_apply
from telephony.plivo.answer import plivo_answer
from telephony.plivo.signature import plivo_signature_valid
from telephony.plivo.status import plivo_status_event
from wordcab_admin.kernel.api_errors import error_body
from wordcab_admin.kernel.errors import DomainError
from wordcab_admin.kernel.fastpath.db_threads import run_db_batched
from wordcab_admin.kernel.public_url import public_url

FORM = "application/x-www-form-urlencoded"
UNSUPPORTED_MEDIA_TYPE = "Plivo posts application/x-www-form-urlencoded; nothing else is read here."
INVALID_SIGNATURE = "Missing or invalid X-Plivo-Signature-V3."


def _refusal(request: HttpRequest) -> JsonResponse | None:
    """415 for a body that is not a form, 403 for a form without Plivo's valid signature; None: go on."""
    if request.content_type != FORM:
        return JsonResponse(error_body("unsupported_media_type", UNSUPPORTED_MEDIA_TYPE), status=415)
    params = {name: values if len(values) > 1 else values[0] for name, values in request.POST.lists()}
    signed = plivo_signature_valid(
        method="POST",
        url=public_url(request.get_full_path()),
        params=params,
        nonce=request.headers.get("X-Plivo-Signature-V3-Nonce"),
        signature=request.headers.get("X-Plivo-Signature-V3"),
    )
    if not signed:
        return JsonResponse(error_body("invalid_signature", INVALID_SIGNATURE), status=403)
    return None


@csrf_exempt
@require_POST
def plivo_answer_webhook(request: HttpRequest) -> HttpResponse:
    """POST /v1/plivo/answer: Plivo asks what to do with a call that was answered (ours, `?call_id=`) or
    that comes in (routed by `To`)."""
    refusal = _refusal(request)
    if refusal is not None:
        return refusal
    answer = plivo_answer(call_public_id=request.GET.get("call_id"), params=request.POST.dict())
    return HttpResponse(answer, content_type="text/xml")


@csrf_exempt
@require_POST
async def plivo_status_callback(request: HttpRequest) -> HttpResponse:
    """POST /v1/plivo/status: ring, hang-up and machine-detection callbacks → the lifecycle.

    Calls we placed carry our id in the callback URL (`?call_id=`); inbound calls are found by CallUUID."""
    refusal = _refusal(request)
    if refusal is not None:
        return refusal
    params = request.POST.dict()
    call_public_id = request.GET.get("call_id")
    if not params.get("CallUUID") and not call_public_id:
        return JsonResponse(error_body("invalid", "CallUUID is required.", "CallUUID"), status=400)
    try:
        await run_db_batched(
            call_events_apply, plivo_status_event(params=params, call_public_id=call_public_id)
        )
    except DomainError as exc:
        return JsonResponse(error_body(exc.code, exc.message, exc.field), status=exc.status)
    return HttpResponse(status=204)
