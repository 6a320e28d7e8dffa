"""Filters of the call list, shared by `GET /v1/calls`, the calls page and its CSV export."""

from __future__ import annotations

import django_filters
from django import forms
from django.db.models import QuerySet

from calls.models import Call, CallStatus, Direction
from wordcab_admin.kernel.filtering import UtcIsoDateTimeFilter


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
