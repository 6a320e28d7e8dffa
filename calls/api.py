"""The calls API: create an outbound call, list and read calls, their timeline, hang up (carriers' webhooks
are telephony's). Thin views: validate, call a service or the lifecycle, render the call object."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field, inline_serializer
from rest_framework import serializers
from rest_framework.generics import ListAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from agents.phone import InvalidPhoneNumber, normalize_e164
from agents.selectors import agent_get
from calls.filters import CallFilter
from calls.lifecycle import call_hangup
from calls.models import Call, CallEvent
from calls.serializers import CallOutput
from calls.services import CONTEXT_MAX_BYTES, call_create, call_get, calls_for_display
from wordcab_admin.kernel.errors import DomainError
from wordcab_admin.kernel.validation import MAX_JSON_DEPTH, nests_deeper_than, surrogate_in, validated


class E164Field(serializers.CharField):
    """A phone number as people type it ("(415) 555-0142", "+44 20 7946 0958"), read by phonenumbers with
    DEFAULT_PHONE_REGION for national formats, answered as E.164."""

    default_error_messages = {
        "e164": "Enter a phone number, e.g. +14155551234 or (415) 555-1234.",
        "unknown_number": "{value} is not a valid phone number: {reason}.",
    }

    def __init__(self, **kwargs: Any):
        kwargs.setdefault("max_length", 64)
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("e164")
        value = super().to_internal_value(data)
        try:
            return normalize_e164(value)
        except InvalidPhoneNumber as exc:
            self.fail("unknown_number", value=exc.raw, reason=exc.reason)


class StrictBooleanField(serializers.BooleanField):
    """true/false in JSON, "true"/"false" in a form; not 0, 1, "yes" or "on"."""

    def to_internal_value(self, data: Any) -> bool:
        if isinstance(data, bool):
            return data
        if isinstance(data, str) and data.lower() in ("true", "false"):
            return data.lower() == "true"
        self.fail("invalid", input=data)
        raise AssertionError  # pragma: no cover -- fail() raises


class StrictIntegerField(serializers.IntegerField):
    """A whole number: 300 or "300", not true, 300.5 or "5m"."""

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, bool) or (isinstance(data, float) and not data.is_integer()):
            self.fail("invalid")
        if isinstance(data, str) and not re.fullmatch(r"\s*-?\d{1,9}\s*", data):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictCharField(serializers.CharField):
    """Text only: a number or a list is refused rather than turned into a string."""

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


def _strings(value: Any) -> Iterator[str]:
    """Every key and string in a parsed JSON value, without recursion (its depth is the sender's)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            yield item
        elif isinstance(item, dict):
            yield from item.keys()
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


class ContextField(serializers.JSONField):
    default_error_messages = {
        "not_object": "context must be a JSON object.",
        "too_large": "context is {size} bytes as JSON; at most 16384 are allowed.",
        "null_characters_not_allowed": "Null characters are not allowed in context.",
        "too_deep": f"context nests deeper than {MAX_JSON_DEPTH} levels.",
        "surrogate_characters_not_allowed": "context holds a lone surrogate (U+{code_point:X}), which is "
        "not a character: send text as UTF-8, or pair the \\u escapes.",
    }

    def to_internal_value(self, data: Any) -> dict:
        if isinstance(data, str):  # a form post carries JSON text
            try:
                data = json.loads(data) if data.strip() else {}
            except (ValueError, RecursionError):  # RecursionError: nested past the parser's stack
                self.fail("invalid")
        if nests_deeper_than(data):  # the API's parser refused it already; a form post was not parsed
            self.fail("too_deep")
        value = super().to_internal_value(data)
        if not isinstance(value, dict):
            self.fail("not_object")
        for text in _strings(value):
            if "\x00" in text:  # PostgreSQL's jsonb cannot store U+0000, in a key or a value
                self.fail("null_characters_not_allowed")
            if surrogate := surrogate_in(text):  # nor can UTF-8 (jsonb, our own answer) hold "\ud800"
                self.fail("surrogate_characters_not_allowed", code_point=ord(surrogate))
        size = len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode())
        if size > CONTEXT_MAX_BYTES:
            self.fail("too_large", size=size)
        return value


class CallCreateInput(serializers.Serializer):
    phone_number = E164Field()
    from_number = E164Field(required=False)  # the caller id: one of the agent's numbers (default: chosen)
    context = ContextField(required=False, default=dict)
    max_duration = StrictIntegerField(min_value=1, max_value=14_400, required=False)
    record = StrictBooleanField(required=False)
    idempotency_key = StrictCharField(max_length=255, min_length=1, required=False, trim_whitespace=False)

    def to_internal_value(self, data: Any) -> dict:
        if not hasattr(data, "keys"):
            raise serializers.ValidationError(
                {"non_field_errors": ["The body must be a JSON object."]}, code="invalid"
            )
        unknown = sorted(set(data.keys()) - set(self.fields))
        if unknown:
            raise serializers.ValidationError(
                {unknown[0]: [f"Unknown field {unknown[0]!r}."]}, code="unknown_field"
            )
        return super().to_internal_value(data)


