"""The audit log's filters, shared by its page and its CSV export."""

from datetime import date, datetime, time, timedelta

import django_filters
from django.db.models import QuerySet
from django.utils import timezone

from compliance.models import AuditEvent


def _day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


class AuditFilter(django_filters.FilterSet):
    action = django_filters.CharFilter()
    actor = django_filters.CharFilter(field_name="actor_label")
    object_type = django_filters.CharFilter()
    object_id = django_filters.CharFilter()
    request_id = django_filters.CharFilter(label="Request id")
    since = django_filters.DateFilter(method="filter_since", label="From (day)")
    until = django_filters.DateFilter(method="filter_until", label="To (day, included)")

    class Meta:
        model = AuditEvent
        fields: list[str] = []

    # Whole days in the site's time zone, as ranges on the indexed column (a __date lookup could not use it).
    def filter_since(self, queryset: QuerySet, name: str, value: date) -> QuerySet:
        return queryset.filter(created_at__gte=_day_start(value))

    def filter_until(self, queryset: QuerySet, name: str, value: date) -> QuerySet:
        if value == date.max:  # the calendar's last day: no upper bound (its next day does not exist)
            return queryset
        return queryset.filter(created_at__lt=_day_start(value + timedelta(days=1)))
