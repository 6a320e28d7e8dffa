"""Twilio's webhooks: the inbound voice webhook (TwiML to the number's agent) and status callbacks."""

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.parsers import FormParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from calls.lifecycle import EventSource, call_events_apply
from telephony.twilio.inbound import inbound_voice_answer
from telephony.twilio.signature import twilio_signature_valid
from telephony.twilio.status import provider_status_event
from wordcab_admin.kernel.api_errors import error_body
from wordcab_admin.kernel.errors import DomainError
from wordcab_admin.kernel.fastpath.db_threads import run_db_batched
from wordcab_admin.kernel.public_url import public_url

FORM = "application/x-www-form-urlencoded"
UNSUPPORTED_MEDIA_TYPE = "Twilio posts application/x-www-form-urlencoded; nothing else is read here."


def _is_form(request: HttpRequest) -> bool:
    """Twilio posts its webhooks as a plain form. Any other body (JSON, multipart) is refused before a byte
    of it is read: the signature covers the form's fields, so nothing may be parsed before it is checked."""
    return request.content_type == FORM


class TwilioVoiceWebhook(APIView):
    """Twilio's inbound voice webhook. Authenticated by X-Twilio-Signature alone: no API key, no CSRF.

    Only a form is parsed (415 for anything else), and the signature over its fields is checked first."""

    authentication_classes: list = []
    permission_classes: list = []
    parser_classes = [FormParser]

    @extend_schema(
        operation_id="twilio_voice",
        request={"application/x-www-form-urlencoded": OpenApiTypes.OBJECT},
        responses={(200, "text/xml"): OpenApiTypes.STR, 403: OpenApiTypes.OBJECT, 415: OpenApiTypes.OBJECT},
        auth=[],
    )
    def post(self, request: Request) -> HttpResponse | Response:
        if not _is_form(request._request):
            return Response(error_body("unsupported_media_type", UNSUPPORTED_MEDIA_TYPE), status=415)
        answer = inbound_voice_answer(
            path=request.get_full_path(),
            params=request.POST.dict(),
            signature=request.headers.get("X-Twilio-Signature"),
        )
        if answer is None:
            return Response(
                error_body("invalid_signature", "Missing or invalid X-Twilio-Signature."), status=403
            )
        return HttpResponse(answer, content_type="text/xml")


@csrf_exempt
@require_POST
async def twilio_status_callback(request: HttpRequest) -> HttpResponse:
    """POST /v1/twilio/status: Twilio's call status callbacks (and async AMD results), signature-checked.

    Outbound calls carry our id in the callback URL (`?call_id=`); inbound calls are found by CallSid."""
    if not _is_form(request):
        return JsonResponse(error_body("unsupported_media_type", UNSUPPORTED_MEDIA_TYPE), status=415)
    url = public_url(request.get_full_path())
    params = request.POST.dict()
    if not twilio_signature_valid(url, params, request.headers.get("X-Twilio-Signature")):
        return JsonResponse(
            error_body("invalid_signature", "Missing or invalid X-Twilio-Signature."), status=403
        )
    if not params.get("CallSid") and not request.GET.get("call_id"):
        return JsonResponse(error_body("invalid", "CallSid is required.", "CallSid"), status=400)
    try:
        incoming = provider_status_event(
            provider="twilio",
            params=params,
            source=EventSource.TWILIO,
            call_public_id=request.GET.get("call_id"),
        )
        await run_db_batched(call_events_apply, incoming)
    except DomainError as exc:
        return JsonResponse(error_body(exc.code, exc.message, exc.field), status=exc.status)
    return HttpResponse(status=204)
