"""What the filtered pages (calls, audit log) and their CSV exports share."""

from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django_filters import FilterSet


def filters_of(request: HttpRequest, filterset_class: type[FilterSet], queryset: QuerySet) -> FilterSet:
    """The request's query as a filterset; a blank field (an empty select, a cleared date) means "any"."""
    params = request.GET.copy()
    for key in list(params):
        if not params.get(key, "").strip():
            del params[key]
    return filterset_class(params, queryset=queryset)


def invalid_filters(filters: FilterSet) -> HttpResponse:
    """What an export answers to filters it cannot apply (the pages show the errors on the form instead)."""
    return HttpResponse("Invalid filters: " + filters.errors.as_text(), status=400, content_type="text/plain")
