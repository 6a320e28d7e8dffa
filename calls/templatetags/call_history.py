"""`{% recent_calls agent=agent as calls %}`: the calls other apps' pages list (an agent's page, a number's
page). agents stands below calls in the layers, so its pages ask for calls through this tag rather than
importing the model."""

from django import template
from django.db.models import QuerySet

from calls.models import Call

register = template.Library()


@register.simple_tag
def recent_calls(*, agent=None, to_number: str = "", limit: int = 20) -> QuerySet[Call]:
    """The newest calls of `agent`, or to the number `to_number` (with their agents)."""
    calls = Call.objects.order_by("-id")
    if agent is not None:
        calls = calls.filter(agent=agent)
    if to_number:
        calls = calls.filter(to_number=to_number).select_related("agent")
    return calls[:limit]
