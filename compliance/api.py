"""`/v1/consent-openers[/{id}]`: list, create, read, update, delete consent openers; `/v1/jurisdictions`
and `/v1/jurisdictions/{code}`: list, read and edit jurisdictions.

JSON bodies have the opener's text spoken by the local TTS; a multipart body with an `audio` file (WAV or
MP3) uses that recording instead. Everyone who can read may list them; changes need the compliance role."""

from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from agents.models import Agent
from compliance import openers
from compliance.api_fields import optional_agent
from compliance.day_rules import DayRulesInvalid, day_rules_clean
from compliance.jurisdictions import jurisdiction_get, jurisdiction_update
from compliance.models import ConsentOpener, Jurisdiction, RecordingConsent
from wordcab_admin.kernel.pagination import PAGINATION_PARAMETERS, paginated_response, paginated_schema
from wordcab_admin.kernel.roles import Capability
from wordcab_admin.kernel.validation import validated


class OpenerOutput(serializers.ModelSerializer):
    agent_id = serializers.SerializerMethodField()

    class Meta:
        model = ConsentOpener
        fields = [
            "id", "jurisdiction", "agent_id", "language", "text", "audio_source", "source_filename",
            "duration_seconds", "audio_sha256", "created_at", "updated_at",
        ]  # fmt: skip
        read_only_fields = fields

    def get_agent_id(self, opener: ConsentOpener) -> str | None:
        return opener.agent.public_id if opener.agent_id else None


