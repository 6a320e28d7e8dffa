"""`/v1/agents` and `/v1/numbers`: validate, call a service, render."""

from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from agents import selectors, services
from agents.models import Agent, PhoneNumber, Provider
from wordcab_admin.kernel.errors import DomainError
from wordcab_admin.kernel.pagination import PAGINATION_PARAMETERS, paginated_response, paginated_schema
from wordcab_admin.kernel.telephony_providers import number_provider_names
from wordcab_admin.kernel.validation import validated


class AgentOutput(serializers.ModelSerializer):
    id = serializers.CharField(source="public_id")
    active = serializers.BooleanField(source="is_active")
    phone_numbers = serializers.SerializerMethodField()

    class Meta:
        model = Agent
        fields = [
            "id", "name", "description", "instructions", "language", "voice", "max_duration", "record",
            "active", "default_provider", "phone_numbers", "created_at", "updated_at",
        ]  # fmt: skip
        read_only_fields = fields

    def get_phone_numbers(self, agent: Agent) -> list[str]:
        return sorted(n.number for n in agent.phone_numbers.all())


class NumberOutput(serializers.ModelSerializer):
    id = serializers.CharField(source="public_id")
    agent_id = serializers.SerializerMethodField()

    class Meta:
        model = PhoneNumber
        fields = [
            "id", "number", "provider", "friendly_name", "agent_id", "jurisdiction", "sip_uri", "sip_trunk",
            "trunk_provider", "created_at", "updated_at",
        ]  # fmt: skip
        read_only_fields = fields

    def get_agent_id(self, number: PhoneNumber) -> str | None:
        return number.agent.public_id if number.agent_id else None


