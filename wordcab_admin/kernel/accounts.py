"""API keys, users and the first admin: the ApiKey and AccountState models (app label `wordcab_admin`;
wordcab_admin/models.py registers them); key creation, lookup (with its lockout per client address) and
revocation, shared by the command, the UI, DRF and the websockets; users with one-time passwords,
deactivation."""

import hashlib
import logging
import math
import secrets
import time
from collections.abc import Callable
from datetime import timedelta

from axes.utils import reset as sign_in_failures_reset
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, Group
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils import timezone
from redis.exceptions import RedisError

from wordcab_admin.kernel.audit import audit_record
from wordcab_admin.kernel.errors import DomainError
from wordcab_admin.kernel.roles import Role

log = logging.getLogger(__name__)

Actor = AbstractBaseUser | AnonymousUser | None


def hash_api_key(raw_key: str) -> str:
    # Keys are 256-bit random tokens, so a fast hash is enough: there is nothing to brute-force.
    return hashlib.sha256(raw_key.encode()).hexdigest()


class ApiKey(models.Model):
    """An API key belongs to a user and carries that user's role. Only its hash is stored."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=100, default="")
    prefix = models.CharField(max_length=16, help_text="The first characters, to tell keys apart in lists.")
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user})"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


KEY_PREFIX = "wck_"
_LAST_USED_GRANULARITY = timedelta(minutes=1)  # don't write a row on every request


def api_key_create(*, user: AbstractBaseUser, name: str = "") -> tuple[ApiKey, str]:
    """Return the stored key and the raw key, which is shown once and never stored. The key alone:
    `api_key_issue` is what a person's request (the settings page, `POST /v1/api-keys`) calls."""
    raw = KEY_PREFIX + secrets.token_urlsafe(32)
    key = ApiKey.objects.create(user=user, name=name[:100], prefix=raw[:12], key_hash=hash_api_key(raw))
    return key, raw


def _api_key_audit_view(key: ApiKey) -> dict:
    """What the audit log keeps of a key: whose it is and how to tell it apart, never the key itself."""
    return {"user": key.user.get_username(), "name": key.name, "prefix": key.prefix}


def api_key_issue(*, user: AbstractBaseUser, name: str = "", actor: Actor) -> tuple[ApiKey, str]:
    """`api_key_create` on someone's request, audited (`api_key.created`) in the same transaction."""
    with transaction.atomic():
        key, raw = api_key_create(user=user, name=name)
        audit_record(
            actor=actor, action="api_key.created", object_type="api_key", object_id=str(key.pk),
            after=_api_key_audit_view(key),
        )  # fmt: skip
    return key, raw


def api_key_authenticate(raw: str) -> ApiKey | None:
    try:
        key = ApiKey.objects.select_related("user").get(key_hash=hash_api_key(raw), revoked_at__isnull=True)
    except ApiKey.DoesNotExist:
        return None
    if not key.user.is_active:
        return None
    now = timezone.now()
    if key.last_used_at is None or now - key.last_used_at > _LAST_USED_GRANULARITY:
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
    return key


class TooManyFailures(DomainError):
    """Too many unknown keys from one address: every key from it is refused for a while (429)."""

    status, code = 429, "too_many_failures"

    def __init__(self, retry_after: int):
        super().__init__(
            f"Too many failed API key attempts from your address; try again in {retry_after} seconds.",
            retry_after=retry_after,
        )
        self.headers = {"Retry-After": str(retry_after)}


def _lockout_cache_keys(address: str | None) -> tuple[str, str]:
    address = address or "unknown"
    return f"auth:api-key-failures:{address}", f"auth:api-key-lockout:{address}"


def api_key_lockout_left(address: str | None) -> int:
    """Seconds until keys from `address` are looked up again; 0 when it is not locked out."""
    until = cache.get(_lockout_cache_keys(address)[1])
    return 0 if until is None else max(1, math.ceil(until - time.time()))


def api_key_failure_record(address: str | None) -> int:
    """Count a failed key lookup from `address` in the cache that every web process shares. At the
    API_KEY_FAILURE_LIMIT-th failure within API_KEY_FAILURE_WINDOW_SECONDS the address is locked out for
    API_KEY_LOCKOUT_SECONDS, audited once; answer the seconds left of the lockout (0: not locked out)."""
    failures_key, lockout_key = _lockout_cache_keys(address)
    cache.add(failures_key, 0, timeout=settings.API_KEY_FAILURE_WINDOW_SECONDS)
    try:
        failures = cache.incr(failures_key)
    except ValueError:  # the window ended between add and incr
        cache.add(failures_key, 1, timeout=settings.API_KEY_FAILURE_WINDOW_SECONDS)
        failures = 1
    if failures < settings.API_KEY_FAILURE_LIMIT:
        return 0
    seconds = settings.API_KEY_LOCKOUT_SECONDS
    if cache.add(lockout_key, time.time() + seconds, timeout=seconds):  # the first one locks, and audits
        cache.delete(failures_key)  # after the lockout, a fresh count
        audit_record(
            actor=None, action="auth.api_key_locked_out", object_type="address",
            object_id=(address or "unknown")[:64], after={"failures": failures, "lockout_seconds": seconds},
        )  # fmt: skip
    return api_key_lockout_left(address) or seconds


