"""A provider's credentials: what the operator stored in the UI, else the environment's setting.

`credential("telnyx", "api_key")` reads the stored value for Telnyx's API key, else settings.TELNYX_API_KEY.
"""

from django.conf import settings


def credential(provider: str, key: str) -> str:
    return getattr(settings, f"{provider}_{key}".upper(), "") or ""