def _idempotency_key(request: Request, data: dict) -> str | None:
    header = request.headers.get("Idempotency-Key")
    body = data.get("idempotency_key")
    if header is not None and body is not None and header != body:
        raise DomainError(
            "The Idempotency-Key header and the idempotency_key field differ.",
            field="idempotency_key",
            code="invalid",
        )
    key = body if body is not None else header
    if key is not None and not 1 <= len(key) <= 255:
        raise DomainError("idempotency_key must be 1 to 255 characters.", field="idempotency_key")
    return key


class CallApiOutput(CallOutput):
    """The call object as the API renders it: with `analysis`, the post-call analysis (null until done).

    calls stands below transcripts, so the analysis is read through the reverse accessor of its one-to-one
    (`call.analysis`, transcripts.models.CallAnalysis), never by importing it; `calls_for_display` joins it,
    so a page of calls costs no query per row. Live updates (calls.serializers.call_object) leave it out:
    they are rendered on the status hot path, and an analysis only comes after the call's end."""

    analysis = serializers.SerializerMethodField()

    class Meta(CallOutput.Meta):
        fields = [*CallOutput.Meta.fields, "analysis"]
        read_only_fields = fields

    def to_representation(self, call: Call) -> dict[str, Any]:
        return {**super().to_representation(call), "analysis": self.get_analysis(call)}

    @extend_schema_field(
        inline_serializer(
            "CallAnalysis",
            {
                "summary": serializers.CharField(),
                "outcome": serializers.CharField(),
                "sentiment": serializers.FloatField(),
            },
        )
    )
    def get_analysis(self, call: Call) -> dict | None:
        analysis = getattr(call, "analysis", None)
        if analysis is None:
            return None
        return {"summary": analysis.summary, "outcome": analysis.outcome, "sentiment": analysis.sentiment}


class AgentCallCreateApi(APIView):
    """POST /v1/agents/{agent_id}/calls: 201 a new call, 200 the same call again (same key and body)."""

    @extend_schema(
        operation_id="agents_calls_create",
        request=CallCreateInput,
        responses={201: CallApiOutput, 200: CallApiOutput},
        parameters=[OpenApiParameter("Idempotency-Key", str, OpenApiParameter.HEADER)],
        description="Place an outbound call. 201: a new call; 200: the same idempotency key and body again "
        "(the original call); 409 `idempotency_conflict`: the same key with another body.",
    )
    def post(self, request: Request, agent_id: str) -> Response:
        agent = agent_get(agent_id, code="agent_not_found")
        data = validated(CallCreateInput, request.data)
        call, created = call_create(
            agent=agent,
            to_number=data["phone_number"],
            context=data["context"],
            max_duration=data.get("max_duration"),
            record=data.get("record"),
            idempotency_key=_idempotency_key(request, data),
            actor=request.user,
            from_number=data.get("from_number"),
        )
        return Response(CallApiOutput(call).data, status=201 if created else 200)


class CallListApi(ListAPIView):
    """GET /v1/calls: newest first, cursor-paginated; filters status, agent_id, campaign_id, direction,
    created_after, created_before."""

    serializer_class = CallApiOutput
    filterset_class = CallFilter

    def get_queryset(self):
        return calls_for_display()


class CallDetailApi(APIView):
    @extend_schema(operation_id="calls_retrieve", responses=CallApiOutput)
    def get(self, request: Request, call_id: str) -> Response:
        return Response(CallApiOutput(call_get(call_id=call_id)).data)


class CallEventOutput(serializers.ModelSerializer):
    """One entry of a call's timeline: applied, or ignored with the reason."""

    class Meta:
        model = CallEvent
        fields = [
            "status", "provider_status", "sequence", "source", "applied", "ignored_reason", "received_at",
            "payload",
        ]  # fmt: skip


class CallEventsApi(APIView):
    """GET /v1/calls/{call_id}/events: the call's timeline, oldest first, ignored events included."""

    @extend_schema(
        operation_id="calls_events_list",
        responses=inline_serializer(
            "CallTimeline", {"call_id": serializers.CharField(), "results": CallEventOutput(many=True)}
        ),
    )
    def get(self, request: Request, call_id: str) -> Response:
        call = call_get(call_id=call_id)
        events = call.events.order_by("received_at", "id")[:1000]
        return Response({"call_id": call.public_id, "results": CallEventOutput(events, many=True).data})


class CallHangupApi(APIView):
    @extend_schema(
        operation_id="calls_hangup",
        request=None,
        responses=CallApiOutput,
        description="Hang up: an answered call completes (end_reason hangup), one not yet answered is "
        "cancelled; 409 `invalid_state` once the call has ended.",
    )
    def post(self, request: Request, call_id: str) -> Response:
        call = call_hangup(call=call_get(call_id=call_id), actor=request.user)
        return Response(CallApiOutput(call_get(call_id=call.public_id)).data)
