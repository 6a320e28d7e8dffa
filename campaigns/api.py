"""`/v1/campaigns`: list and create (a multipart CSV upload plus settings), read, start / pause / resume /
cancel, a campaign's contacts and its preflight forecast. Thin views: validate, call a service or a
selector, render the campaign object (campaigns/selectors.py `campaign_object`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from agents.models import Agent
from calls.models import CallStatus
from campaigns import services
from campaigns.forecast import campaign_forecast
from campaigns.importing import ImportReport
from campaigns.models import Campaign, CampaignStatus, ContactStatus, RetryOutcome, SkipReason
from campaigns.options import campaign_options_parse
from campaigns.selectors import (
    campaign_contacts,
    campaign_get,
    campaign_object,
    campaign_objects,
    campaigns_newest_first,
    contact_object,
)
from wordcab_admin.kernel.errors import DomainError
from wordcab_admin.kernel.pagination import (
    PAGINATION_PARAMETERS,
    NewestFirstCursorPagination,
    paginated_schema,
)
from wordcab_admin.kernel.validation import validated

ERRORS_SHOWN = 1000  # validation errors in the answer to a create; the campaign's page has every rejected row


# --- the shapes, for the schema -----------------------------------------------------------------------------


def _counts(name: str, states: list[str]) -> serializers.Serializer:
    return inline_serializer(name, {state: serializers.IntegerField() for state in [*states, "total"]})


ValidationCounts = inline_serializer(
    "CampaignValidation",
    {
        "rows": serializers.IntegerField(),
        "accepted": serializers.IntegerField(),
        "rejected": serializers.IntegerField(),
    },
)
RowErrorOutput = inline_serializer(
    "CampaignRowError",
    {
        "row": serializers.IntegerField(help_text="As a spreadsheet shows it: the header is row 1"),
        "field": serializers.CharField(help_text="The phone column's header, or `file`"),
        "code": serializers.CharField(help_text="The contact's skip reason (invalid_number, duplicate, …)"),
        "message": serializers.CharField(),
    },
    many=True,
)


class CampaignOutput(serializers.Serializer):
    """The campaign object (docs/contract.md); rendered by campaigns.selectors.campaign_object."""

    id = serializers.CharField()
    name = serializers.CharField()
    agent_id = serializers.CharField()
    # Plain strings, not enums: drf-spectacular would name every `status` enum alike (the calls' too).
    status = serializers.CharField(help_text=f"One of {', '.join(CampaignStatus.values)}")
    file_name = serializers.CharField()
    phone_column = serializers.CharField()
    columns = serializers.ListField(child=serializers.CharField())
    start_at = serializers.DateTimeField(allow_null=True)
    end_at = serializers.DateTimeField(allow_null=True)
    max_concurrent_calls = serializers.IntegerField()
    calls_per_minute = serializers.IntegerField()
    max_attempts = serializers.IntegerField()
    retry_delay_seconds = serializers.IntegerField()
    retry_outcomes = serializers.ListField(child=serializers.ChoiceField(choices=RetryOutcome.choices))
    record = serializers.BooleanField(allow_null=True, help_text="null: the agent's setting")
    max_duration = serializers.IntegerField(allow_null=True, help_text="null: the agent's")
    from_number = serializers.CharField(
        allow_null=True, help_text="the caller id; null: the agent's number most like each callee's"
    )
    window_start = serializers.CharField(allow_null=True, help_text="HH:MM, the contact's local time")
    window_end = serializers.CharField(allow_null=True)
    validation = ValidationCounts
    counts = _counts("CampaignContactCounts", [s.value for s in ContactStatus])
    calls = _counts("CampaignCallCounts", [s.value for s in CallStatus])
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    updated_at = serializers.DateTimeField()


class CampaignCreatedOutput(CampaignOutput):
    validation = inline_serializer(
        "CampaignValidationReport",
        {
            "rows": serializers.IntegerField(),
            "accepted": serializers.IntegerField(),
            "rejected": serializers.IntegerField(),
            "errors": RowErrorOutput,
        },
    )


class ContactOutput(serializers.Serializer):
    row = serializers.IntegerField(help_text="Its row in the file, as a spreadsheet shows it")
    phone_number = serializers.CharField(help_text="E.164; empty when the number was invalid")
    raw_number = serializers.CharField(help_text="The phone cell as the file had it")
    context = serializers.DictField(help_text="Every other column, by header")
    status = serializers.CharField(help_text=f"One of {', '.join(ContactStatus.values)}")
    skip_reason = serializers.ChoiceField(choices=SkipReason.choices, allow_null=True)
    message = serializers.CharField()
    attempts = serializers.IntegerField()
    call_ids = serializers.ListField(child=serializers.CharField(), help_text="Its attempts' calls, in order")
    next_attempt_at = serializers.DateTimeField(allow_null=True)
    updated_at = serializers.DateTimeField(allow_null=True)


ForecastOutput = inline_serializer(
    "CampaignForecast",
    {
        "now": serializers.IntegerField(help_text="Pending contacts that may be called now"),
        "later_today": serializers.IntegerField(),
        "other_days": serializers.IntegerField(),
        "never": serializers.IntegerField(),
        "blocked": serializers.DictField(child=serializers.IntegerField(), help_text="reason → contacts"),
        "calling": serializers.IntegerField(),
        "done": serializers.IntegerField(),
        "total": serializers.IntegerField(),
        "at": serializers.DateTimeField(help_text="The instant the forecast is for"),
    },
)


# --- inputs -------------------------------------------------------------------------------------------------


class CampaignCreateInput(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    agent_id = serializers.CharField(max_length=64)
    file = serializers.FileField(allow_empty_file=True)  # an empty file is refused by the importer, as such
    phone_column = serializers.CharField(max_length=200, allow_blank=True, required=False, default="")


class CampaignCreateRequest(CampaignCreateInput):
    """What the schema shows: the settings are read by campaigns.options (one parser for API and page)."""

    start_at = serializers.DateTimeField(required=False, help_text="Not before (default: when started)")
    end_at = serializers.DateTimeField(required=False, help_text="No call starts after this")
    max_concurrent_calls = serializers.IntegerField(required=False, min_value=1, max_value=1000, default=5)
    calls_per_minute = serializers.IntegerField(required=False, min_value=1, max_value=6000, default=30)
    max_attempts = serializers.IntegerField(required=False, min_value=1, max_value=10, default=3)
    retry_delay_seconds = serializers.IntegerField(
        required=False, min_value=0, max_value=604800, default=1800
    )
    retry_outcomes = serializers.ListField(
        child=serializers.ChoiceField(choices=RetryOutcome.choices),
        required=False,
        help_text="Repeat the field, or give a comma-separated list (default: no_answer, busy)",
    )
    record = serializers.BooleanField(required=False, help_text="Default: the agent's setting")
    max_duration = serializers.IntegerField(required=False, min_value=1, max_value=14_400)
    from_number = serializers.CharField(
        required=False,
        help_text="The caller id: one of the agent's numbers (default: per callee, its country's)",
    )
    window_start = serializers.TimeField(required=False, help_text="HH:MM, the contact's local time")
    window_end = serializers.TimeField(required=False)


def _unknown_fields_refused(data: Any) -> None:
    unknown = sorted(set(data.keys()) - set(CampaignCreateRequest().fields))
    if unknown:
        raise DomainError(f"Unknown field {unknown[0]!r}.", field=unknown[0], code="unknown_field")


def agent_named(agent_id: str) -> Agent:
    """The agent a request body names: a 400 `unknown_agent` (not a 404) when there is none."""
    agent = Agent.objects.filter(public_id=agent_id).first()
    if agent is None:
        raise DomainError(f"No agent {agent_id}.", field="agent_id", code="unknown_agent")
    return agent


def validation_report(report: ImportReport) -> dict:
    return {
        **report.counts(),
        "errors": [
            {"row": e.row, "field": e.field, "code": e.code, "message": e.message}
            for e in report.errors[:ERRORS_SHOWN]
        ],
    }


def _choices(request: Request, name: str, choices: list[str]) -> list[str]:
    """A filter taking one value of `choices` or several, comma-separated; anything else is a 400 naming it."""
    values = [v.strip() for v in request.query_params.get(name, "").split(",") if v.strip()]
    for value in values:
        if value not in choices:
            raise DomainError(
                f"Unknown {name} {value!r}; one of {', '.join(choices)}.", field=name, code="invalid_choice"
            )
    return values


# --- the views ----------------------------------------------------------------------------------------------


class CampaignListApi(APIView):
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(
        operation_id="campaigns_list",
        parameters=[
            OpenApiParameter("status", str, description="One status or several, comma-separated"),
            OpenApiParameter("agent_id", str),
            *PAGINATION_PARAMETERS,
        ],
        responses=paginated_schema(CampaignOutput),
    )
    def get(self, request: Request) -> Response:
        campaigns = campaigns_newest_first()
        if statuses := _choices(request, "status", CampaignStatus.values):
            campaigns = campaigns.filter(status__in=statuses)
        if agent_id := request.query_params.get("agent_id", "").strip():
            campaigns = campaigns.filter(agent__public_id=agent_id)
        paginator = NewestFirstCursorPagination()
        page = paginator.paginate_queryset(campaigns, request, view=self)
        return paginator.get_paginated_response(campaign_objects(page))

    @extend_schema(
        operation_id="campaigns_create",
        request={"multipart/form-data": CampaignCreateRequest},
        responses={201: CampaignCreatedOutput},
        description="A draft campaign from a CSV (UTF-8 with or without BOM, Windows-1252 or Latin-1; comma, "
        "semicolon or tab; header row): one contact per data row, the rows refused skipped with why. The answer "
        "carries `validation` with the first 1,000 row errors. A file that cannot be read at all is a 400 "
        "(413 past the size limit) and creates nothing; an unknown agent is a 400 `unknown_agent`.",
    )
    def post(self, request: Request) -> Response:
        _unknown_fields_refused(request.data)
        data = validated(CampaignCreateInput, request.data)
        agent = agent_named(data["agent_id"])
        options = campaign_options_parse(request.data)
        upload = data["file"]
        campaign, report = services.campaign_create(
            actor=request.user,
            name=data["name"],
            agent=agent,
            upload=upload.file,
            file_name=upload.name or "",
            size=upload.size,
            phone_column=data["phone_column"],
            options=options,
        )
        body = {**campaign_object(campaign), "validation": validation_report(report)}
        return Response(body, status=201)


class CampaignDetailApi(APIView):
    @extend_schema(operation_id="campaigns_retrieve", responses=CampaignOutput)
    def get(self, request: Request, campaign_id: str) -> Response:
        return Response(campaign_object(campaign_get(campaign_id)))


class CampaignControlApi(APIView):
    """POST /v1/campaigns/{id}/<verb>: the campaign as the move left it; 409 `invalid_state` if it cannot."""

    move: Callable[..., Campaign]

    def post(self, request: Request, campaign_id: str) -> Response:
        campaign = self.move(actor=request.user, campaign=campaign_get(campaign_id))
        return Response(campaign_object(campaign))


def _control_schema(verb: str, description: str) -> Callable:
    return extend_schema(
        operation_id=f"campaigns_{verb}",
        request=None,
        responses=CampaignOutput,
        description=f"{description} 409 `invalid_state` when the campaign's status does not allow it.",
    )


class CampaignStartApi(CampaignControlApi):
    move = staticmethod(services.campaign_start)

    @_control_schema("start", "Draft → running: dispatch starts within one tick (not before `start_at`).")
    def post(self, request: Request, campaign_id: str) -> Response:
        return super().post(request, campaign_id)


class CampaignPauseApi(CampaignControlApi):
    move = staticmethod(services.campaign_pause)

    @_control_schema("pause", "Running → paused: no new call starts after the next tick; live calls go on.")
    def post(self, request: Request, campaign_id: str) -> Response:
        return super().post(request, campaign_id)


class CampaignResumeApi(CampaignControlApi):
    move = staticmethod(services.campaign_resume)

    @_control_schema("resume", "Paused → running.")
    def post(self, request: Request, campaign_id: str) -> Response:
        return super().post(request, campaign_id)


class CampaignCancelApi(CampaignControlApi):
    move = staticmethod(services.campaign_cancel)

    @_control_schema(
        "cancel", "Draft, running or paused → cancelled: pending contacts are skipped (`cancelled`)."
    )
    def post(self, request: Request, campaign_id: str) -> Response:
        return super().post(request, campaign_id)


class FileOrderCursorPagination(NewestFirstCursorPagination):
    """A campaign's contacts come in the file's order (its rows), which is also the order they were made."""

    ordering = "row"


class CampaignContactsApi(APIView):
    @extend_schema(
        operation_id="campaigns_contacts_list",
        parameters=[
            OpenApiParameter("status", str, description="One contact state or several, comma-separated"),
            OpenApiParameter("skip_reason", str, description="One skip reason or several, comma-separated"),
            *PAGINATION_PARAMETERS,
        ],
        responses=paginated_schema(ContactOutput),
        description="The campaign's contacts in the file's order (by row), each with its attempts' calls.",
    )
    def get(self, request: Request, campaign_id: str) -> Response:
        campaign = campaign_get(campaign_id)
        contacts = campaign_contacts(
            campaign,
            statuses=_choices(request, "status", ContactStatus.values),
            skip_reasons=_choices(request, "skip_reason", SkipReason.values),
        )
        paginator = FileOrderCursorPagination()
        page = paginator.paginate_queryset(contacts, request, view=self)
        return paginator.get_paginated_response([contact_object(c) for c in page])


class CampaignForecastApi(APIView):
    @extend_schema(
        operation_id="campaigns_forecast",
        responses=ForecastOutput,
        description="The preflight forecast: how many pending contacts may be called now, later today, only on "
        "other days (their calling windows) or never, how many are blocked and why; and how many are calling, "
        "done, in all.",
    )
    def get(self, request: Request, campaign_id: str) -> Response:
        return Response(campaign_forecast(campaign_get(campaign_id)))
