from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter, inline_serializer
from rest_framework import serializers
from rest_framework.pagination import CursorPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView


class NewestFirstCursorPagination(CursorPagination):
    """`{"next", "previous", "results"}`, newest first; the cursor keeps deep pages as fast as the first."""

    ordering = "-id"
    page_size = 50
    page_size_query_param = "limit"
    max_page_size = 500


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
