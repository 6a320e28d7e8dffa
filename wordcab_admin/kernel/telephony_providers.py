"""The names of the telephony providers this deployment has, as the lower apps see them.

A provider is one sub-package of `telephony/` (a higher layer); `telephony.registry` discovers them when
Django starts and registers each one's name here, so that numbers, forms and the API accept exactly the
providers that exist, and adding a provider touches no other app (docs/providers.md)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ProviderName:
    name: str
    label: str
    owns_numbers: bool = True  # False for a leg with no phone number (a browser's WebRTC call)
    order: int = 100  # where it stands in pickers: the simulator first, the carriers after
    outbound: bool = True  # whether calls can be placed through it (a PBX's SIP numbers only receive calls)


_NAMES: dict[str, ProviderName] = {}


def provider_name_register(provider: ProviderName) -> None:
    _NAMES[provider.name] = provider


def registered_providers() -> list[ProviderName]:
    """Every registered provider, in picker order."""
    return sorted(_NAMES.values(), key=lambda p: (p.order, p.name))


def number_providers() -> list[ProviderName]:
    """The providers a phone number may be on, in picker order."""
    return sorted((p for p in _NAMES.values() if p.owns_numbers), key=lambda p: (p.order, p.name))


def number_provider_names() -> list[str]:
    return [p.name for p in number_providers()]


def number_provider_choices() -> list[tuple[str, str]]:
    return [(p.name, p.label) for p in number_providers()]


def provider_label(name: str) -> str:
    provider = _NAMES.get(name)
    return provider.label if provider else name
