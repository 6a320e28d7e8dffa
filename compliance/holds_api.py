"""`/v1/legal-holds[/{id}]`: holds that keep recordings from the retention sweep.

POST names exactly one of `call_id`, `agent_id`, `campaign_id`, `phone_number`, with a `reason`; DELETE
releases the hold (`released_at`, `released_by`) and answers it: the row stays, for the record, and
releasing it again changes nothing. `?active=true|false` filters the list. Holds name matters in
litigation, so reading them needs the compliance role (or admin), as changing them does; every change is
audited (compliance/holds.py)."""

from django.http import Http404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from agents.models import Agent
from compliance import holds
from compliance.api_fields import optional_agent
from compliance.models import LegalHold
from wordcab_admin.kernel.errors import DomainError
from wordcab_admin.kernel.pagination import PAGINATION_PARAMETERS, paginated_response, paginated_schema
from wordcab_admin.kernel.roles import Capability
from wordcab_admin.kernel.validation import validated

TRUE, FALSE = {"1", "true", "yes"}, {"0", "false", "no"}


class LegalHoldOutput(serializers.ModelSerializer):
    id = serializers.CharField(source="public_id", read_only=True)
    target = serializers.SerializerMethodField()
    call_id = serializers.SerializerMethodField()
    agent_id = serializers.SerializerMethodField()
    campaign_id = serializers.SerializerMethodField()
    phone_number = serializers.SerializerMethodField()
    placed_by = serializers.SerializerMethodField()
    released_by = serializers.SerializerMethodField()
    active = serializers.SerializerMethodField()

    class Meta:
        model = LegalHold
        fields = [
            "id", "target", "call_id", "agent_id", "campaign_id", "phone_number", "reason", "active",
            "placed_by", "created_at", "released_at", "released_by",
        ]  # fmt: skip
        read_only_fields = fields

    def get_target(self, hold: LegalHold) -> str:
        return holds.hold_target(hold)[0].value

    def get_call_id(self, hold: LegalHold) -> str | None:
        return hold.call_public_id or None

    def get_agent_id(self, hold: LegalHold) -> str | None:
        return hold.agent.public_id if hold.agent_id else None

    def get_campaign_id(self, hold: LegalHold) -> str | None:
        return hold.campaign_public_id or None

    def get_phone_number(self, hold: LegalHold) -> str | None:
        return hold.phone_number or None

    def get_placed_by(self, hold: LegalHold) -> str | None:
        return hold.placed_by.get_username() if hold.placed_by_id else None

    def get_released_by(self, hold: LegalHold) -> str | None:
        return hold.released_by.get_username() if hold.released_by_id else None

    def get_active(self, hold: LegalHold) -> bool:
        return hold.released_at is None


class LegalHoldFields(serializers.Serializer):
    call_id = serializers.CharField(max_length=64, required=False, allow_blank=True, allow_null=True)
    agent_id = serializers.CharField(max_length=64, required=False, allow_blank=True, allow_null=True)
    campaign_id = serializers.CharField(max_length=64, required=False, allow_blank=True, allow_null=True)
    phone_number = serializers.CharField(max_length=64, required=False, allow_blank=True, allow_null=True)
    reason = serializers.CharField(max_length=holds.MAX_REASON_LENGTH)

    def validate_agent_id(self, value: str | None) -> Agent | None:
        return optional_agent(value)

    def validate(self, data: dict) -> dict:
        named = [kind for kind, name in holds.TARGET_FIELDS.items() if data.get(name)]
        if len(named) != 1:
            raise serializers.ValidationError(
                "Name exactly one of call_id, agent_id, campaign_id, phone_number", code="one_target_required"
            )
        data["kind"] = named[0]
        data["target"] = data[holds.TARGET_FIELDS[named[0]]]
        return data


def _hold(hold_id: str) -> LegalHold:
    try:
        return holds.legal_holds().get(public_id=hold_id)
    except LegalHold.DoesNotExist:
        raise Http404(f"No legal hold {hold_id}") from None


def _active_filter(raw: str | None) -> bool | None:
    if raw is None or raw == "":
        return None
    value = raw.strip().lower()
    if value not in TRUE | FALSE:
        raise DomainError("active: expected true or false", field="active", code="invalid_choice")
    return value in TRUE


class LegalHoldListApi(APIView):
    read_capability = write_capability = Capability.COMPLIANCE

    @extend_schema(
        operation_id="legal_holds_list",
        parameters=[
            *PAGINATION_PARAMETERS,
            OpenApiParameter("active", bool, description="true: holds in force; false: released ones"),
        ],
        responses=paginated_schema(LegalHoldOutput),
    )
    def get(self, request: Request) -> Response:
        found = holds.legal_holds()
        active = _active_filter(request.query_params.get("active"))
        if active is not None:
            found = found.filter(released_at__isnull=active)
        return paginated_response(self, request, found, LegalHoldOutput)

    @extend_schema(
        operation_id="legal_holds_create", request=LegalHoldFields, responses={201: LegalHoldOutput}
    )
    def post(self, request: Request) -> Response:
        data = validated(LegalHoldFields, request.data)
        hold = holds.legal_hold_place(
            actor=request.user, kind=data["kind"], target=data["target"], reason=data["reason"]
        )
        return Response(LegalHoldOutput(hold).data, status=201)


class LegalHoldDetailApi(APIView):
    read_capability = write_capability = Capability.COMPLIANCE

    @extend_schema(operation_id="legal_holds_retrieve", responses=LegalHoldOutput)
    def get(self, request: Request, hold_id: str) -> Response:
        return Response(LegalHoldOutput(_hold(hold_id)).data)

    @extend_schema(operation_id="legal_holds_release", responses=LegalHoldOutput)
    def delete(self, request: Request, hold_id: str) -> Response:
        hold = holds.legal_hold_release(actor=request.user, hold=_hold(hold_id))
        return Response(LegalHoldOutput(hold).data)
