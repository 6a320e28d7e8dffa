"""API keys and the first admin: the ApiKey model (app label `wordcab_admin`; wordcab_admin/models.py
registers it), creation, lookup and revocation, shared by the command, the UI, DRF and the websockets."""

import hashlib
import secrets
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, Group
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils import timezone

from wordcab_admin.kernel.roles import Role


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
    """Return the stored key and the raw key, which is shown once and never stored."""
    raw = KEY_PREFIX + secrets.token_urlsafe(32)
    key = ApiKey.objects.create(user=user, name=name[:100], prefix=raw[:12], key_hash=hash_api_key(raw))
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


def api_key_revoke(*, key: ApiKey) -> None:
    ApiKey.objects.filter(pk=key.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())


def user_set_role(*, user: AbstractBaseUser, role: Role) -> None:
    with transaction.atomic():
        user.groups.remove(*Group.objects.filter(name__in=[r.value for r in Role]))
        user.groups.add(Group.objects.get_or_create(name=role.value)[0])
    user.__dict__.pop("_wordcab_role", None)


class UserError(ValueError):
    """A user change that cannot be made, with a message fit to show."""


def user_create(*, username: str, role: Role) -> tuple[AbstractBaseUser, str]:
    """Create a user with a role and a one-time password, returned once (they change it after signing in)."""
    username = username.strip()
    user_model = get_user_model()
    field = user_model._meta.get_field(user_model.USERNAME_FIELD)
    try:
        field.run_validators(username)
    except ValidationError as exc:
        raise UserError(" ".join(exc.messages)) from None
    if not username or len(username) > field.max_length:
        raise UserError(f"A username has 1 to {field.max_length} characters.")
    password = secrets.token_urlsafe(12)
    with transaction.atomic():
        if user_model.objects.filter(**{f"{user_model.USERNAME_FIELD}__iexact": username}).exists():
            raise UserError(f"There is already a user named {username}.")
        user = user_model.objects.create_user(username=username, password=password)
        user_set_role(user=user, role=role)
    return user, password


def user_change_role(*, user: AbstractBaseUser, role: Role, actor: AbstractBaseUser) -> None:
    """Change someone's role; nobody changes their own (so the last admin cannot lock everyone out)."""
    if user.pk == actor.pk:
        raise UserError("You cannot change your own role; ask another admin.")
    if user.is_superuser and role != Role.ADMIN:
        raise UserError(f"{user.get_username()} is a superuser and so always an admin.")
    user_set_role(user=user, role=role)


def users_with_roles() -> list[tuple[AbstractBaseUser, Role | None]]:
    """Every user with their role, in two queries whatever the number of users."""
    order = [Role.ADMIN, Role.OPERATOR, Role.COMPLIANCE, Role.VIEWER]  # strongest first, as roles.role_of
    rows = []
    for user in get_user_model().objects.prefetch_related("groups").order_by("username"):
        names = {group.name for group in user.groups.all()}
        role = Role.ADMIN if user.is_superuser else next((r for r in order if r.value in names), None)
        rows.append((user, role))
    return rows


def first_admin_ensure() -> tuple[str, str] | None:
    """On a fresh install create `admin` with a one-time password; return (username, password) once."""
    user_model = get_user_model()
    if user_model.objects.exists():
        return None
    password = secrets.token_urlsafe(12)
    user = user_model.objects.create_superuser(username="admin", email="", password=password)
    user_set_role(user=user, role=Role.ADMIN)
    return user.username, password
