"""A Python client of the Wordcab Admin API, shaped like the Wordcab SDK (docs/contract.md):

    from wordcab_admin.client import Client

    client = Client(base_url="http://127.0.0.1:8000", api_key="wck_…")
    call = client.agents.calls.create(agent_id="agent_abc", phone_number="+14155551234", record=True)
    call = client.calls.wait_for(call.id)

It imports nothing of the server (only the standard library and httpx), so scripts may use it anywhere
the project is installed; `wordcab-admin` (client/cli.py) is its command line."""

from wordcab_admin.client._client import VERSION, Client
from wordcab_admin.client._pagination import Paginated
from wordcab_admin.client.errors import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    AuthenticationError,
    ComplianceRefusal,
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
    ValidationError,
    WaitTimeoutError,
)
from wordcab_admin.client.models import (
    Agent,
    APIObject,
    AuditEvent,
    Call,
    Campaign,
    Contact,
    DoNotCallEntry,
    PhoneNumber,
)

__all__ = [
    "VERSION", "APIConnectionError", "APIError", "APIObject", "APITimeoutError", "Agent", "AuditEvent",
    "AuthenticationError", "Call", "Campaign", "Client", "ComplianceRefusal", "ConflictError", "Contact",
    "DoNotCallEntry", "NotFoundError", "Paginated", "PermissionDeniedError", "PhoneNumber", "RateLimitError",
    "ServerError", "ValidationError", "WaitTimeoutError",
]  # fmt: skip
