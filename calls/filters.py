"""Filters of the call list, shared by `GET /v1/calls`, the calls page and its CSV export."""

from __future__ import annotations

from datetime import UTC

import django_filters
from django import forms
from django.db.models import QuerySet
from django_filters.fields import IsoDateTimeField

from calls.models import Call, CallStatus, Direction


class StatusListField(forms.CharField):
    """`status=ringing` or `status=ringing,in_progress`."""

    def clean(self, value):
        value = super().clean(value)
        if not value:
            return []
        statuses = [part.strip() for part in value.split(",") if part.strip()]
        unknown = [s for s in statuses if s not in CallStatus.values]
        if unknown:
            raise forms.ValidationError(
                f"Unknown status {unknown[0]!r}; one of {', '.join(CallStatus.values)}.",
                code="invalid_choice",
            )
        return statuses


class StatusListFilter(django_filters.Filter):
    field_class = StatusListField

    def filter(self, qs: QuerySet, value):
        return qs.filter(status__in=value) if value else qs


class UtcIsoDateTimeField(IsoDateTimeField):
    """An ISO 8601 time, in UTC before it reaches the database: PostgreSQL refuses UTC offsets beyond ±15:59,
    which Python accepts (up to ±23:59), and a time that leaves the calendar once in UTC is invalid input."""

    def to_python(self, value):
        parsed = super().to_python(value)
        if parsed is None or parsed.tzinfo is None:
            return parsed
        try:
            return parsed.astimezone(UTC)
        except OverflowError:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid") from None


class UtcIsoDateTimeFilter(django_filters.IsoDateTimeFilter):
    field_class = UtcIsoDateTimeField


class CallFilter(django_filters.FilterSet):
    status = StatusListFilter()
    agent_id = django_filters.CharFilter(field_name="agent__public_id")
    campaign_id = django_filters.CharFilter(field_name="campaign__public_id")
    direction = django_filters.ChoiceFilter(choices=Direction.choices)
    phone_number = django_filters.CharFilter(field_name="to_number")
    created_after = UtcIsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = UtcIsoDateTimeFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = Call
        fields: list[str] = []
