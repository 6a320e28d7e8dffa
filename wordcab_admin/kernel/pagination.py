from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter, inline_serializer
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.pagination import Cursor, CursorPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from wordcab_admin.kernel.errors import DomainError


class NewestFirstCursorPagination(CursorPagination):
    """`{"next", "previous", "results"}`, newest first; the cursor keeps deep pages as fast as the first."""

    ordering = "-id"
    page_size = 50
    page_size_query_param = "limit"
    max_page_size = 500
    # A database integer's range: a cursor position past it fails in the driver (SQLite: OverflowError).
    _POSITION_RANGE = range(-(2**63), 2**63)

    def paginate_queryset(self, queryset, request, view=None):
        self._model = queryset.model  # decode_cursor checks the position against the ordering's field
        return super().paginate_queryset(queryset, request, view)

    def decode_cursor(self, request: Request) -> Cursor | None:
        """A cursor we did not make (not base64, or a position its ordering field cannot hold, such as
        `p=2026-99-99` for `-id`) is a 400 `invalid_cursor` naming `cursor`, rather than DRF's 404 for the
        first kind and a 500 from the query for the second."""
        try:
            cursor = super().decode_cursor(request)
        except NotFound:
            raise invalid_cursor() from None
        if cursor is None or cursor.position is None:
            return cursor
        name = self.ordering[0].lstrip("-")
        try:
            field = self._model._meta.pk if name == "pk" else self._model._meta.get_field(name)
        except FieldDoesNotExist:  # an ordering by an annotation: leave the position to the query
            return cursor
        try:
            value = field.to_python(cursor.position)
        except ValidationError:
            raise invalid_cursor() from None
        if (isinstance(value, int) and value not in self._POSITION_RANGE) or (
            isinstance(value, str) and "\x00" in value  # PostgreSQL refuses NUL in any string
        ):
            raise invalid_cursor()
        return cursor


def invalid_cursor() -> DomainError:
    return DomainError(
        "The cursor is not one this list gave out; use the `next` or `previous` URL as it is.",
        field="cursor",
        code="invalid_cursor",
    )


PAGINATION_PARAMETERS = [
    OpenApiParameter("cursor", str, description="The pagination cursor value (from `next` or `previous`)."),
    OpenApiParameter("limit", int, description="Number of results per page (at most 500; 50 by default)."),
]


def paginated_response(
    view: APIView, request: Request, queryset: QuerySet, serializer_class: type[serializers.Serializer]
) -> Response:
    """One page of `queryset` as a list endpoint answers it: `{"next", "previous", "results"}`."""
    paginator = NewestFirstCursorPagination()
    page = paginator.paginate_queryset(queryset, request, view=view)
    return paginator.get_paginated_response(serializer_class(page, many=True).data)


def paginated_schema(serializer_class: type[serializers.Serializer]) -> serializers.Serializer:
    """The OpenAPI shape of `paginated_response`, named as drf-spectacular names a ListAPIView's
    (`Paginated<Serializer>List`), so that every list reads alike in the schema and generated clients."""
    return inline_serializer(
        f"Paginated{serializer_class.__name__}List",
        {
            "next": serializers.URLField(allow_null=True, required=False),
            "previous": serializers.URLField(allow_null=True, required=False),
            "results": serializer_class(many=True),
        },
    )
