"""The call object's fast rendering equals DRF's own, field for field."""

from datetime import timedelta

import pytest
from django.utils import timezone

from calls.models import Call
from calls.serializers import CallOutput, call_object
from campaigns.models import Campaign
from recordings.models import Recording
from tests.factories import AgentFactory, CallFactory

pytestmark = pytest.mark.django_db


def test_the_fast_call_object_equals_drfs_rendering_for_varied_calls():
    agent = AgentFactory()
    campaign = Campaign.objects.create(name="c", agent=agent)
    now = timezone.now()
    calls = [
        CallFactory(),
        CallFactory(
            agent=agent,
            campaign=campaign,
            status="completed",
            end_reason="hangup",
            context={"name": "Zoë", "n": [1, 2]},
            consent_opener={"text": "This call is recorded."},
            consent_delivered_at=now,
            decision={"ok": True},
            answered_at=now - timedelta(seconds=30),
            ended_at=now,
            record=True,
            jurisdiction="US-CA",
        ),
        CallFactory(status="failed", error_code="carrier_rejected", error_message="no"),
        CallFactory(record=True),
    ]
    Recording.objects.create(call=calls[1], status="deleted")
    Recording.objects.create(call=calls[3], status="stored")
    for call in Call.objects.select_related("agent", "campaign", "recording").filter(
        pk__in=[c.pk for c in calls]
    ):
        serializer = CallOutput(call)
        assert serializer.data == serializer.generic_representation(call)
        assert call_object(call) == serializer.data  # the shared instance the live updates and exports use
    assert CallOutput(Call.objects.get(pk=calls[3].pk)).data["recording_url"].endswith("/recording")
