"""What the compliance API's inputs share."""

from rest_framework import serializers

from agents.models import Agent


def optional_agent(value: str | None) -> Agent | None:
    """An optional `agent_id`: the agent it names, None when empty; an unknown id is a 400 on the field."""
    if not value:
        return None
    try:
        return Agent.objects.get(public_id=value)
    except Agent.DoesNotExist:
        raise serializers.ValidationError(f"No agent {value}") from None
