"""`GET /v1/audit-events`: the audit log, newest first, cursor-paginated, for the compliance and admin roles.

Filters: `action`, `actor` (a username, or `system`), `object_type`, `object_id`, `request_id`, and a time
range, `created_after` (included) and `created_before` (excluded), ISO 8601. Each event: `id`,
`created_at`, `actor`, `action`, `object_type`, `object_id`, `before`, `after`, `request_id`."""

import django_filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.generics import ListAPIView

from compliance.models import AuditEvent
from wordcab_admin.kernel.filtering import UtcIsoDateTimeFilter
from wordcab_admin.kernel.roles import Capability


class AuditEventApiFilter(django_filters.FilterSet):
    action = django_filters.CharFilter()
    actor = django_filters.CharFilter(field_name="actor_label", help_text="A username, or `system`.")
    object_type = django_filters.CharFilter()
    object_id = django_filters.CharFilter()
    request_id = django_filters.CharFilter(help_text="Every event one request (or task) wrote.")
    created_after = UtcIsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = UtcIsoDateTimeFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = AuditEvent
        fields: list[str] = []


@extend_schema_field(OpenApiTypes.ANY)
class AuditStateField(serializers.JSONField):
    """An object's state before or after the change: any JSON, null when there was none."""


class AuditEventOutput(serializers.ModelSerializer):
    actor = serializers.CharField(source="actor_label", help_text="A username, or `system`.")
    before = AuditStateField(allow_null=True)
    after = AuditStateField(allow_null=True)

    class Meta:
        model = AuditEvent
        fields = [
            "id", "created_at", "actor", "action", "object_type", "object_id", "before", "after",
            "request_id",
        ]  # fmt: skip
        read_only_fields = fields


class AuditEventListApi(ListAPIView):
    """Who did what to which object, when, before → after, and in which request; newest first."""

    read_capability = Capability.COMPLIANCE
    serializer_class = AuditEventOutput
    filterset_class = AuditEventApiFilter
    queryset = AuditEvent.objects.all()

    @extend_schema(operation_id="audit_events_list", summary="The audit log, newest first")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)
