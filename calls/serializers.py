"""The public call object (DESIGN.md, "Call object"): one serializer for the API, websockets and exports."""

from django.urls import reverse
from rest_framework import serializers

from calls.models import Call


class CallOutput(serializers.ModelSerializer):
    id = serializers.CharField(source="public_id", read_only=True)
    agent_id = serializers.CharField(source="agent.public_id", read_only=True)
    campaign_id = serializers.SerializerMethodField()
    phone_number = serializers.CharField(source="to_number", read_only=True)
    error = serializers.SerializerMethodField()
    recording_url = serializers.SerializerMethodField()
    duration = serializers.IntegerField(read_only=True, allow_null=True)

    class Meta:
        model = Call
        fields = [
            "id", "agent_id", "campaign_id", "direction", "from_number", "phone_number", "status",
            "end_reason", "error", "context", "max_duration", "record", "recording_url", "consent_opener",
            "consent_delivered_at", "jurisdiction", "decision", "created_at", "answered_at", "ended_at",
            "duration",
        ]  # fmt: skip
        read_only_fields = fields

    def get_campaign_id(self, call: Call) -> str | None:
        return call.campaign.public_id if call.campaign_id else None

    def get_error(self, call: Call) -> dict | None:
        if not call.error_code:
            return None
        return {"code": call.error_code, "message": call.error_message}

    def get_recording_url(self, call: Call) -> str | None:
        recording = getattr(call, "recording", None) if hasattr(call, "recording") else None
        if recording is None or recording.status != "stored":
            return None
        return reverse("api-call-recording", kwargs={"call_id": call.public_id})