def api_key_lockout_clear(address: str | None) -> None:
    """Forget the failures and the lockout of `address` (an admin's shell; tests)."""
    cache.delete_many(list(_lockout_cache_keys(address)))


def api_key_authenticate_from(raw: str, *, address: str | None) -> ApiKey | None:
    """`api_key_authenticate` for a client at `address`: while the address is locked out after too many
    unknown keys, every key is refused (a valid one too, or the guessing would go on); TooManyFailures."""
    left = _fail_open(api_key_lockout_left, address)
    if left:
        raise TooManyFailures(left)
    key = api_key_authenticate(raw)
    if key is None:
        left = _fail_open(api_key_failure_record, address)
        if left:
            raise TooManyFailures(left)
    return key


def _fail_open(check: Callable[[str | None], int], address: str | None) -> int:
    """The lockout's cache is Redis: while it is unreachable, keys are checked without the lockout (logged)
    rather than every API request failing with it."""
    try:
        return check(address)
    except (RedisError, OSError) as exc:
        log.warning("API key lockout unavailable (%s): checking keys without it", exc)
        return 0


def api_key_revoke(*, key: ApiKey, actor: Actor = None) -> None:
    """Revoke a key once (revoking it again keeps the first time), audited (`api_key.revoked`, by `actor`;
    None: the system). Saved through the model rather than by a bare UPDATE, so that post_save tells whoever
    listens: live closes the key's open sockets."""
    with transaction.atomic():
        current = ApiKey.objects.select_for_update().filter(pk=key.pk, revoked_at__isnull=True).first()
        if current is not None:
            current.revoked_at = timezone.now()
            current.save(update_fields=["revoked_at"])
            audit_record(
                actor=actor, action="api_key.revoked", object_type="api_key", object_id=str(current.pk),
                before={"active": True}, after={**_api_key_audit_view(current), "active": False},
            )  # fmt: skip


def user_set_role(*, user: AbstractBaseUser, role: Role) -> None:
    with transaction.atomic():
        user.groups.remove(*Group.objects.filter(name__in=[r.value for r in Role]))
        user.groups.add(Group.objects.get_or_create(name=role.value)[0])
    user.__dict__.pop("_wordcab_role", None)


class UserError(ValueError):
    """A user change that cannot be made, with a message fit to show."""


class AccountState(models.Model):
    """What a user's account holds besides Django's user: whether its password is a one-time password
    (generated, shown once to whoever set it) that must be changed at the next sign-in."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True, related_name="account_state"
    )
    must_change_password = models.BooleanField(default=False)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.user} (must change password: {self.must_change_password})"


def _one_time_password_set(user: AbstractBaseUser) -> str:
    """Give `user` a new generated password, marked one-time; answer it (to be shown once)."""
    password = secrets.token_urlsafe(12)
    user.set_password(password)
    user.save(update_fields=["password"])
    AccountState.objects.update_or_create(user=user, defaults={"must_change_password": True})
    return password


def password_change_required(user: AbstractBaseUser) -> bool:
    """Whether `user` signs in with a one-time password, to be changed before anything else."""
    return AccountState.objects.filter(user_id=user.pk, must_change_password=True).exists()


def password_changed(user: AbstractBaseUser) -> None:
    """The user chose their own password: it is no longer one-time."""
    AccountState.objects.filter(user_id=user.pk, must_change_password=True).update(
        must_change_password=False, updated_at=timezone.now()
    )


def user_create(*, username: str, role: Role) -> tuple[AbstractBaseUser, str]:
    """Create a user with a role and a one-time password, returned once (they must change it when they
    first sign in). The user alone: `user_add` is the admin's action, audited."""
    username = username.strip()
    user_model = get_user_model()
    field = user_model._meta.get_field(user_model.USERNAME_FIELD)
    try:
        field.run_validators(username)
    except ValidationError as exc:
        raise UserError(" ".join(exc.messages)) from None
    if not username or len(username) > field.max_length:
        raise UserError(f"A username has 1 to {field.max_length} characters.")
    with transaction.atomic():
        if user_model.objects.filter(**{f"{user_model.USERNAME_FIELD}__iexact": username}).exists():
            raise UserError(f"There is already a user named {username}.")
        user = user_model.objects.create_user(username=username)
        password = _one_time_password_set(user)
        user_set_role(user=user, role=role)
    return user, password


