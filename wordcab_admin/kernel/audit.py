"""The one way to write the audit trail, for every app.

The audit log's model and pages belong to compliance, which stands above agents in the layers; agents
(number changes), compliance (openers), calls (placed, hung up), recordings (playback) and the accounts
(users, roles, API keys) all record through `audit_record`, and compliance plugs its writer in when Django
starts (compliance/apps.py). Nothing is ever dropped: with no writer plugged in, recording an audit event is
an error.

Each event carries the id of the request that caused it (kernel/request_id.py), or of the Celery task, or
nothing (a command), so that one request's events are found together and matched with the client's logs."""

from collections.abc import Callable
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

from wordcab_admin.kernel.request_id import request_id_current

AuditWriter = Callable[..., Any]
_writer: AuditWriter | None = None


def audit_writer_set(writer: AuditWriter) -> None:
    global _writer
    _writer = writer


def audit_record(
    *,
    actor: AbstractBaseUser | AnonymousUser | None,
    action: str,
    object_type: str,
    object_id: str,
    before: Any = None,
    after: Any = None,
) -> Any:
    """Append who did what to which object, before → after, in the caller's transaction, with the id of
    the request (or task) being served."""
    if _writer is None:
        raise RuntimeError("No audit writer: the compliance app is not installed or not ready")
    return _writer(
        actor=actor,
        action=action,
        object_type=object_type,
        object_id=object_id,
        before=before,
        after=after,
        request_id=request_id_current(),
    )
