"""`/v1/webhook-endpoints[/{id}]` and their deliveries (docs/webhooks.md, DESIGN.md's contract).

POST answers the endpoint with its `secret`, once; reads never show it. Deliveries list newest first, with
`?status=pending|succeeded|failed`, each with its attempts; replay makes a new attempt of the same event
now. Admins and operators manage webhooks; the other roles may not even read them (403): an endpoint's
URL and the bodies sent to it are a customer's integration, not the call log."""

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from webhooks import services
from webhooks.models import DeliveryStatus, EventType, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from wordcab_admin.kernel.errors import DomainError
from wordcab_admin.kernel.pagination import PAGINATION_PARAMETERS, paginated_response, paginated_schema
from wordcab_admin.kernel.roles import Capability
from wordcab_admin.kernel.validation import validated


class EndpointOutput(serializers.ModelSerializer):
    id = serializers.CharField(source="public_id", read_only=True)
    events = serializers.ListField(child=serializers.ChoiceField(choices=EventType.choices))

    class Meta:
        model = WebhookEndpoint
        fields = ["id", "url", "description", "events", "enabled", "created_at", "updated_at"]
        read_only_fields = fields


class EndpointCreatedOutput(EndpointOutput):
    secret = serializers.SerializerMethodField(help_text="whsec_…: shown this once; sign-checks deliveries")

    class Meta(EndpointOutput.Meta):
        fields = [*EndpointOutput.Meta.fields, "secret"]
        read_only_fields = fields

    def get_secret(self, endpoint: WebhookEndpoint) -> str:
        return self.context["secret"]


class EndpointInput(serializers.Serializer):
    url = serializers.CharField(max_length=services.MAX_URL_LENGTH)
    events = serializers.ListField(child=serializers.CharField(max_length=64), max_length=20)
    description = serializers.CharField(
        max_length=services.MAX_DESCRIPTION_LENGTH, required=False, allow_blank=True, default=""
    )
    enabled = serializers.BooleanField(default=True)

    def validate_url(self, value: str) -> str:
        return _domain_checked(services.url_checked, value)

    def validate_events(self, value: list[str]) -> list[str]:
        return _domain_checked(services.events_checked, value)


def _domain_checked(check, value):
    """A service's check as a serializer's: its message and code, under the field being validated."""
    try:
        return check(value)
    except DomainError as exc:
        raise serializers.ValidationError(exc.message, code=exc.code) from None


class AttemptOutput(serializers.ModelSerializer):
    class Meta:
        model = WebhookAttempt
        fields = [
            "number", "started_at", "duration_ms", "status_code", "succeeded", "error", "connected_to",
            "replay", "response_body",
        ]  # fmt: skip
        read_only_fields = fields


class DeliveryOutput(serializers.ModelSerializer):
    id = serializers.CharField(source="public_id", read_only=True)
    endpoint_id = serializers.CharField(source="endpoint.public_id", read_only=True)
    event_id = serializers.CharField(source="event.public_id", read_only=True)
    event_type = serializers.CharField(source="event.type", read_only=True)
    attempts = serializers.IntegerField(source="attempts_count", read_only=True)
    attempt_log = AttemptOutput(source="attempts", many=True, read_only=True)

    class Meta:
        model = WebhookDelivery
        fields = [
            "id", "endpoint_id", "event_id", "event_type", "status", "attempts", "next_attempt_at",
            "last_status_code", "last_error", "created_at", "delivered_at", "attempt_log",
        ]  # fmt: skip
        read_only_fields = fields


class EndpointListApi(APIView):
    read_capability = write_capability = Capability.OPERATE

    @extend_schema(
        operation_id="webhook_endpoints_list",
        parameters=PAGINATION_PARAMETERS,
        responses=paginated_schema(EndpointOutput),
    )
    def get(self, request: Request) -> Response:
        return paginated_response(self, request, services.endpoints(), EndpointOutput)

    @extend_schema(
        operation_id="webhook_endpoints_create", request=EndpointInput, responses={201: EndpointCreatedOutput}
    )
    def post(self, request: Request) -> Response:
        data = validated(EndpointInput, request.data)
        endpoint, secret = services.endpoint_create(actor=request.user, **data)
        return Response(EndpointCreatedOutput(endpoint, context={"secret": secret}).data, status=201)


class EndpointDetailApi(APIView):
    read_capability = write_capability = Capability.OPERATE

    @extend_schema(operation_id="webhook_endpoints_retrieve", responses=EndpointOutput)
    def get(self, request: Request, endpoint_id: str) -> Response:
        return Response(EndpointOutput(services.endpoint_get(endpoint_id)).data)

    @extend_schema(operation_id="webhook_endpoints_destroy", responses={204: None})
    def delete(self, request: Request, endpoint_id: str) -> Response:
        services.endpoint_delete(actor=request.user, endpoint=services.endpoint_get(endpoint_id))
        return Response(status=204)


class DeliveryListApi(APIView):
    read_capability = write_capability = Capability.OPERATE

    @extend_schema(
        operation_id="webhook_deliveries_list",
        parameters=[
            *PAGINATION_PARAMETERS,
            OpenApiParameter("status", str, enum=DeliveryStatus.values, description="Only these deliveries"),
        ],
        responses=paginated_schema(DeliveryOutput),
    )
    def get(self, request: Request, endpoint_id: str) -> Response:
        endpoint = services.endpoint_get(endpoint_id)
        status = services.status_checked(request.query_params.get("status"))
        found = services.deliveries_of(endpoint, status=status).prefetch_related("attempts")
        return paginated_response(self, request, found, DeliveryOutput)


class DeliveryReplayApi(APIView):
    read_capability = write_capability = Capability.OPERATE

    @extend_schema(operation_id="webhook_deliveries_replay", request=None, responses={202: DeliveryOutput})
    def post(self, request: Request, endpoint_id: str, delivery_id: str) -> Response:
        endpoint = services.endpoint_get(endpoint_id)
        delivery = services.delivery_replay(
            actor=request.user, delivery=services.delivery_get(endpoint, delivery_id)
        )
        delivery = services.delivery_get(endpoint, delivery.public_id)
        return Response(DeliveryOutput(delivery).data, status=202)
