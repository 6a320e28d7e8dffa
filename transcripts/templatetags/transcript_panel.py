"""`{% transcript_panel call %}`: the call page's transcript (live while the call runs, the recording's
player following it) and its post-call analysis. calls' templates use it; calls' views never import
transcripts."""

from django import template

from calls.models import Call
from transcripts.announce import segment_object
from transcripts.services import transcript_for_call

register = template.Library()

SPEAKERS = {"agent": "Agent", "caller": "Caller"}


@register.inclusion_tag("transcripts/_panel.html", takes_context=True)
def transcript_panel(context: template.Context, call: Call) -> dict:
    lines = [
        {**segment_object(segment), "label": SPEAKERS.get(segment.speaker, segment.speaker)}
        for segment in transcript_for_call(call=call)
    ]
    return {
        "call": call,
        "lines": lines,
        "analysis": getattr(call, "analysis", None),
        "may": context.get("may") or {},
    }
