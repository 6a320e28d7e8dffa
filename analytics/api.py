"""`GET /v1/analytics/calls`: the analytics' numbers per agent, campaign, number or day (docs/contract.md)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from django.utils import timezone
from django.utils.dateparse import parse_datetime
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from analytics.selectors import GROUP_BYS, MAX_PERIOD_DAYS, call_analytics, days_period, preset_days
from wordcab_admin.kernel.validation import validated


def _moment(text: str, field: str, *, end: bool) -> datetime:
    """A bound of the period: a date (its midnight in the viewer's zone; `to` includes that whole day) or an
    ISO 8601 date and time (a time without an offset is in the viewer's zone)."""
    try:
        day = date.fromisoformat(text)
    except ValueError:
        day = None
    if day is not None:
        return days_period(day, day)[1 if end else 0]
    try:
        moment = parse_datetime(text)
    except ValueError:
        moment = None
    if moment is None:
        raise serializers.ValidationError(
            {field: "Enter a date (2025-01-31) or an ISO 8601 date and time."}, code="invalid"
        )
    return moment if timezone.is_aware(moment) else timezone.make_aware(moment)


class AnalyticsQuery(serializers.Serializer):
    group_by = serializers.ChoiceField(choices=GROUP_BYS, default="day")
    # named with a trailing underscore: `from` is a keyword; the query parameters are `from` and `to`
    from_ = serializers.CharField(required=False, max_length=64)
    to = serializers.CharField(required=False, max_length=64)

    def validate(self, attrs: dict) -> dict:
        first, last = preset_days("7d")
        default_start, default_end = days_period(first, last)
        start = _moment(attrs["from_"], "from", end=False) if "from_" in attrs else default_start
        end = _moment(attrs["to"], "to", end=True) if "to" in attrs else default_end
        if end <= start:
            raise serializers.ValidationError({"to": "`to` must be after `from`."}, code="invalid")
        if end - start > timedelta(days=MAX_PERIOD_DAYS):
            raise serializers.ValidationError(
                {"to": f"Choose a period of at most {MAX_PERIOD_DAYS} days."}, code="invalid"
            )
        return {"group_by": attrs["group_by"], "start": start, "end": end}


class AnalyticsCallsApi(APIView):
    @extend_schema(
        operation_id="analytics_calls",
        parameters=[
            OpenApiParameter("group_by", str, enum=list(GROUP_BYS), description="default: day"),
            OpenApiParameter("from", str, description="a date (the viewer's zone) or an ISO date and time"),
            OpenApiParameter("to", str, description="a date (that day included) or an ISO date and time"),
        ],
        responses=dict,
        description="Calls created in the period, per group: calls, connected, connect_rate (connected / "
        "ended), minutes (talk time), average_handle_seconds, outcomes (outcome label → calls). Default: the "
        "last 7 days, per day.",
    )
    def get(self, request: Request) -> Response:
        query = request.query_params.dict()
        if "from" in query:
            query["from_"] = query.pop("from")
        params = validated(AnalyticsQuery, query)
        report = call_analytics(params["group_by"], params["start"], params["end"])
        return Response(
            {
                "group_by": report.group_by,
                "from": report.start.isoformat(),
                "to": report.end.isoformat(),
                "results": [figures.as_json() for figures in report.groups],
                "total": report.total.as_json(),
            }
        )
