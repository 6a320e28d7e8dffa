"""What the filtered lists share: the pages (calls, audit log), their CSV exports and the API's list endpoints.

A filter's error message may quote the value it refuses (`Unknown status '%'`). Django formats a message
with its `params` only when it has some, and so must everything that shows one: django-filter's DRF backend
formats every message (`message % ()`), so a `%` in a filter value answered 500 instead of 400."""

from datetime import UTC

import django_filters
from django import forms
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db.models import QuerySet
from django.forms.utils import ErrorDict
from django.http import HttpRequest, HttpResponse
from django_filters import FilterSet
from django_filters.fields import IsoDateTimeField
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework import exceptions as drf
from rest_framework.settings import api_settings


def filters_of(request: HttpRequest, filterset_class: type[FilterSet], queryset: QuerySet) -> FilterSet:
    """The request's query as a filterset; a blank field (an empty select, a cleared date) means "any"."""
    params = request.GET.copy()
    for key in list(params):
        if not params.get(key, "").strip():
            del params[key]
    return filterset_class(params, queryset=queryset)


def error_message(error: ValidationError) -> str:
    """One form error as Django shows it: formatted with its params when it has some, else as written."""
    return str(error.message % error.params if error.params else error.message)


def filter_errors(errors: ErrorDict) -> dict[str, list[drf.ErrorDetail]]:
    """A filterset's errors by field (non-field errors under DRF's key), each message as Django shows it."""
    return {
        (api_settings.NON_FIELD_ERRORS_KEY if field == NON_FIELD_ERRORS else field): [
            drf.ErrorDetail(error_message(error), code=error.code) for error in field_errors
        ]
        for field, field_errors in errors.as_data().items()
    }


class FilterBackend(DjangoFilterBackend):
    """django-filter's DRF backend (the API's `filterset_class`), whose invalid filters are a 400 naming the
    field in the error shape, whatever the value; its own translation of the errors %-formats them."""

    def filter_queryset(self, request, queryset, view):
        filterset = self.get_filterset(request, queryset, view)
        if filterset is None:
            return queryset
        if not filterset.is_valid() and self.raise_exception:
            raise drf.ValidationError(filter_errors(filterset.errors))
        return filterset.qs


def invalid_filters(filters: FilterSet) -> HttpResponse:
    """What an export answers to filters it cannot apply (the pages show the errors on the form instead):
    plain text, one line per field, the messages as written (not HTML-escaped)."""
    lines = [f"{field}: {' '.join(messages)}" for field, messages in filter_errors(filters.errors).items()]
    return HttpResponse(
        "Invalid filters:\n" + "\n".join(lines) + "\n", status=400, content_type="text/plain; charset=utf-8"
    )


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
