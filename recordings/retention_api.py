"""`POST /v1/retention/sweep` and `GET /v1/calls/{call_id}/retention`.

The sweep runs now, in the request, for at most SWEEP_REQUEST_BUDGET_SECONDS (`more: true` says the
periodic sweep will take the rest); `{"dry_run": true}` deletes nothing and lists what the next run would
delete and, for each expired recording a legal hold keeps, which hold and why. Both need the compliance
role (or admin). A call's retention (the rule, the expiry, whether it is held, its deletion receipt) is
readable by anyone who may see the call; which holds keep it, and why, only by the compliance role."""

from django.http import Http404
from drf_spectacular.utils import PolymorphicProxySerializer, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from calls.models import Call
from compliance.holds import hold_target
from compliance.models import LegalHold
from recordings.models import Recording
from recordings.retention import (
    RecordingRetention,
    SweepPlan,
    SweepReport,
    recording_retention,
    retention_sweep,
    retention_sweep_plan,
)
from wordcab_admin.kernel.roles import Capability, can
from wordcab_admin.kernel.validation import validated

SWEEP_REQUEST_BUDGET_SECONDS = 20


class RetentionRuleOutput(serializers.Serializer):
    policy_id = serializers.CharField(
        source="policy.public_id", allow_null=True, help_text="null: the default"
    )
    scope = serializers.CharField(help_text="agent+jurisdiction, agent, jurisdiction or default")
    days = serializers.IntegerField()


class HoldReferenceOutput(serializers.Serializer):
    id = serializers.CharField(source="public_id")
    target = serializers.SerializerMethodField()
    value = serializers.SerializerMethodField()
    reason = serializers.CharField()
    placed_by = serializers.CharField(source="placed_by.username", allow_null=True)
    placed_at = serializers.DateTimeField(source="created_at")

    def get_target(self, hold: LegalHold) -> str:
        return hold_target(hold)[0].value

    def get_value(self, hold: LegalHold) -> str:
        return hold_target(hold)[1]


class DueRecordingOutput(serializers.Serializer):
    call_id = serializers.CharField()
    storage_key = serializers.CharField()
    sha256 = serializers.CharField()
    size_bytes = serializers.IntegerField(allow_null=True)
    stored_at = serializers.DateTimeField(allow_null=True)
    expires_at = serializers.DateTimeField()
    retention = RetentionRuleOutput()


class KeptRecordingOutput(DueRecordingOutput):
    holds = HoldReferenceOutput(many=True)
    why = serializers.ListField(child=serializers.CharField())


class DeletionReceiptOutput(serializers.Serializer):
    id = serializers.CharField(source="public_id")
    store = serializers.CharField()
    storage_key = serializers.CharField()
    sha256 = serializers.CharField()
    size_bytes = serializers.IntegerField(allow_null=True)
    deleted_at = serializers.DateTimeField()
    retention_policy_id = serializers.SerializerMethodField(help_text="null: the deployment default")
    retention_scope = serializers.CharField()
    retention_days = serializers.IntegerField()
    requested_by = serializers.CharField()

    def get_retention_policy_id(self, receipt) -> str | None:
        return receipt.retention_policy_id or None


class SweepPlanOutput(serializers.Serializer):
    dry_run = serializers.SerializerMethodField()
    cutoff = serializers.DateTimeField()
    would_delete = serializers.IntegerField()
    held = serializers.IntegerField()
    truncated = serializers.BooleanField(help_text="More than the first 1,000 of either list")
    recordings = DueRecordingOutput(many=True)
    kept = KeptRecordingOutput(many=True)

    def get_dry_run(self, plan: SweepPlan) -> bool:
        return True


class SweepReportOutput(serializers.Serializer):
    dry_run = serializers.SerializerMethodField()
    cutoff = serializers.DateTimeField()
    deleted = serializers.IntegerField()
    refused = serializers.IntegerField(help_text="Objects the store would not delete; retried next run")
    store_unreachable = serializers.CharField(help_text="Why the store could not be reached; empty if it was")
    more = serializers.BooleanField(help_text="Stopped by its time budget; the periodic sweep goes on")
    deleted_call_ids = serializers.ListField(child=serializers.CharField())
    errors = serializers.ListField(child=serializers.CharField())
    seconds = serializers.FloatField()

    def get_dry_run(self, report: SweepReport) -> bool:
        return False


class CallRetentionOutput(serializers.Serializer):
    call_id = serializers.CharField(source="recording.call.public_id")
    status = serializers.CharField(source="recording.status")
    stored_at = serializers.DateTimeField(source="recording.stored_at", allow_null=True)
    expires_at = serializers.DateTimeField(source="recording.expires_at", allow_null=True)
    deleted_at = serializers.DateTimeField(source="recording.deleted_at", allow_null=True)
    retention = RetentionRuleOutput()
    held = serializers.SerializerMethodField()
    holds = serializers.SerializerMethodField(help_text="null unless the caller has the compliance role")
    deletion_receipt = serializers.SerializerMethodField()

    def get_held(self, info: RecordingRetention) -> bool:
        return bool(info.holds)

    @extend_schema_field(HoldReferenceOutput(many=True, allow_null=True))
    def get_holds(self, info: RecordingRetention) -> list[dict] | None:
        if not self.context.get("may_see_holds"):
            return None
        return HoldReferenceOutput(info.holds, many=True).data

    @extend_schema_field(DeletionReceiptOutput(allow_null=True))
    def get_deletion_receipt(self, info: RecordingRetention) -> dict | None:
        return DeletionReceiptOutput(info.receipt).data if info.receipt else None


class SweepFields(serializers.Serializer):
    dry_run = serializers.BooleanField(default=False)


class RetentionSweepApi(APIView):
    write_capability = Capability.COMPLIANCE

    @extend_schema(
        operation_id="retention_sweep",
        request=SweepFields,
        responses={
            200: PolymorphicProxySerializer(
                component_name="RetentionSweepResult",
                serializers=[SweepReportOutput, SweepPlanOutput],
                resource_type_field_name=None,
            )
        },
    )
    def post(self, request: Request) -> Response:
        data = validated(SweepFields, request.data)
        if data["dry_run"]:
            return Response(SweepPlanOutput(retention_sweep_plan()).data)
        report = retention_sweep(actor=request.user, time_budget=SWEEP_REQUEST_BUDGET_SECONDS)
        return Response(SweepReportOutput(report).data)


class CallRetentionApi(APIView):
    @extend_schema(operation_id="calls_retention_retrieve", responses=CallRetentionOutput)
    def get(self, request: Request, call_id: str) -> Response:
        recording = Recording.objects.select_related("call__campaign").filter(call__public_id=call_id).first()
        if recording is None:
            if Call.objects.filter(public_id=call_id).exists():
                raise Http404(f"{call_id} has no recording")
            raise Http404(f"No call {call_id}")
        context = {"may_see_holds": can(request.user, Capability.COMPLIANCE)}
        return Response(CallRetentionOutput(recording_retention(recording), context=context).data)