class OpenerFields(serializers.Serializer):
    jurisdiction = serializers.RegexField(
        r"^([A-Za-z]{2}(-[A-Za-z0-9]{1,3})?)?$", max_length=8, allow_blank=True, required=False
    )
    agent_id = serializers.CharField(max_length=64, allow_null=True, required=False)
    language = serializers.RegexField(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$", max_length=16, required=False)
    text = serializers.CharField(max_length=2000)
    audio = serializers.FileField(required=False)

    def validate_agent_id(self, value: str | None) -> Agent | None:
        return optional_agent(value)


class OpenerUpdateFields(OpenerFields):
    text = serializers.CharField(max_length=2000, required=False)


def _openers():
    return ConsentOpener.objects.select_related("agent").defer("audio")


def _opener(opener_id: int) -> ConsentOpener:
    try:
        return ConsentOpener.objects.select_related("agent").get(pk=opener_id)
    except ConsentOpener.DoesNotExist:
        raise Http404(f"No consent opener {opener_id}") from None


class OpenerListApi(APIView):
    write_capability = Capability.COMPLIANCE

    @extend_schema(
        operation_id="consent_openers_list",
        parameters=PAGINATION_PARAMETERS,
        responses=paginated_schema(OpenerOutput),
    )
    def get(self, request: Request) -> Response:
        return paginated_response(self, request, _openers(), OpenerOutput)

    @extend_schema(operation_id="consent_openers_create", request=OpenerFields, responses={201: OpenerOutput})
    def post(self, request: Request) -> Response:
        data = validated(OpenerFields, request.data)
        opener = openers.opener_create(
            actor=request.user,
            jurisdiction=data.get("jurisdiction", ""),
            agent=data.get("agent_id"),
            language=data.get("language", "en-US"),
            text=data["text"],
            upload=data.get("audio"),
        )
        return Response(OpenerOutput(opener).data, status=201)


class OpenerDetailApi(APIView):
    write_capability = Capability.COMPLIANCE

    @extend_schema(operation_id="consent_openers_retrieve", responses=OpenerOutput)
    def get(self, request: Request, opener_id: int) -> Response:
        return Response(OpenerOutput(_opener(opener_id)).data)

    @extend_schema(operation_id="consent_openers_update", request=OpenerUpdateFields, responses=OpenerOutput)
    def patch(self, request: Request, opener_id: int) -> Response:
        opener = _opener(opener_id)
        data = validated(OpenerUpdateFields, request.data, partial=True)
        changes = {name: data[name] for name in ("jurisdiction", "language", "text") if name in data}
        if "agent_id" in data:
            changes["agent"] = data["agent_id"]
        opener = openers.opener_update(
            actor=request.user, opener=opener, changes=changes, upload=data.get("audio")
        )
        return Response(OpenerOutput(opener).data)

    @extend_schema(operation_id="consent_openers_delete", responses={204: None})
    def delete(self, request: Request, opener_id: int) -> Response:
        openers.opener_delete(actor=request.user, opener=_opener(opener_id))
        return Response(status=204)


class JurisdictionOutput(serializers.ModelSerializer):
    calling_start = serializers.TimeField(format="%H:%M")
    calling_end = serializers.TimeField(format="%H:%M")

    class Meta:
        model = Jurisdiction
        fields = [
            "code", "name", "country", "recording_consent", "calling_start", "calling_end", "day_rules",
            "calling_days_note", "source", "needs_review", "updated_at",
        ]  # fmt: skip
        read_only_fields = fields


class DayRulesField(serializers.JSONField):
    """compliance/day_rules.py's format; a rule that does not follow it is a 400 naming `day_rules`."""

    def to_internal_value(self, data):
        try:
            return day_rules_clean(super().to_internal_value(data))
        except DayRulesInvalid as exc:
            raise serializers.ValidationError(str(exc), code="invalid") from exc


class JurisdictionUpdateInput(serializers.Serializer):
    recording_consent = serializers.ChoiceField(choices=RecordingConsent.values, required=False)
    calling_start = serializers.TimeField(input_formats=["%H:%M", "%H:%M:%S"], required=False)
    calling_end = serializers.TimeField(input_formats=["%H:%M", "%H:%M:%S"], required=False)
    day_rules = DayRulesField(required=False)
    calling_days_note = serializers.CharField(max_length=2000, allow_blank=True, required=False)
    source = serializers.CharField(max_length=2000, allow_blank=True, required=False)
    needs_review = serializers.BooleanField(required=False)

    def to_internal_value(self, data):
        if not hasattr(data, "keys"):
            raise serializers.ValidationError(
                {"non_field_errors": ["The body must be a JSON object."]}, code="invalid"
            )
        unknown = sorted(set(data.keys()) - set(self.fields))
        if unknown:  # a misspelt field must not look like an accepted edit
            raise serializers.ValidationError(
                {unknown[0]: [f"Unknown field {unknown[0]!r}."]}, code="unknown_field"
            )
        return super().to_internal_value(data)


class JurisdictionListApi(APIView):
    @extend_schema(
        operation_id="jurisdictions_list",
        parameters=PAGINATION_PARAMETERS,
        responses=paginated_schema(JurisdictionOutput),
    )
    def get(self, request: Request) -> Response:
        return paginated_response(self, request, Jurisdiction.objects.all(), JurisdictionOutput)


class JurisdictionDetailApi(APIView):
    """GET a jurisdiction by code (`US-CA`, `GB`, case-insensitive); PATCH its consent rule, calling hours,
    day rules, note, source or review flag (compliance role; audited)."""

    write_capability = Capability.COMPLIANCE

    @extend_schema(operation_id="jurisdictions_retrieve", responses=JurisdictionOutput)
    def get(self, request: Request, code: str) -> Response:
        return Response(JurisdictionOutput(jurisdiction_get(code)).data)

    @extend_schema(
        operation_id="jurisdictions_update", request=JurisdictionUpdateInput, responses=JurisdictionOutput
    )
    def patch(self, request: Request, code: str) -> Response:
        jurisdiction = jurisdiction_get(code)
        changes = validated(JurisdictionUpdateInput, request.data, partial=True)
        jurisdiction = jurisdiction_update(actor=request.user, jurisdiction=jurisdiction, changes=changes)
        return Response(JurisdictionOutput(jurisdiction).data)
