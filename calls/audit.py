"""The audit events of calls that a person (or their API key) placed or hung up.

Hanging up is audited where it happens (calls/lifecycle.py `call_hangup`), and placing too: in
calls/services.py `call_create`, in the transaction that inserts the call, for a call placed by a person or
a key (the demo's calls too); a repeat of an idempotent request (the same call again) is not a second
placing. The call's `context` stays out of the
log: it is the caller's data (names, account numbers), not what was done."""

from typing import Any

from calls.models import Call
from wordcab_admin.kernel.audit import audit_record


def call_audit_view(call: Call) -> dict[str, Any]:
    """What the audit log keeps of a call: where it went, from which line, and how."""
    return {
        "agent_id": call.agent.public_id,
        "phone_number": call.to_number,
        "from_number": call.from_number,
        "record": call.record,
        "max_duration": call.max_duration,
        "status": call.status,
    }


def call_placed_audit(*, call: Call, actor: Any) -> None:
    """`call.placed`: `actor` asked for this new outbound call."""
    audit_record(
        actor=actor, action="call.placed", object_type="call", object_id=call.public_id,
        after=call_audit_view(call),
    )  # fmt: skip
