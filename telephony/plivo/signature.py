"""Plivo's V3 webhook signature: HMAC-SHA256 with the auth token over the full URL we were called at (query
included), the POST parameters sorted by name, and the `X-Plivo-Signature-V3-Nonce`, base64; the header
`X-Plivo-Signature-V3` may list several signatures (one per token, while a token is rotated).

The SDK's own `validate_v3_signature` does the work; this module only says "no" to whatever it cannot
judge (a missing header, an unset token), so a webhook is refused rather than an error raised."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from plivo.exceptions import PlivoRestError
from plivo.utils import validate_v3_signature

from telephony.credentials import credential

log = logging.getLogger(__name__)

Params = Mapping[str, str | list[str]]


def plivo_signature_valid(
    *, method: str, url: str, params: Params, nonce: str | None, signature: str | None
) -> bool:
    """Whether `signature` is Plivo's V3 signature of this request under PLIVO_AUTH_TOKEN."""
    auth_token = credential("plivo", "auth_token")
    if not (auth_token and nonce and signature):
        return False
    try:
        return bool(
            validate_v3_signature(
                method=method,
                uri=url,
                nonce=nonce,
                auth_token=auth_token,
                v3_signature=signature,
                params=dict(params),
            )
        )
    except (PlivoRestError, ValueError, TypeError) as exc:  # the SDK's argument checks: not a signature
        log.warning("Plivo signature could not be checked for %s: %s", url, exc)
        return False
