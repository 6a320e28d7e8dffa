"""Where a delivery may go: http(s) only, and never to a private, loopback, link-local, unspecified,
multicast or reserved address unless WEBHOOKS_ALLOW_PRIVATE_NETWORKS is on.

The check is made on the addresses the name resolves to *now*, and the delivery then connects to one of
those checked addresses (webhooks/delivery.py puts the IP in the URL and keeps the name in the Host header
and the TLS SNI). Checking a name and letting the HTTP client resolve it again would leave a gap for DNS
rebinding: a name that answers a public address to the check and 127.0.0.1 to the connection."""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings

ALLOWED_SCHEMES = ("http", "https")
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class Refused(Exception):
    """The URL may not be delivered to; the message says why, for a person."""


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str  # as in the URL: the Host header and the TLS server name
    port: int
    addresses: tuple[str, ...]  # checked, in the resolver's order


def url_problem(url: str) -> str | None:
    """Why `url` cannot be an endpoint's URL (its shape only), or None."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 -- raises on a bad port
    except ValueError as exc:
        return f"Not a valid URL: {exc}."
    if parts.scheme.lower() not in ALLOWED_SCHEMES:
        return "Only http and https URLs are allowed."
    if not parts.hostname:
        return "The URL has no host."
    if parts.username or parts.password:
        return "Put no credentials in the URL; check the Wordcab-Signature header instead."
    return None


def address_problem(address: IPAddress) -> str | None:
    """What kind of address this is when it is not a public one, or None."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    for kind, yes in (
        ("a loopback", address.is_loopback),
        ("a link-local", address.is_link_local),
        ("an unspecified", address.is_unspecified),
        ("a multicast", address.is_multicast),
        ("a private", address.is_private),
        ("a reserved", address.is_reserved),
        ("a non-public", not address.is_global),
    ):
        if yes:
            return f"{kind} address"
    return None


def _resolved(host: str, port: int) -> list[str]:
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError) as exc:
        raise Refused(f"{host} does not resolve ({exc}).") from exc
    addresses: list[str] = []
    for _family, _type, _proto, _name, sockaddr in found:
        if sockaddr[0] not in addresses:
            addresses.append(sockaddr[0].split("%", 1)[0])  # an IPv6 zone id is not part of the address
    return addresses


def target_checked(url: str) -> Target:
    """Resolve the URL's host and check every address it resolves to; Refused with a readable reason."""
    problem = url_problem(url)
    if problem:
        raise Refused(problem)
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    host = parts.hostname or ""
    port = parts.port or (443 if scheme == "https" else 80)
    addresses = _resolved(host, port)
    if not addresses:
        raise Refused(f"{host} resolves to no address.")
    if not settings.WEBHOOKS_ALLOW_PRIVATE_NETWORKS:
        for text in addresses:
            kind = address_problem(ipaddress.ip_address(text))
            if kind:
                named = host if host == text else f"{host} resolves to {text}, which"
                raise Refused(
                    f"Refused: {named} is {kind}. Deliveries to private networks are off "
                    "(WEBHOOKS_ALLOW_PRIVATE_NETWORKS=false)."
                )
    return Target(scheme=scheme, host=host, port=port, addresses=tuple(addresses))
