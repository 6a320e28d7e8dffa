from django import forms
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.messages.views import SuccessMessageMixin
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.templatetags.static import static
from django.urls import reverse, reverse_lazy
from django.views.decorators.http import require_POST

from wordcab_admin.kernel.accounts import (
    ApiKey,
    UserError,
    api_key_issue,
    api_key_revoke,
    password_changed,
    user_add,
    user_change_role,
    user_one_time_password_issue,
    user_set_active,
    users_with_roles,
)
from wordcab_admin.kernel.auth import cool_off_seconds, password_change_pending, password_change_pending_clear
from wordcab_admin.kernel.confirm import confirm_page, confirmed
from wordcab_admin.kernel.roles import Capability, Role, require
from wordcab_admin.kernel.viewer_time_zone import TIME_ZONE_COOKIE, TIME_ZONE_COOKIE_MAX_AGE, time_zone_valid


def favicon(request: HttpRequest) -> HttpResponse:
    """Browsers ask for /favicon.ico wherever a page names no icon (JSON, downloads)."""
    return redirect(static("img/favicon.svg"))


def sign_in_locked_out(request: HttpRequest, original_response=None, credentials=None) -> HttpResponse:
    """axes' lockout answer (AXES_LOCKOUT_CALLABLE), for the sign-in page and the Django admin's alike: our
    sign-in page again, saying why and for how long, as a 429 with Retry-After. (axes 8 passes its
    arguments shifted under ASGI, so neither is read: the username is the one the form posted.)"""
    cool_off = cool_off_seconds(request)
    form = AuthenticationForm(request, initial={"username": request.POST.get("username", "")})
    minutes = None if cool_off is None else max(1, cool_off // 60)
    context = {"form": form, "locked_out": True, "cool_off_minutes": minutes, "next": ""}
    response = render(request, "accounts/login.html", context, status=429)
    if cool_off is not None:
        response["Retry-After"] = str(cool_off)
    return response


@require(Capability.VIEW)
def settings_page(request: HttpRequest, key_attempt: dict | None = None) -> HttpResponse:
    """Settings. `key_attempt` is a refused key name: what was typed (kept in the form) and why."""
    keys = ApiKey.objects.filter(user=request.user)
    context = {
        "keys": keys,
        "new_key": request.session.pop("new_key", None),
        "key_attempt": key_attempt or {},
    }
    return render(request, "accounts/settings.html", context, status=400 if key_attempt else 200)


class ApiKeyNameForm(forms.Form):
    name = forms.CharField(
        max_length=100,
        required=False,
        error_messages={"max_length": "A key's name can be at most 100 characters."},
    )  # a form field also refuses NUL characters, which PostgreSQL cannot store


@require_POST
@require(Capability.VIEW)
def api_key_create_view(request: HttpRequest) -> HttpResponse:
    form = ApiKeyNameForm(request.POST)
    if not form.is_valid():
        typed = request.POST.get("name", "").replace("\x00", "")
        return settings_page(request, key_attempt={"name": typed, "error": " ".join(form.errors["name"])})
    _, raw = api_key_issue(user=request.user, name=form.cleaned_data["name"], actor=request.user)
    request.session["new_key"] = raw  # shown on the next page, once
    messages.success(request, "API key created.")
    return redirect("settings")


def _key_label(key: ApiKey) -> str:
    return f"“{key.name}” ({key.prefix}…)" if key.name else f"{key.prefix}…"


@require_POST
@require(Capability.VIEW)
def api_key_revoke_view(request: HttpRequest, key_id: int) -> HttpResponse:
    """Revoke one of your keys, once you have confirmed it (programs using it stop working at once)."""
    key = get_object_or_404(ApiKey, pk=key_id, user=request.user)
    if key.is_active and not confirmed(request):
        return confirm_page(
            request, title="Revoke an API key", question=f"Revoke the API key {_key_label(key)}?",
            consequence="Every program and script using it stops working at once, and its open live views "
            "close. This cannot be undone: you would create a new key.",
            action=request.path, fields={}, confirm_label="Revoke it", cancel_url=reverse("settings"),
        )  # fmt: skip
    api_key_revoke(key=key, actor=request.user)
    messages.success(request, f"Key {_key_label(key)} revoked: it no longer works.")
    return redirect("settings")


@require(Capability.ADMINISTER)
def users_page(request: HttpRequest, add_attempt: dict | None = None) -> HttpResponse:
    """Users and roles. `add_attempt` is a refused "Add user": what was typed (kept in the form) and why."""
    context = {
        "rows": users_with_roles(),
        "roles": [r.value for r in Role],
        "new_user": request.session.pop("new_user", None),
        "add_attempt": add_attempt or {"role": Role.VIEWER.value},
    }
    return render(request, "accounts/users.html", context, status=400 if add_attempt else 200)


@require_POST
@require(Capability.ADMINISTER)
def user_create_view(request: HttpRequest) -> HttpResponse:
    username, role_name = request.POST.get("username", ""), request.POST.get("role", "")
    try:
        role = Role(role_name)
        user, password = user_add(username=username, role=role, actor=request.user)
    except ValueError as exc:  # UserError, or an unknown role
        error = str(exc) if isinstance(exc, UserError) else "Pick one of the roles."
        return users_page(request, add_attempt={"username": username, "role": role_name, "error": error})
    request.session["new_user"] = {"username": user.get_username(), "password": password}  # shown once
    return redirect("users")


@require_POST
@require(Capability.ADMINISTER)
def user_one_time_password_view(request: HttpRequest, user_id: int) -> HttpResponse:
    """Give someone a new one-time password, once confirmed: their password stops working, their sessions end."""
    user = get_object_or_404(get_user_model(), pk=user_id)
    if user.pk != request.user.pk and not confirmed(request):
        name = user.get_username()
        return confirm_page(
            request, title="Issue a one-time password", question=f"Issue {name} a new one-time password?",
            consequence=f"{name}'s current password stops working and their open sessions end; they sign in "
            "with the new one, shown to you once, and choose their own. Their API keys keep working.",
            action=request.path, fields={}, confirm_label="Issue it", cancel_url=reverse("users"),
        )  # fmt: skip
    try:
        password = user_one_time_password_issue(user=user, actor=request.user)
    except UserError as exc:
        messages.error(request, str(exc))
        return redirect("users")
    request.session["new_user"] = {"username": user.get_username(), "password": password, "reissued": True}
    return redirect("users")


@require_POST
@require(Capability.ADMINISTER)
def user_active_view(request: HttpRequest, user_id: int) -> HttpResponse:
    """Deactivate (once confirmed: their sessions, API keys and live views end at once) or reactivate."""
    user = get_object_or_404(get_user_model(), pk=user_id)
    active = request.POST.get("active") == "true"
    if not active and user.is_active and user.pk != request.user.pk and not confirmed(request):
        name = user.get_username()
        return confirm_page(
            request, title="Deactivate a user", question=f"Deactivate {name}?",
            consequence=f"{name} is signed out everywhere at once: their sessions end, their API keys and "
            "live views stop working, and they cannot sign in. Nothing is deleted; reactivate them to undo it.",
            action=request.path, fields={"active": "false"}, confirm_label=f"Deactivate {name}",
            cancel_url=reverse("users"),
        )  # fmt: skip
    try:
        user_set_active(user=user, active=active, actor=request.user)
    except UserError as exc:
        messages.error(request, str(exc))
    else:
        done = (
            "reactivated: they may sign in again, and their API keys work again"
            if active
            else "deactivated: they are signed out everywhere and cannot sign in"
        )
        messages.success(request, f"{user.get_username()} is {done}.")
    return redirect("users")


@require_POST
@require(Capability.ADMINISTER)
def user_role_view(request: HttpRequest, user_id: int) -> HttpResponse:
    user = get_object_or_404(get_user_model(), pk=user_id)
    try:
        user_change_role(user=user, role=Role(request.POST.get("role", "")), actor=request.user)
    except ValueError as exc:
        messages.error(request, str(exc) if isinstance(exc, UserError) else "Pick one of the roles.")
    else:
        messages.success(request, f"{user.get_username()} is now {request.POST['role']}.")
    return redirect("users")


class PasswordChangeView(SuccessMessageMixin, auth_views.PasswordChangeView):
    """Settings → Change password. After a sign-in with a one-time password every page leads here
    (kernel/auth.py PasswordChangeRequiredMiddleware) until it is changed."""

    template_name = "accounts/password_change.html"
    success_url = reverse_lazy("settings")
    success_message = "Your password was changed."

    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), "one_time": password_change_pending(self.request)}

    def form_valid(self, form):
        response = super().form_valid(form)
        password_changed(form.user)
        password_change_pending_clear(self.request)
        return response


@require_POST
@require(Capability.VIEW)
def time_zone_view(request: HttpRequest) -> HttpResponse:
    """Settings → Time zone: the zone this browser shows times in (a cookie: kernel/viewer_time_zone.py)."""
    name = request.POST.get("time_zone", "").strip()
    if not time_zone_valid(name):
        messages.error(request, f"Unknown time zone {name[:64]!r}: choose one from the list.")
        return redirect("settings")
    response = redirect("settings")
    response.set_cookie(
        TIME_ZONE_COOKIE,
        name,
        max_age=TIME_ZONE_COOKIE_MAX_AGE,
        secure=request.is_secure(),
        httponly=True,
        samesite="Lax",
    )
    messages.success(request, f"Times are now shown in {name}; exports and the API stay in UTC.")
    return response
