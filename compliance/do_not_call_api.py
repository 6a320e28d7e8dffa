"""`/v1/do-not-call[/{number}]` and `/v1/do-not-call/import`: the do-not-call list through the API.

The list holds people's numbers and why they asked not to be called, so reading it needs the compliance
capability as changing it does (compliance officers and admins). `{number}` is the E.164 number, URL-encoded
(`%2B14155550123`); a plain `+` and the ways people type numbers are read too. Adding a listed number
again answers 200 with the entry as it was (the number is listed, which is what the client asked)."""

from django.contrib.auth.models import AbstractBaseUser
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from compliance.do_not_call import (
    MAX_REASON_LENGTH,
    do_not_call_add,
    do_not_call_entries,
    do_not_call_get,
    do_not_call_remove,
)
from compliance.do_not_call_import import do_not_call_import
from compliance.models import DoNotCall, DoNotCallSource
from wordcab_admin.kernel.pagination import PAGINATION_PARAMETERS, paginated_response, paginated_schema
from wordcab_admin.kernel.roles import Capability
from wordcab_admin.kernel.validation import validated


class DoNotCallOutput(serializers.ModelSerializer):
    added_by = serializers.SerializerMethodField()
    call_id = serializers.SerializerMethodField()

    class Meta:
        model = DoNotCall
        fields = ["number", "reason", "source", "added_by", "call_id", "created_at"]
        read_only_fields = fields

    def get_added_by(self, entry: DoNotCall) -> str | None:
        user: AbstractBaseUser | None = entry.added_by
        return user.get_username() if user is not None else None

    def get_call_id(self, entry: DoNotCall) -> str | None:
        """The call the caller opted out in (source `opt_out`)."""
        return entry.call_public_id or None


class DoNotCallInput(serializers.Serializer):
    number = serializers.CharField(
        max_length=64, help_text="E.164, or as people type it (DEFAULT_PHONE_REGION)"
    )
    reason = serializers.CharField(max_length=MAX_REASON_LENGTH, allow_blank=True, required=False, default="")


class DoNotCallImportInput(serializers.Serializer):
    file = serializers.FileField(allow_empty_file=True)  # an empty file is refused by the importer, as such
    phone_column = serializers.CharField(max_length=100, allow_blank=True, required=False, default="")


ImportReportOutput = inline_serializer(
    "DoNotCallImportReport",
    {
        "rows": serializers.IntegerField(),
        "accepted": serializers.IntegerField(),
        "rejected": serializers.IntegerField(),
        "errors": inline_serializer(
            "DoNotCallImportRowError",
            {
                "row": serializers.IntegerField(help_text="As a spreadsheet shows it: the header is row 1"),
                "field": serializers.CharField(),
                "code": serializers.ChoiceField(
                    choices=["invalid_number", "duplicate", "already_listed", "reason_too_long"]
                ),
                "message": serializers.CharField(),
                "number": serializers.CharField(help_text="The cell as the file had it"),
            },
            many=True,
        ),
    },
)

NUMBER_PARAMETER = OpenApiParameter(
    "number", str, OpenApiParameter.PATH, description="The E.164 number, URL-encoded: %2B14155550123"
)


class DoNotCallListApi(APIView):
    read_capability = Capability.COMPLIANCE
    write_capability = Capability.COMPLIANCE

    @extend_schema(
        operation_id="do_not_call_list",
        parameters=[
            *PAGINATION_PARAMETERS,
            OpenApiParameter("number", str, description="Only numbers holding these digits (415555 …)."),
        ],
        responses=paginated_schema(DoNotCallOutput),
    )
    def get(self, request: Request) -> Response:
        entries = do_not_call_entries(query=request.query_params.get("number", ""))
        return paginated_response(self, request, entries, DoNotCallOutput)

    @extend_schema(
        operation_id="do_not_call_create",
        request=DoNotCallInput,
        responses={201: DoNotCallOutput, 200: DoNotCallOutput},
        description="201 with the new entry; 200 with the existing entry, unchanged, when the number is "
        "already listed.",
    )
    def post(self, request: Request) -> Response:
        data = validated(DoNotCallInput, request.data)
        entry, created = do_not_call_add(
            actor=request.user, number=data["number"], reason=data["reason"], source=DoNotCallSource.API
        )
        return Response(DoNotCallOutput(entry).data, status=201 if created else 200)


class DoNotCallDetailApi(APIView):
    read_capability = Capability.COMPLIANCE
    write_capability = Capability.COMPLIANCE

    @extend_schema(
        operation_id="do_not_call_retrieve", parameters=[NUMBER_PARAMETER], responses=DoNotCallOutput
    )
    def get(self, request: Request, number: str) -> Response:
        return Response(DoNotCallOutput(do_not_call_get(number=number)).data)

    @extend_schema(operation_id="do_not_call_delete", parameters=[NUMBER_PARAMETER], responses={204: None})
    def delete(self, request: Request, number: str) -> Response:
        do_not_call_remove(actor=request.user, number=number)
        return Response(status=204)


class DoNotCallImportApi(APIView):
    write_capability = Capability.COMPLIANCE
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(
        operation_id="do_not_call_import",
        request={"multipart/form-data": DoNotCallImportInput},
        responses={200: ImportReportOutput},
        description="Add the numbers of a CSV (UTF-8 with or without BOM, or Latin-1; comma, semicolon or "
        "tab) in one transaction, and report each rejected row. An empty, binary or unreadable file is a 400 "
        "and adds nothing.",
    )
    def post(self, request: Request) -> Response:
        data = validated(DoNotCallImportInput, request.data)
        report = do_not_call_import(
            actor=request.user, upload=data["file"], phone_column=data["phone_column"]
        )
        return Response(report.as_dict())
