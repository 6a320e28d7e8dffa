"""Every telephony provider we ship, found and registered when Django starts.

A provider is one sub-package of `telephony/` whose `provider.py` names its `PROVIDER` (a
calls.providers.TelephonyProvider); its webhooks, if any, are the `urlpatterns` of its `urls.py` (under
/v1/) and its media streams the `websocket_urlpatterns` of its `routing.py`, its pages the `urlpatterns` of its
`page_urls.py`. Nothing else is edited to add
one: the calls registry, the names numbers accept, the API's URLs and the websocket routes all come from
here (docs/providers.md)."""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType

from calls.providers import TelephonyProvider, provider_register
from wordcab_admin.kernel.telephony_providers import ProviderName, provider_name_register


def provider_packages() -> list[str]:
    """The sub-packages of telephony/ that are providers (those with a provider.py), sorted by name."""
    import telephony

    found = []
    for module in pkgutil.iter_modules(telephony.__path__):
        if module.ispkg and importlib.util.find_spec(f"telephony.{module.name}.provider") is not None:
            found.append(module.name)
    return sorted(found)


def _optional_module(package: str, name: str) -> ModuleType | None:
    if importlib.util.find_spec(f"telephony.{package}.{name}") is None:
        return None
    return importlib.import_module(f"telephony.{package}.{name}")


def providers() -> list[TelephonyProvider]:
    return [importlib.import_module(f"telephony.{p}.provider").PROVIDER for p in provider_packages()]


def providers_register() -> None:
    for provider in providers():
        provider_register(provider)
        provider_name_register(
            ProviderName(
                name=provider.name,
                label=provider.label,
                owns_numbers=provider.owns_numbers,
                order=provider.order,
                outbound=provider.outbound,
            )
        )


def provider_urlpatterns() -> list:
    patterns: list = []
    for package in provider_packages():
        module = _optional_module(package, "urls")
        if module is not None:
            patterns += module.urlpatterns
    return patterns


def provider_page_urlpatterns() -> list:
    """The pages a provider adds (its `page_urls.py`), mounted at the site's root."""
    patterns: list = []
    for package in provider_packages():
        module = _optional_module(package, "page_urls")
        if module is not None:
            patterns += module.urlpatterns
    return patterns


def provider_websocket_urlpatterns() -> list:
    patterns: list = []
    for package in provider_packages():
        module = _optional_module(package, "routing")
        if module is not None:
            patterns += module.websocket_urlpatterns
    return patterns
