from django import forms
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.messages.views import SuccessMessageMixin
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.templatetags.static import static
from django.urls import reverse_lazy
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
from wordcab_admin.kernel.roles import Capability, Role, require


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
    _, raw = api_key_issue(user=request.user, name=form.cleaned_data["name"], actor=request.user)
    request.session["new_key"] = raw  # shown on the next page, once
    messages.success(request, "API key created.")
    return redirect("settings")


@require_POST
@require(Capability.VIEW)
def api_key_revoke_view(request: HttpRequest, key_id: int) -> HttpResponse:
    key = get_object_or_404(ApiKey, pk=key_id, user=request.user)
    api_key_revoke(key=key, actor=request.user)
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
        user, password = user_add(username=request.POST.get("username", ""), role=role, actor=request.user)
    except ValueError as exc:  # UserError, or an unknown role
        messages.error(request, str(exc) if isinstance(exc, UserError) else "Pick one of the roles.")
        return redirect("users")
    request.session["new_user"] = {"username": user.get_username(), "password": password}  # shown once
    return redirect("users")


@require_POST
@require(Capability.ADMINISTER)
def user_one_time_password_view(request: HttpRequest, user_id: int) -> HttpResponse:
    user = get_object_or_404(get_user_model(), pk=user_id)
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
    user = get_object_or_404(get_user_model(), pk=user_id)
    active = request.POST.get("active") == "true"
    try:
        user_set_active(user=user, active=active, actor=request.user)
    except UserError as exc:
        messages.error(request, str(exc))
    else:
        done = "reactivated: they may sign in again" if active else "deactivated: they cannot sign in"
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
