"""The product's own URLs as the outside world reaches them (PUBLIC_BASE_URL): carriers call them back and
sign them, and pages show them to copy into a carrier's console."""

from django.conf import settings


def public_url(path_with_query: str, *, scheme: str = "") -> str:
    """PUBLIC_BASE_URL + path (+ query); `scheme="ws"` gives ws:// or wss://."""
    base = settings.PUBLIC_BASE_URL
    if scheme == "ws":
        base = (
            "wss://" + base.removeprefix("https://")
            if base.startswith("https://")
            else "ws://" + base.removeprefix("http://")
        )
    return base + path_with_query
