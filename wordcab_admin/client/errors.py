"""The client's exceptions: one per kind of answer a script handles differently.

Every error the server answers has the shape `{"error": {"code", "message", "field", ...}}`
(docs/contract.md); the exception carries those, the HTTP status, the request id (`X-Request-ID`, which the
server's audit events carry too) and any extra keys of the error (`details`: e.g. `opens_at` of a
calling-window refusal, `retry_after` of a lockout)."""

from __future__ import annotations

from typing import Any

# A refusal of a single call by the compliance rules (422); any other 422 is a plain ValidationError.
COMPLIANCE_CODES = frozenset({"outside_calling_window", "do_not_call"})


class APIError(Exception):
    """Anything the client raises: the server's refusal, or no answer at all (`status` None)."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str = "error",
        field: str | None = None,
        details: dict[str, Any] | None = None,
        request_id: str | None = None,
    ):
        super().__init__(message)
        self.message, self.status, self.code, self.field = message, status, code, field
        self.details = details or {}
        self.request_id = request_id

    def __str__(self) -> str:
        where = f" (field {self.field})" if self.field else ""
        status = f"{self.status} " if self.status is not None else ""
        return f"{status}{self.code}: {self.message}{where}"


class APIConnectionError(APIError):
    """The server could not be reached, or the connection dropped before an answer came."""


class APITimeoutError(APIConnectionError):
    """No answer within the client's timeout."""


class ValidationError(APIError):
    """The input was refused (400, 413, 422): `field` names what to fix."""


class ComplianceRefusal(ValidationError):
    """A call the compliance rules refuse (422): `code` is `outside_calling_window` (`opens_at` says when
    the callee's window opens, or None) or `do_not_call`. Nothing was created."""

    @property
    def opens_at(self) -> str | None:
        return self.details.get("opens_at")


class AuthenticationError(APIError):
    """401: no API key, or one that is unknown or revoked."""


class PermissionDeniedError(APIError):
    """403: the key's role does not allow this (a viewer placing a call, an operator reading the audit log)."""


class NotFoundError(APIError):
    """404: no such object (or not one the key may see)."""


class ConflictError(APIError):
    """409: the request clashes with the current state (an idempotency key reused with another body, a
    number held by another agent, a campaign that cannot move from its status)."""


class RateLimitError(APIError):
    """429: too many requests (the server locks out an address after too many unknown keys)."""

    @property
    def retry_after(self) -> float | None:
        value = self.details.get("retry_after")
        return float(value) if value is not None else None


class ServerError(APIError):
    """5xx: the server failed or a part of it is unavailable; retried before this is raised."""


class WaitTimeoutError(APIError):
    """`wait_for` gave up: the object did not reach the awaited state in time. `last` is what it saw last."""

    def __init__(self, message: str, *, last: Any = None):
        super().__init__(message, code="wait_timeout")
        self.last = last


_BY_STATUS: dict[int, type[APIError]] = {
    400: ValidationError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    413: ValidationError,
    422: ValidationError,
    429: RateLimitError,
}


def error_for_answer(status: int, body: Any, *, request_id: str | None, reason: str = "") -> APIError:
    """The exception for an error answer: its class by status (and, for 422, by code), its fields from the
    error shape; a body without that shape (a proxy's HTML page) still gives the status and a message."""
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        error = {"code": f"http_{status}", "message": reason or f"HTTP {status}"}
    code = str(error.get("code") or f"http_{status}")
    message = str(error.get("message") or reason or f"HTTP {status}")
    details = {k: v for k, v in error.items() if k not in ("code", "message", "field")}
    if status == 422 and code in COMPLIANCE_CODES:
        cls: type[APIError] = ComplianceRefusal
    elif status >= 500:
        cls = ServerError
    else:
        cls = _BY_STATUS.get(status, APIError)
    return cls(
        message,
        status=status,
        code=code,
        field=error.get("field"),
        details=details,
        request_id=request_id,
    )
