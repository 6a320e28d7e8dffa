"""Secrets kept encrypted at rest (a webhook endpoint's signing secret, a carrier's credentials).

Fernet (AES-128-CBC + HMAC-SHA256, from `cryptography`) with a key derived from SECRET_KEY by HKDF-SHA256
and a purpose label of the caller's: a token sealed for one purpose does not open for another, and a
database dump alone opens nothing. Rotating SECRET_KEY makes every sealed value unreadable: `unseal`
answers None then, and the caller says so (e.g. "re-create the endpoint's secret") rather than failing."""

import base64
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

_SALT = b"wordcab-admin.sealed.v1"


@lru_cache(maxsize=32)
def _fernet(secret_key: str, purpose: str) -> Fernet:
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=_SALT, info=purpose.encode()).derive(
        secret_key.encode()
    )
    return Fernet(base64.urlsafe_b64encode(derived))


def seal(purpose: str, text: str) -> str:
    """`text` encrypted for `purpose` (a short label such as "webhooks.endpoint_secret"), as ASCII."""
    return _fernet(settings.SECRET_KEY, purpose).encrypt(text.encode()).decode("ascii")


def unseal(purpose: str, token: str) -> str | None:
    """The text sealed for `purpose`, or None when the token no longer decrypts (another SECRET_KEY, another
    purpose, a damaged value)."""
    try:
        return _fernet(settings.SECRET_KEY, purpose).decrypt(token.encode("ascii")).decode()
    except (InvalidToken, UnicodeError, ValueError):
        return None
