"""The audit trail's writer: plugged into wordcab_admin.kernel.audit (the one way every app records) when
Django starts."""

from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

from compliance.models import AuditEvent

SYSTEM_ACTOR = "system"  # the actor label of what nobody signed in did: tasks, commands, webhooks


def audit_event_write(
    *,
    actor: AbstractBaseUser | AnonymousUser | None,
    action: str,
    object_type: str,
    object_id: str,
    before: Any = None,
    after: Any = None,
    request_id: str = "",
) -> AuditEvent:
    user = actor if actor is not None and actor.is_authenticated else None
    return AuditEvent.objects.create(
        actor=user,
        actor_label=user.get_username() if user else SYSTEM_ACTOR,
        action=action,
        object_type=object_type,
        object_id=object_id,
        before=before,
        after=after,
        request_id=request_id,
    )
