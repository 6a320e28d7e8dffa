"""Settings → Providers (/settings/providers/): each provider's credentials, stored here (encrypted) or named
by environment variable, and the URLs to paste into the carrier's console. Admins only, like users.

A stored secret is shown once, on the page right after saving it (carried there in the session as its
encrypted token, never in clear), then only masked."""

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from calls.providers import CredentialField, TelephonyProvider
from telephony.credentials import (
    CredentialError,
    credential_decrypt,
    credential_encrypt,
    provider_credential_clear,
    provider_credential_store,
    provider_statuses,
)
from telephony.registry import providers
from wordcab_admin.kernel.confirm import confirm_page, confirmed
from wordcab_admin.kernel.roles import Capability, require

JUST_STORED = "provider_credential_just_stored"  # the session key of the value shown once
SOURCES = {"value": "the value", "environment": "an environment variable's name"}


def _providers_in_order() -> list[TelephonyProvider]:
    """The registry's providers as pickers order them (telephony.registry finds them by package name)."""
    return sorted(providers(), key=lambda p: (p.order, p.name))


def _provider_field(provider_name: str, key: str) -> tuple[TelephonyProvider, CredentialField]:
    for provider in providers():
        if provider.name == provider_name:
            for field in provider.credentials:
                if field.key == key:
                    return provider, field
    raise Http404(f"No credential {key!r} for a provider {provider_name!r}.")


def _just_stored(request: HttpRequest) -> dict | None:
    """The credential stored by the previous request, with its value in clear: shown on this page only."""
    stored = request.session.pop(JUST_STORED, None)
    if not stored:
        return None
    value = credential_decrypt(stored.get("token", ""))
    return {**stored, "value": value} if value else None


@require(Capability.ADMINISTER)
def provider_credentials_page(request: HttpRequest, attempt: dict | None = None) -> HttpResponse:
    """`attempt` is a refused save: which credential, how it was given, and why it was refused (the typed
    value is not sent back)."""
    context = {
        "statuses": provider_statuses(_providers_in_order()),
        "just_stored": _just_stored(request),
        "attempt": attempt or {},
        "sources": SOURCES,
    }
    return render(request, "telephony/credentials.html", context, status=400 if attempt else 200)


@require_POST
@require(Capability.ADMINISTER)
def provider_credential_set_view(request: HttpRequest, provider: str, key: str) -> HttpResponse:
    """Store a credential's value (form `source=value`) or the environment variable that holds it
    (`source=environment`), both typed in `value`."""
    found, field = _provider_field(provider, key)
    source, typed = request.POST.get("source", "value"), request.POST.get("value", "")
    try:
        if source not in SOURCES:
            raise CredentialError("Choose whether you typed the value or an environment variable's name.")
        if source == "environment":
            provider_credential_store(provider=found, field=field, env_name=typed, actor=request.user)
        else:
            provider_credential_store(provider=found, field=field, value=typed, actor=request.user)
    except CredentialError as exc:
        return provider_credentials_page(
            request, attempt={"provider": provider, "key": key, "source": source, "error": exc.message}
        )
    label = f"{found.label or found.name} {field.label}"
    if source == "value" and field.secret:
        request.session[JUST_STORED] = {
            "provider": provider,
            "key": key,
            "label": label,
            "token": credential_encrypt(typed.strip()),
        }
        messages.success(request, f"{label} saved, encrypted.")
    else:
        messages.success(request, f"{label} is now read from the environment variable {typed.strip()}.")
    return redirect(f"{reverse('provider_credentials')}#provider-{provider}")


@require_POST
@require(Capability.ADMINISTER)
def provider_credential_clear_view(request: HttpRequest, provider: str, key: str) -> HttpResponse:
    """Remove what was stored, once confirmed: calls through the provider may stop working."""
    found, field = _provider_field(provider, key)
    label = f"{found.label or found.name} {field.label}"
    if not confirmed(request):
        return confirm_page(
            request, title="Clear a provider credential", question=f"Clear the stored {label}?",
            consequence=f"Calls through {found.label or found.name} then use the setting "
            f"{found.name.upper()}_{field.key.upper()} if the deployment has one, and stop working if it "
            "has none. The stored value is deleted: you would enter it again.",
            action=request.path, fields={}, confirm_label="Clear it", cancel_url=reverse("provider_credentials"),
        )  # fmt: skip
    if provider_credential_clear(provider=found, field=field, actor=request.user):
        messages.success(request, f"{label} cleared.")
    else:
        messages.info(request, f"{label} had nothing stored.")
    return redirect(f"{reverse('provider_credentials')}#provider-{provider}")
