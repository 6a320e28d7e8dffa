"""`GET /v1/calls/{call_id}/evidence`: the call's evidence record (recordings/evidence.py), for compliance
officers and admins."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from calls.services import call_get
from recordings.evidence import call_evidence
from wordcab_admin.kernel.roles import Capability


class CallEvidenceApi(APIView):
    read_capability = Capability.COMPLIANCE

    @extend_schema(operation_id="calls_evidence_retrieve", responses=OpenApiTypes.OBJECT)
    def get(self, request: Request, call_id: str) -> Response:
        return Response(call_evidence(call_get(call_id=call_id)))