def user_add(*, username: str, role: Role, actor: Actor) -> tuple[AbstractBaseUser, str]:
    """An admin adds someone: `user_create`, audited (`user.created`, with the role) in one transaction."""
    with transaction.atomic():
        user, password = user_create(username=username, role=role)
        audit_record(
            actor=actor, action="user.created", object_type="user", object_id=user.get_username()[:64],
            after={"username": user.get_username(), "role": role.value},
        )  # fmt: skip
    return user, password


def user_change_role(*, user: AbstractBaseUser, role: Role, actor: AbstractBaseUser) -> None:
    """Change someone's role; nobody changes their own (so the last admin cannot lock everyone out)."""
    if user.pk == actor.pk:
        raise UserError("You cannot change your own role; ask another admin.")
    if user.is_superuser and role != Role.ADMIN:
        raise UserError(f"{user.get_username()} is a superuser and so always an admin.")
    before = _role_held(user)
    with transaction.atomic():
        user_set_role(user=user, role=role)
        if before != role:
            audit_record(
                actor=actor, action="user.role_changed", object_type="user",
                object_id=user.get_username()[:64], before={"role": before}, after={"role": role.value},
            )  # fmt: skip


def user_one_time_password_issue(*, user: AbstractBaseUser, actor: AbstractBaseUser) -> str:
    """An admin gives someone a new one-time password (forgotten, or to be replaced): answered once, to
    be changed at their next sign-in. Their sessions end (the password changed); their API keys stay. The
    failed sign-ins of their username are forgotten, so that a user locked out may sign in at once."""
    if user.pk == actor.pk:
        raise UserError("You cannot issue yourself a one-time password; change your password instead.")
    with transaction.atomic():
        password = _one_time_password_set(user)
        cleared = sign_in_failures_reset(username=user.get_username())
        audit_record(
            actor=actor, action="user.one_time_password_issued", object_type="user",
            object_id=user.get_username()[:64], after={"sign_in_failures_cleared": cleared},
        )  # fmt: skip
    return password


def user_set_active(*, user: AbstractBaseUser, active: bool, actor: AbstractBaseUser) -> None:
    """Deactivate or reactivate someone. A deactivated user cannot sign in, their sessions end and their
    API keys are refused (nothing is deleted). Nobody deactivates themselves (so an admin always remains)."""
    if user.pk == actor.pk:
        raise UserError("You cannot deactivate yourself; ask another admin.")
    if user.is_active == active:
        return
    with transaction.atomic():
        user.is_active = active
        user.save(update_fields=["is_active"])
        audit_record(
            actor=actor, action="user.reactivated" if active else "user.deactivated", object_type="user",
            object_id=user.get_username()[:64], before={"is_active": not active}, after={"is_active": active},
        )  # fmt: skip


_STRONGEST_FIRST = [Role.ADMIN, Role.OPERATOR, Role.COMPLIANCE, Role.VIEWER]  # as roles.role_of


def _role_held(user: AbstractBaseUser) -> Role | None:
    """The role a user's groups give, active or not (roles.role_of answers None for a deactivated user)."""
    if user.is_superuser:
        return Role.ADMIN
    names = {group.name for group in user.groups.all()}
    return next((r for r in _STRONGEST_FIRST if r.value in names), None)


def users_with_roles() -> list[tuple[AbstractBaseUser, Role | None]]:
    """Every user with their role (and account state), in two queries whatever the number of users."""
    users = get_user_model().objects.select_related("account_state").prefetch_related("groups")
    return [(user, _role_held(user)) for user in users.order_by("username")]


def first_admin_ensure() -> tuple[str, str] | None:
    """On a fresh install create `admin` with a one-time password (to be changed at the first sign-in);
    return (username, password) once."""
    user_model = get_user_model()
    if user_model.objects.exists():
        return None
    with transaction.atomic():
        user = user_model.objects.create_superuser(username="admin", email="", password=None)
        password = _one_time_password_set(user)
        user_set_role(user=user, role=Role.ADMIN)
        audit_record(
            actor=None, action="user.created", object_type="user", object_id=user.get_username(),
            after={"username": user.get_username(), "role": Role.ADMIN.value, "first_admin": True},
        )  # fmt: skip
    return user.username, password
