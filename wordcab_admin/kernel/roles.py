"""Roles and what each may do: the one place that pages, the API and websockets ask."""

from collections.abc import Callable
from enum import StrEnum
from functools import wraps

from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from rest_framework.permissions import BasePermission


class Role(StrEnum):
    ADMIN = "admin"
    OPERATOR = "operator"
    COMPLIANCE = "compliance"
    VIEWER = "viewer"


class Capability(StrEnum):
    VIEW = "view"  # read every page and list
    OPERATE = "operate"  # agents, numbers, campaigns, calls
    PLAYBACK = "playback"  # listen to and download recordings
    COMPLIANCE = "compliance"  # jurisdictions, openers, retention, holds, do-not-call, audit log
    ADMINISTER = "administer"  # users and deployment settings


GRANTS: dict[Role, frozenset[Capability]] = {
    Role.ADMIN: frozenset(Capability),
    Role.OPERATOR: frozenset({Capability.VIEW, Capability.OPERATE, Capability.PLAYBACK}),
    Role.COMPLIANCE: frozenset({Capability.VIEW, Capability.COMPLIANCE, Capability.PLAYBACK}),
    Role.VIEWER: frozenset({Capability.VIEW}),
}

# Strongest first: a user in several groups gets the strongest role.
_PRECEDENCE = [Role.ADMIN, Role.OPERATOR, Role.COMPLIANCE, Role.VIEWER]


def role_of(user: AbstractBaseUser | AnonymousUser | None) -> Role | None:
    if user is None or not user.is_authenticated or not user.is_active:
        return None
    if user.is_superuser:
        return Role.ADMIN
    cached = getattr(user, "_wordcab_role", "unset")
    if cached != "unset":
        return cached
    names = set(user.groups.values_list("name", flat=True))
    role = next((r for r in _PRECEDENCE if r.value in names), None)
    user._wordcab_role = role
    return role


def can(user: AbstractBaseUser | AnonymousUser | None, capability: Capability) -> bool:
    role = role_of(user)
    return role is not None and capability in GRANTS[role]


def require(capability: Capability) -> Callable:
    """Page decorator: sign-in first, then the capability (403 page otherwise)."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        @login_required
        def wrapped(request: HttpRequest, *args, **kwargs):
            if not can(request.user, capability):
                raise PermissionDenied(f"Your role may not {capability.value}.")
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


class HasRolePermission(BasePermission):
    """DRF: reads need VIEW; writes need the view's `write_capability` (default OPERATE).

    A view may set `read_capability` too, e.g. PLAYBACK for the recording download."""

    message = "Your role does not allow this."

    def has_permission(self, request, view) -> bool:
        if not (request.user and request.user.is_authenticated):
            return False
        if request.method in ("GET", "HEAD", "OPTIONS"):
            needed = getattr(view, "read_capability", Capability.VIEW)
        else:
            needed = getattr(view, "write_capability", Capability.OPERATE)
        return can(request.user, needed)


def role_context(request: HttpRequest) -> dict:
    """Template context: the role and capability flags, so templates hide what a role may not do."""
    user = getattr(request, "user", None)
    return {
        "role": role_of(user),
        "may": {c.value: can(user, c) for c in Capability},
    }
