"""`/v1/retention-policies[/{id}]`: how long recordings are kept, per agent and jurisdiction.

A policy names an agent, a jurisdiction or both, and `days` (0 = deleted at the next sweep); the most
specific one decides a recording's expiry, else RETENTION_DEFAULT_DAYS. A second policy for the same scope
is a 409 `retention_policy_exists`. Reading and changing them needs the compliance role (or admin); every
change is audited and moves the expiry of the recordings it governs (compliance/retention.py)."""

from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from agents.models import Agent
from compliance import retention
from compliance.api_fields import optional_agent
from compliance.models import RetentionPolicy
from wordcab_admin.kernel.pagination import PAGINATION_PARAMETERS, paginated_response, paginated_schema
from wordcab_admin.kernel.roles import Capability
from wordcab_admin.kernel.validation import validated

JURISDICTION_PATTERN = r"^([A-Za-z]{2}(-[A-Za-z0-9]{1,3})?)?$"


class RetentionPolicyOutput(serializers.ModelSerializer):
    id = serializers.CharField(source="public_id", read_only=True)
    agent_id = serializers.SerializerMethodField()
    jurisdiction = serializers.SerializerMethodField()
    scope = serializers.SerializerMethodField()

    class Meta:
        model = RetentionPolicy
        fields = ["id", "agent_id", "jurisdiction", "days", "scope", "created_at", "updated_at"]
        read_only_fields = fields

    def get_agent_id(self, policy: RetentionPolicy) -> str | None:
        return policy.agent.public_id if policy.agent_id else None

    def get_jurisdiction(self, policy: RetentionPolicy) -> str | None:
        return policy.jurisdiction or None

    def get_scope(self, policy: RetentionPolicy) -> str:
        return retention.retention_scope_of(policy)


class RetentionPolicyFields(serializers.Serializer):
    agent_id = serializers.CharField(max_length=64, allow_null=True, allow_blank=True, required=False)
    jurisdiction = serializers.RegexField(
        JURISDICTION_PATTERN, max_length=8, allow_null=True, allow_blank=True, required=False
    )
    days = serializers.IntegerField(min_value=0, max_value=retention.MAX_RETENTION_DAYS)

    def validate_agent_id(self, value: str | None) -> Agent | None:
        return optional_agent(value)


class RetentionPolicyUpdateFields(RetentionPolicyFields):
    days = serializers.IntegerField(min_value=0, max_value=retention.MAX_RETENTION_DAYS, required=False)


def _policy(policy_id: str) -> RetentionPolicy:
    try:
        return RetentionPolicy.objects.select_related("agent").get(public_id=policy_id)
    except RetentionPolicy.DoesNotExist:
        raise Http404(f"No retention policy {policy_id}") from None


class RetentionPolicyListApi(APIView):
    read_capability = write_capability = Capability.COMPLIANCE

    @extend_schema(
        operation_id="retention_policies_list",
        parameters=PAGINATION_PARAMETERS,
        responses=paginated_schema(RetentionPolicyOutput),
    )
    def get(self, request: Request) -> Response:
        policies = RetentionPolicy.objects.select_related("agent")
        return paginated_response(self, request, policies, RetentionPolicyOutput)

    @extend_schema(
        operation_id="retention_policies_create",
        request=RetentionPolicyFields,
        responses={201: RetentionPolicyOutput},
    )
    def post(self, request: Request) -> Response:
        data = validated(RetentionPolicyFields, request.data)
        policy = retention.retention_policy_create(
            actor=request.user,
            agent=data.get("agent_id"),
            jurisdiction=data.get("jurisdiction") or "",
            days=data["days"],
        )
        return Response(RetentionPolicyOutput(policy).data, status=201)


class RetentionPolicyDetailApi(APIView):
    read_capability = write_capability = Capability.COMPLIANCE

    @extend_schema(operation_id="retention_policies_retrieve", responses=RetentionPolicyOutput)
    def get(self, request: Request, policy_id: str) -> Response:
        return Response(RetentionPolicyOutput(_policy(policy_id)).data)

    @extend_schema(
        operation_id="retention_policies_update",
        request=RetentionPolicyUpdateFields,
        responses=RetentionPolicyOutput,
    )
    def patch(self, request: Request, policy_id: str) -> Response:
        policy = _policy(policy_id)
        data = validated(RetentionPolicyUpdateFields, request.data, partial=True)
        changes = {name: data[name] for name in ("days", "jurisdiction") if name in data}
        if "agent_id" in data:
            changes["agent"] = data["agent_id"]
        policy = retention.retention_policy_update(actor=request.user, policy=policy, changes=changes)
        return Response(RetentionPolicyOutput(policy).data)

    @extend_schema(operation_id="retention_policies_delete", responses={204: None})
    def delete(self, request: Request, policy_id: str) -> Response:
        retention.retention_policy_delete(actor=request.user, policy=_policy(policy_id))
        return Response(status=204)
