"""Small helpers the resources share."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote


def given(**fields: Any) -> dict[str, Any]:
    """The fields the caller passed: None means "not given" (the server's default, or no change)."""
    return {name: value for name, value in fields.items() if value is not None}


def segment(value: str) -> str:
    """An id as one URL path segment: a `+`, `/` or `?` in it cannot change the path."""
    return quote(str(value), safe="")
