"""Who is watching on each `/ws/calls` socket, and ending their watch when their credentials end.

A socket's principal is the user it was opened for, with the API key (a bearer upgrade) or the session (a
session-cookie upgrade) that proved it, and the role it had then. A socket lives as long as its principal
does, never longer:

* When something ends a principal, the receivers here (connected in live/apps.py) broadcast a small notice
  after the commit, through live/publisher.py to the group `live.calls` on the channel layer, so that every
  web process's hub (live/consumers.py) hears it, whichever process (a web worker, a Celery task, a
  management command) made the change. The hub closes its matching sockets with 4401 at once:
  - an API key revoked (its post_save with `revoked_at` set) or deleted: that key's sockets;
  - a sign-out (`user_logged_out`): the sockets of that session;
  - a user deactivated (post_save with `is_active` off) or deleted, or their groups (their role) changed
    in any way (`m2m_changed` on `User.groups`): all their sockets, so that a client reconnects with its
    new rights (or is refused);
  - any other save of a user (a password changed, the superuser flag…): their sockets are re-checked.
* Every hub also re-checks all its sockets' principals from the database on a timer
  (live/consumers.py PRINCIPAL_RECHECK_SECONDS), with `principals_check` below, in a few queries per hub
  however many sockets it holds. That catches what no signal announces: a session deleted
  (`clearsessions`, the admin) or expired, a bulk UPDATE, a notice lost while Redis was away.

A notice names a session by a hash of its key, never by the key itself (a session key is a credential).
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection
from dataclasses import dataclass
from importlib import import_module

from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model
from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.crypto import constant_time_compare

from live.publisher import principal_notices_send
from wordcab_admin.kernel.accounts import ApiKey
from wordcab_admin.kernel.roles import GRANTS, Capability, Role, role_of

CLOSE_UNAUTHENTICATED = 4401  # no valid credentials (any more): sign in again, or reconnect
CLOSE_FORBIDDEN = 4403  # signed in, but may not watch

CLOSE = "close"  # a notice's action: close the matching sockets
CHECK = "check"  # ... re-check the matching sockets' principals now


def may_view(role: Role | None) -> bool:
    return role is not None and Capability.VIEW in GRANTS[role]


def session_tag(session_key: str) -> str:
    """How a notice names a session: not the key itself, which would let whoever reads Redis sign in."""
    return hashlib.sha256(session_key.encode()).hexdigest()[:32]


@dataclass(frozen=True, slots=True)
class Principal:
    """Who a socket watches for: the user, and the API key or the session that proved it, with the role the
    user had when the socket opened."""

    user_id: int
    api_key_id: int | None
    session_key: str | None
    role: Role

    def matches(self, notice: dict) -> bool:
        """A notice names a user, and maybe one of their keys or sessions."""
        if notice.get("user") != self.user_id:
            return False
        key = notice.get("key")
        if key is not None and key != self.api_key_id:
            return False
        session = notice.get("session")
        return session is None or (self.session_key is not None and session_tag(self.session_key) == session)


def principals_check(principals: Collection[Principal]) -> dict[Principal, int]:
    """Re-validate principals from the database: the close code of each one that may no longer watch
    (4401: the user, key or session is gone, or the role changed; 4403: signed in but without a role that
    may view). A few queries whatever the number: the users, the keys, the sessions, a role per user."""
    users = get_user_model()._default_manager.in_bulk({p.user_id for p in principals})
    key_ids = {p.api_key_id for p in principals if p.api_key_id is not None}
    active_keys = (
        set(ApiKey.objects.filter(pk__in=key_ids, revoked_at__isnull=True).values_list("pk", flat=True))
        if key_ids
        else set()
    )
    sessions = sessions_load({p.session_key for p in principals if p.session_key is not None})
    roles: dict[int, Role | None] = {}
    verdicts: dict[Principal, int] = {}
    for principal in principals:
        user = users.get(principal.user_id)
        if (
            user is None
            or not user.is_active
            or (principal.api_key_id is not None and principal.api_key_id not in active_keys)
            or (
                principal.session_key is not None
                and not session_holds(sessions.get(principal.session_key), user)
            )
        ):
            verdicts[principal] = CLOSE_UNAUTHENTICATED
            continue
        if user.pk not in roles:
            roles[user.pk] = role_of(user)
        role = roles[user.pk]
        if not may_view(role):
            verdicts[principal] = CLOSE_FORBIDDEN
        elif role != principal.role:
            verdicts[principal] = CLOSE_UNAUTHENTICATED  # reconnect, with the new role's rights
    return verdicts


def sessions_load(session_keys: Collection[str]) -> dict[str, dict]:
    """The data of each session that still exists and has not expired. The database backends (the default
    one and cached_db, which writes through) in one query; any other backend one session at a time."""
    if not session_keys:
        return {}
    store_class = import_module(settings.SESSION_ENGINE).SessionStore
    if issubclass(store_class, DatabaseSessionStore):
        rows = store_class.get_model_class().objects.filter(
            session_key__in=session_keys, expire_date__gt=timezone.now()
        )
        decoder = store_class()
        return {key: decoder.decode(data) for key, data in rows.values_list("session_key", "session_data")}
    loaded = {key: store_class(key).load() for key in session_keys}
    return {key: data for key, data in loaded.items() if data}


def session_holds(data: dict | None, user) -> bool:
    """Whether a session's data still signs `user` in, as Channels' `get_user` decides it on the upgrade:
    the user's id, a configured backend, and the hash of the user's current password."""
    if not data or data.get(BACKEND_SESSION_KEY) not in settings.AUTHENTICATION_BACKENDS:
        return False
    try:
        if user._meta.pk.to_python(data.get(SESSION_KEY)) != user.pk:
            return False
    except ValidationError:
        return False
    session_hash = data.get(HASH_SESSION_KEY)
    return bool(session_hash) and constant_time_compare(session_hash, user.get_session_auth_hash())


# The receivers, connected in live/apps.py. Each sends its notice after the commit of the change (never for
# a rolled-back one); the periodic re-check covers a notice that is lost.


def notify_on_commit(*, user: int, action: str, key: int | None = None, session: str | None = None) -> None:
    notice = {"user": user, "key": key, "session": session, "action": action}
    transaction.on_commit(lambda: principal_notices_send([notice]), robust=True)


def api_key_saved(sender, instance: ApiKey, **_: object) -> None:
    if instance.revoked_at is not None:
        notify_on_commit(user=instance.user_id, key=instance.pk, action=CLOSE)


def api_key_deleted(sender, instance: ApiKey, **_: object) -> None:
    notify_on_commit(user=instance.user_id, key=instance.pk, action=CLOSE)


def user_saved(sender, instance, created: bool = False, update_fields=None, **_: object) -> None:
    if created or (update_fields is not None and set(update_fields) <= {"last_login"}):
        return  # a new user watches nothing yet; signing in touches last_login only
    notify_on_commit(user=instance.pk, action=CHECK if instance.is_active else CLOSE)


def user_deleted(sender, instance, **_: object) -> None:
    notify_on_commit(user=instance.pk, action=CLOSE)


def user_groups_changed(sender, instance, action: str, reverse: bool, pk_set, **_: object) -> None:
    """A role is a group: any change of a user's groups closes their sockets (4401), and they reconnect
    with the rights of their new role. `user.groups.…` names the user; `group.user_set.…` names users."""
    if reverse and action == "pre_clear":  # the users are gone from the group by post_clear: note them
        instance._live_users_cleared = list(instance.user_set.values_list("pk", flat=True))
        return
    if action not in ("post_add", "post_remove", "post_clear"):
        return
    if not reverse:
        if action != "post_clear" and not pk_set:
            return
        user_ids = [instance.pk]
    elif action == "post_clear":
        user_ids = instance.__dict__.pop("_live_users_cleared", [])
    else:
        user_ids = pk_set or ()
    for user_id in user_ids:
        notify_on_commit(user=user_id, action=CLOSE)


def user_signed_out(sender, request, user, **_: object) -> None:
    """The sockets of the session that signs out (the user's other sessions and keys stay)."""
    session = getattr(request, "session", None)
    session_key = getattr(session, "session_key", None)
    if user is not None and session_key:
        notify_on_commit(user=user.pk, session=session_tag(session_key), action=CLOSE)
