"""`{{ call|outcome }}`: a call's outcome label (calls/outcomes.py), the one every page shows: the badge of
each call row (calls/_call_row.html), the call page, an agent's and a number's recent calls, the evidence
record."""

from django import template

from calls.models import Call
from calls.outcomes import call_outcome

register = template.Library()


@register.filter
def outcome(call: Call | None) -> str:
    return call_outcome(call) if call is not None else ""
