from django import forms
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth import views as auth_views
from django.contrib.messages.views import SuccessMessageMixin
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.templatetags.static import static
from django.urls import reverse_lazy
from django.views.decorators.http import require_POST

from wordcab_admin.kernel.accounts import (
    ApiKey,
    UserError,
    api_key_create,
    api_key_revoke,
    user_change_role,
    user_create,
    users_with_roles,
)
from wordcab_admin.kernel.roles import Capability, Role, require


def favicon(request: HttpRequest) -> HttpResponse:
    """Browsers ask for /favicon.ico wherever a page names no icon (JSON, downloads)."""
    return redirect(static("img/favicon.svg"))


@require(Capability.VIEW)
def settings_page(request: HttpRequest) -> HttpResponse:
    keys = ApiKey.objects.filter(user=request.user)
    return render(
        request, "accounts/settings.html", {"keys": keys, "new_key": request.session.pop("new_key", None)}
    )


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
        messages.error(request, " ".join(form.errors["name"]))
        return redirect("settings")
    _, raw = api_key_create(user=request.user, name=form.cleaned_data["name"])
    request.session["new_key"] = raw  # shown on the next page, once
    messages.success(request, "API key created.")
    return redirect("settings")


@require_POST
@require(Capability.VIEW)
def api_key_revoke_view(request: HttpRequest, key_id: int) -> HttpResponse:
    key = get_object_or_404(ApiKey, pk=key_id, user=request.user)
    api_key_revoke(key=key)
    messages.success(request, f"Key {key.prefix}… revoked.")
    return redirect("settings")


@require(Capability.ADMINISTER)
def users_page(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "accounts/users.html",
        {
            "rows": users_with_roles(),
            "roles": [r.value for r in Role],
            "new_user": request.session.pop("new_user", None),
        },
    )


@require_POST
@require(Capability.ADMINISTER)
def user_create_view(request: HttpRequest) -> HttpResponse:
    try:
        role = Role(request.POST.get("role", ""))
        user, password = user_create(username=request.POST.get("username", ""), role=role)
    except ValueError as exc:  # UserError, or an unknown role
        messages.error(request, str(exc) if isinstance(exc, UserError) else "Pick one of the roles.")
        return redirect("users")
    request.session["new_user"] = {"username": user.get_username(), "password": password}  # shown once
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
    """Settings → Change password (the first admin's one-time password is meant to be changed here)."""

    template_name = "accounts/password_change.html"
    success_url = reverse_lazy("settings")
    success_message = "Your password was changed."
