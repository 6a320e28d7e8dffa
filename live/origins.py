"""Whose page may open a session-authenticated websocket: the whole-origin check of `/ws/calls`.

A browser sends the signed-in user's session cookie with a websocket upgrade from any page that the
cookie's host serves, whatever its port or scheme: cookies are not bound to either. The upgrade's
`Origin` header (scheme, host and port of the page that opened the socket) is then the only sign of who is
asking, so it is compared whole, as Django's CSRF middleware compares a POST's, with what this site is:

* the origin of the request itself: its scheme (`ws` → `http`, `wss` → `https`, or the forwarded scheme
  when `SECURE_PROXY_SSL_HEADER` is set) and its `Host` header, which must be one of `ALLOWED_HOSTS`;
* each of `CSRF_TRUSTED_ORIGINS` (`scheme://host[:port]`), a wildcard (`https://*.example.com`) standing
  for that domain and its subdomains, as in Django's CSRF check.

Default ports are the same origin written either way (`http://h` is `http://h:80`). Channels'
AllowedHostsOriginValidator, used before, compared the host name alone, so a page on another port of the
same host (`http://127.0.0.1:8399` against a product on `:8311`) read the signed-in user's live feed.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings
from django.http.request import split_domain_port, validate_host
from django.utils.http import is_same_domain

DEFAULT_PORTS = {"http": 80, "https": 443}

Origin = tuple[str, str, int]  # scheme, host (lower case, IPv6 without brackets), port


def origin_parse(value: str) -> Origin | None:
    """`scheme://host[:port]` as a comparable triple with the default port filled in; None for anything
    else (`null`, a path, user info, another scheme, a bad port)."""
    try:
        parts = urlsplit(value.strip())
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if (
        scheme not in DEFAULT_PORTS
        or not parts.hostname
        or "@" in parts.netloc
        or parts.path not in ("", "/")
        or parts.query
        or parts.fragment
    ):
        return None
    return scheme, parts.hostname, DEFAULT_PORTS[scheme] if port is None else port


def _header(scope: dict, name: bytes) -> str | None:
    return next((v.decode("latin-1") for n, v in scope.get("headers", ()) if n == name), None)


def request_scheme(scope: dict) -> str:
    """`http` or `https`, as Django's `HttpRequest.scheme` would say for this upgrade."""
    if settings.SECURE_PROXY_SSL_HEADER:
        meta_name, secure_value = settings.SECURE_PROXY_SSL_HEADER
        header = meta_name.removeprefix("HTTP_").lower().replace("_", "-").encode("latin-1")
        value = _header(scope, header)
        if value is not None:
            return "https" if value.split(",", 1)[0].strip() == secure_value else "http"
    return "https" if scope.get("scheme") in ("wss", "https") else "http"


def request_origin(scope: dict) -> Origin | None:
    """The site's own origin as this upgrade names it: its scheme and its Host (else the server's address),
    provided the host is one of ALLOWED_HOSTS (as Django's `request.get_host()` requires)."""
    host = _header(scope, b"host")
    if host is None:
        server = scope.get("server")
        if not server or server[1] is None:
            return None
        name, port = server
        host = f"[{name}]:{port}" if ":" in name else f"{name}:{port}"
    allowed = settings.ALLOWED_HOSTS
    if settings.DEBUG and not allowed:
        allowed = [".localhost", "127.0.0.1", "[::1]"]  # as Django's get_host
    domain, _ = split_domain_port(host)
    if not domain or not validate_host(domain, allowed):
        return None
    return origin_parse(f"{request_scheme(scope)}://{host}")


def trusted(origin: Origin) -> bool:
    """Whether CSRF_TRUSTED_ORIGINS names `origin`, exactly or by a wildcard for its domain."""
    scheme, host, port = origin
    for entry in settings.CSRF_TRUSTED_ORIGINS:
        allowed = origin_parse(entry)
        if allowed is None or allowed[0] != scheme or allowed[2] != port:
            continue
        if "*" in entry:  # as CsrfViewMiddleware: `*.example.com` is `.example.com`, the domain and below
            if is_same_domain(host, allowed[1].lstrip("*")):
                return True
        elif allowed[1] == host:
            return True
    return False


def origin_allowed(scope: dict) -> bool:
    """Browsers send Origin; a session-authenticated upgrade from any other origin than the site's own or a
    trusted one is refused (cross-site websocket hijacking). Clients that are not browsers send none, and
    are let through to the credentials and role checks."""
    value = _header(scope, b"origin")
    if value is None:
        return True
    origin = origin_parse(value)
    if origin is None:
        return False
    return origin == request_origin(scope) or trusted(origin)
