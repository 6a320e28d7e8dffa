from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from wordcab_admin.accounts import api_key_create, api_key_revoke
from wordcab_admin.models import ApiKey
from wordcab_admin.roles import Capability, require


@require(Capability.VIEW)
def dashboard(request: HttpRequest) -> HttpResponse:
    from calls.dashboard import dashboard_context  # the wallboard's numbers live with the calls

    return render(request, "dashboard/index.html", dashboard_context())


@require(Capability.VIEW)
def settings_page(request: HttpRequest) -> HttpResponse:
    keys = ApiKey.objects.filter(user=request.user)
    return render(
        request, "accounts/settings.html", {"keys": keys, "new_key": request.session.pop("new_key", None)}
    )


@require_POST
@require(Capability.VIEW)
def api_key_create_view(request: HttpRequest) -> HttpResponse:
    name = request.POST.get("name", "").strip()
    if len(name) > 100:
        messages.error(request, "A key's name can be at most 100 characters.")
        return redirect("settings")
    _, raw = api_key_create(user=request.user, name=name)
    request.session["new_key"] = raw  # shown on the next page, once
    return redirect("settings")


@require_POST
@require(Capability.VIEW)
def api_key_revoke_view(request: HttpRequest, key_id: int) -> HttpResponse:
    key = get_object_or_404(ApiKey, pk=key_id, user=request.user)
    api_key_revoke(key=key)
    messages.success(request, f"Key {key.prefix}… revoked.")
    return redirect("settings")
