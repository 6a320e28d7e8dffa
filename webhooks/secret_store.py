"""An endpoint's signing secret, kept sealed (wordcab_admin/kernel/sealed.py): shown once when the endpoint
is made, then read only to sign deliveries."""

from webhooks.models import WebhookEndpoint
from wordcab_admin.kernel.sealed import seal, unseal

PURPOSE = "webhooks.endpoint_secret"


def endpoint_secret_seal(secret: str) -> str:
    return seal(PURPOSE, secret)


def endpoint_secret(endpoint: WebhookEndpoint) -> str | None:
    """The secret, or None when it no longer decrypts (SECRET_KEY changed since)."""
    return unseal(PURPOSE, endpoint.secret_sealed)
