"""The caller's opt-out during a call ("take me off your list"), as the agent runtime seam reports it.

A runtime that understands the caller (speech-to-text, an LLM) calls `AgentRuntime.opt_out(said=...)` when
they ask not to be called again; `opt_out_requested` is a plain keyword check for runtimes without an LLM
to decide. The number listed is the other party's: the callee of an outbound call, the caller (`From`) of
an inbound one; compliance.do_not_call.do_not_call_opt_out lists it with the call's id, audited."""

from __future__ import annotations

import re

from calls.models import Call, Direction
from compliance.do_not_call import do_not_call_opt_out
from compliance.models import DoNotCall
from wordcab_admin.kernel.errors import NotFound

_CALL = r"(?:call|calling|ring|ringing|phone|phoning|contact|contacting|text|texting)"
_NOT_AN_OPT_OUT = (  # "don't call me back", "stop calling me at work": about when, not whether
    r"(?!\s+(?:back|before|after|until|till|tomorrow|later|today|tonight|during|"
    r"on\s+(?:my|the|this|weekends?|sundays?|saturdays?)|at\s+(?:work|night|home|\d)))"
)
OPT_OUT_PATTERNS = [
    # take me off your list, remove my number from the calling list, delete me from your list
    r"\b(?:take|remove|delete|get|strike|cross)\s+(?:me|us|my\s+(?:phone\s+)?number|this\s+number)\s+"
    r"(?:off|from|out\s+of)\s+(?:of\s+)?(?:your|the|this|that|all\s+(?:your|the))?\s*"
    r"(?:calling\s+|call\s+|contact\s+|phone\s+|mailing\s+|marketing\s+)?lists?\b",
    # do not call me, don't call me again, stop calling me, never call this number
    rf"\b(?:do\s+not|don'?t|never|stop|quit)\s+(?:ever\s+)?{_CALL}\s+(?:me|us|this\s+number|here){_NOT_AN_OPT_OUT}",
    # put me on your do-not-call list, add me to the do not call list
    r"\bdo[\s-]*not[\s-]*call\s+(?:list|registry|register)\b",
    r"\b(?:opt\s*me\s*out|opt[\s-]*out|unsubscribe)\b",
    r"\bno\s+more\s+(?:calls|calling)\b",
    r"\b(?:do\s+not|don'?t)\s+want\s+(?:any\s+)?(?:more\s+)?(?:of\s+)?(?:your\s+|these\s+|those\s+)?calls\b",
]
_OPT_OUT = re.compile("|".join(f"(?:{p})" for p in OPT_OUT_PATTERNS), re.IGNORECASE)


def opt_out_requested(text: str) -> bool:
    """Whether the caller's words ask not to be called again ("Take me off your list", "Do not call me",
    "Stop calling me"). Errs on the side of the caller: a list mention counts, "call me back" does not."""
    return bool(_OPT_OUT.search(text.replace("’", "'")))


def opted_out_number(call: Call) -> str:
    """The number of the person on the line: the callee of an outbound call, the caller of an inbound one."""
    return call.to_number if call.direction == Direction.OUTBOUND else call.from_number


def call_opt_out(*, call_id: str, said: str) -> DoNotCall:
    """List the number of the person on call `call_id`, who asked not to be called again."""
    call = Call.objects.filter(public_id=call_id).first()
    if call is None:
        raise NotFound(f"No call {call_id}", field="call_id")
    return do_not_call_opt_out(number=opted_out_number(call), call_public_id=call.public_id, said=said)