class AgentFields(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    description = serializers.CharField(allow_blank=True, required=False)
    instructions = serializers.CharField(allow_blank=True, required=False)
    language = serializers.CharField(max_length=16, required=False)
    voice = serializers.CharField(max_length=64, allow_blank=True, required=False)
    max_duration = serializers.IntegerField(min_value=1, max_value=14_400, required=False)
    record = serializers.BooleanField(required=False)
    active = serializers.BooleanField(required=False)
    # blank: automatic; else a provider that places calls (agents.services.default_provider_checked, a 422)
    default_provider = serializers.CharField(max_length=16, allow_blank=True, required=False)
    phone_numbers = serializers.ListField(child=serializers.CharField(allow_blank=True), required=False)


def _flag(request: Request, name: str) -> bool | None:
    raw = request.query_params.get(name, "").strip().lower()
    if not raw:
        return None
    if raw in ("1", "true", "yes"):
        return True
    if raw in ("0", "false", "no"):
        return False
    raise DomainError(f"{name} must be true or false.", field=name, value=raw)


def _choice(request: Request, name: str, choices: list[str]) -> str | None:
    """A query parameter that takes one of `choices`; anything else is a 400 naming it (not an empty list)."""
    raw = request.query_params.get(name, "").strip()
    if not raw:
        return None
    if raw not in choices:
        raise DomainError(
            f"{name} must be one of {', '.join(choices)}.", field=name, code="invalid_choice", value=raw
        )
    return raw


def _agent_ref(agent_id: str | None) -> Agent | None:
    """An agent named in a request body: a 400 (not a 404) when there is none."""
    if agent_id is None:
        return None
    agent = Agent.objects.filter(public_id=agent_id).first()
    if agent is None:
        raise DomainError(f"No agent {agent_id}.", field="agent_id", code="unknown_agent", value=agent_id)
    return agent


class AgentListApi(APIView):
    class AgentCreateInput(AgentFields):
        id = serializers.CharField(max_length=64, required=False)

    @extend_schema(
        operation_id="agents_list",
        parameters=[
            OpenApiParameter("search", str),
            OpenApiParameter("active", bool),
            *PAGINATION_PARAMETERS,
        ],
        responses=paginated_schema(AgentOutput),
    )
    def get(self, request: Request) -> Response:
        agents = selectors.agent_search(
            query=request.query_params.get("search", ""), active=_flag(request, "active")
        )
        return paginated_response(self, request, agents, AgentOutput)

    @extend_schema(operation_id="agents_create", request=AgentCreateInput, responses={201: AgentOutput})
    def post(self, request: Request) -> Response:
        data = dict(validated(self.AgentCreateInput, request.data))
        agent = services.agent_create(actor=request.user, agent_id=data.pop("id", None), **data)
        return Response(AgentOutput(selectors.agent_get(agent.public_id)).data, status=201)


class AgentDetailApi(APIView):
    class AgentUpdateInput(AgentFields):
        name = serializers.CharField(max_length=200, required=False)

    @extend_schema(operation_id="agents_retrieve", responses=AgentOutput)
    def get(self, request: Request, agent_id: str) -> Response:
        return Response(AgentOutput(selectors.agent_get(agent_id)).data)

    @extend_schema(operation_id="agents_update", request=AgentUpdateInput, responses=AgentOutput)
    def patch(self, request: Request, agent_id: str) -> Response:
        agent = selectors.agent_get(agent_id)
        data = validated(self.AgentUpdateInput, request.data)
        services.agent_update(agent=agent, actor=request.user, changes=dict(data))
        return Response(AgentOutput(selectors.agent_get(agent_id)).data)


class AgentDisableApi(APIView):
    """POST /v1/agents/{id}/disable (the same as PATCH {"active": false})."""

    @extend_schema(operation_id="agents_disable", request=None, responses=AgentOutput)
    def post(self, request: Request, agent_id: str) -> Response:
        services.agent_disable(agent=selectors.agent_get(agent_id), actor=request.user)
        return Response(AgentOutput(selectors.agent_get(agent_id)).data)


class AgentEnableApi(APIView):
    @extend_schema(operation_id="agents_enable", request=None, responses=AgentOutput)
    def post(self, request: Request, agent_id: str) -> Response:
        services.agent_enable(agent=selectors.agent_get(agent_id), actor=request.user)
        return Response(AgentOutput(selectors.agent_get(agent_id)).data)


class ProviderField(serializers.CharField):
    """One of the providers this deployment has: the registry decides, when the request comes."""

    def __init__(self, **kwargs):
        super().__init__(max_length=16, **kwargs)

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        names = number_provider_names()
        if value not in names:
            raise serializers.ValidationError(
                f'"{value}" is not a valid choice: use one of {", ".join(names)}.'
            )
        return value


class NumberFields(serializers.Serializer):
    number = serializers.CharField(max_length=64)
    provider = ProviderField(default=Provider.SIMULATOR)
    agent_id = serializers.CharField(max_length=64, required=False, allow_null=True)
    friendly_name = serializers.CharField(max_length=200, allow_blank=True, default="")
    sip_uri = serializers.CharField(max_length=255, allow_blank=True, default="")
    sip_trunk = serializers.CharField(max_length=255, allow_blank=True, default="")
    # sip numbers: the carrier hosting the trunk (agents.services checks it can place calls: else a 422)
    trunk_provider = serializers.CharField(max_length=16, allow_blank=True, default="")


def _number_kwargs(data: dict) -> dict:
    data = dict(data)
    data["agent"] = _agent_ref(data.pop("agent_id", None))
    return data


class NumberListApi(APIView):
    @extend_schema(
        operation_id="numbers_list",
        parameters=[
            OpenApiParameter("search", str),
            OpenApiParameter("agent_id", str),
            OpenApiParameter("provider", str),
            OpenApiParameter("assigned", bool),
            *PAGINATION_PARAMETERS,
        ],
        responses=paginated_schema(NumberOutput),
    )
    def get(self, request: Request) -> Response:
        numbers = selectors.number_search(
            query=request.query_params.get("search", ""),
            agent_id=request.query_params.get("agent_id") or None,
            provider=_choice(request, "provider", number_provider_names()),
            assigned=_flag(request, "assigned"),
        )
        return paginated_response(self, request, numbers, NumberOutput)

    @extend_schema(operation_id="numbers_create", request=NumberFields, responses={201: NumberOutput})
    def post(self, request: Request) -> Response:
        data = validated(NumberFields, request.data)
        number = services.number_add(actor=request.user, **_number_kwargs(data))
        return Response(NumberOutput(selectors.number_get(number.public_id)).data, status=201)


class NumberBulkApi(APIView):
    """POST /v1/numbers/bulk: `{"numbers": ["+1…", {"number": …, "agent_id": …}], "provider", "agent_id"}`.

    Strings take the top-level provider and agent_id; all numbers are added or none is."""

    class NumberBulkInput(serializers.Serializer):
        numbers = serializers.ListField(child=serializers.JSONField(), min_length=1, max_length=1000)
        provider = ProviderField(default=Provider.SIMULATOR)
        agent_id = serializers.CharField(max_length=64, required=False, allow_null=True)

    @extend_schema(
        operation_id="numbers_bulk_create",
        request=NumberBulkInput,
        responses={201: inline_serializer("NumberBulkOutput", {"results": NumberOutput(many=True)})},
    )
    def post(self, request: Request) -> Response:
        data = validated(self.NumberBulkInput, request.data)
        defaults = {"provider": data["provider"], "agent_id": data.get("agent_id")}
        items = []
        for index, item in enumerate(data["numbers"]):
            if isinstance(item, str):
                item = {"number": item}
            if not isinstance(item, dict):
                raise DomainError(
                    "Each entry is a number or an object with `number`.", field=f"numbers.{index}"
                )
            try:
                fields = validated(NumberFields, defaults | item)
            except serializers.ValidationError as exc:
                raise serializers.ValidationError({"numbers": {str(index): exc.detail}}) from None
            items.append(_number_kwargs(fields))
        numbers = services.numbers_bulk_add(actor=request.user, items=items)
        rows = (
            PhoneNumber.objects.select_related("agent").filter(pk__in=[n.pk for n in numbers]).order_by("id")
        )
        return Response({"results": NumberOutput(rows, many=True).data}, status=201)


class NumberDetailApi(APIView):
    class NumberUpdateInput(serializers.Serializer):
        agent_id = serializers.CharField(max_length=64, required=False, allow_null=True)
        friendly_name = serializers.CharField(max_length=200, allow_blank=True, required=False)
        sip_uri = serializers.CharField(max_length=255, allow_blank=True, required=False)
        sip_trunk = serializers.CharField(max_length=255, allow_blank=True, required=False)
        trunk_provider = serializers.CharField(max_length=16, allow_blank=True, required=False)

    @extend_schema(operation_id="numbers_retrieve", responses=NumberOutput)
    def get(self, request: Request, number_id: str) -> Response:
        return Response(NumberOutput(selectors.number_get(number_id)).data)

    @extend_schema(operation_id="numbers_update", request=NumberUpdateInput, responses=NumberOutput)
    def patch(self, request: Request, number_id: str) -> Response:
        number = selectors.number_get(number_id)
        data = validated(self.NumberUpdateInput, request.data)
        if "agent_id" in data:
            services.number_assign(number=number, agent=_agent_ref(data["agent_id"]), actor=request.user)
        services.number_update(
            number=number,
            actor=request.user,
            friendly_name=data.get("friendly_name"),
            sip_uri=data.get("sip_uri"),
            sip_trunk=data.get("sip_trunk"),
            trunk_provider=data.get("trunk_provider"),
        )
        return Response(NumberOutput(selectors.number_get(number.public_id)).data)

    @extend_schema(operation_id="numbers_release", responses={204: None})
    def delete(self, request: Request, number_id: str) -> Response:
        services.number_release(number=selectors.number_get(number_id), actor=request.user)
        return Response(status=204)


class NumberReleaseApi(APIView):
    """POST /v1/numbers/{id}/release: the same as DELETE /v1/numbers/{id}."""

    @extend_schema(operation_id="numbers_release_post", request=None, responses={204: None})
    def post(self, request: Request, number_id: str) -> Response:
        services.number_release(number=selectors.number_get(number_id), actor=request.user)
        return Response(status=204)
