"""Telnyx webhook signatures: Ed25519 over `f"{telnyx-timestamp}|{raw body}"`, checked with the account's
public key (TELNYX_PUBLIC_KEY, base64 as Telnyx's portal shows it), and a timestamp within 5 minutes of
now so that a captured webhook cannot be replayed later. Checked on the raw bytes, before anything is
parsed."""

from __future__ import annotations

import base64
import binascii
import time

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from telephony.credentials import credential

TOLERANCE_SECONDS = 300


def _public_key() -> Ed25519PublicKey | None:
    try:
        return Ed25519PublicKey.from_public_bytes(base64.b64decode(credential("telnyx", "public_key")))
    except (binascii.Error, ValueError):
        return None  # unset or not a 32-byte key: nothing can be verified, so nothing is trusted


def telnyx_signature_refusal(
    *, body: bytes, signature: str | None, timestamp: str | None, now: float | None = None
) -> str:
    """ "" when the webhook is provably Telnyx's and fresh, else why it is refused (a sentence)."""
    if not signature or not timestamp:
        return "Missing telnyx-signature-ed25519 or telnyx-timestamp."
    key = _public_key()
    if key is None:
        return "TELNYX_PUBLIC_KEY is not set (or not a base64 Ed25519 key): webhooks cannot be verified."
    try:
        key.verify(base64.b64decode(signature, validate=True), timestamp.encode() + b"|" + body)
    except (binascii.Error, ValueError, InvalidSignature):
        return "Invalid telnyx-signature-ed25519."
    try:
        sent_at = int(timestamp)
    except ValueError:
        return "Invalid telnyx-timestamp."
    if abs((time.time() if now is None else now) - sent_at) > TOLERANCE_SECONDS:
        return "The webhook has expired: telnyx-timestamp is more than 5 minutes from now."
    return ""
