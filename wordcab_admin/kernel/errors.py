"""Domain errors: what a service refuses, and why, in words a person can act on.

Services in every app raise these; the API answers them as `{"error": {"code", "message", "field"}}` with
`status` (wordcab_admin/kernel/api_errors.py) and pages show `message`."""

from typing import Any


class DomainError(Exception):
    status, code = 400, "invalid"

    def __init__(self, message: str, *, field: str | None = None, code: str | None = None, **extra: Any):
        super().__init__(message)
        self.message, self.field = message, field
        if code:
            self.code = code
        self.extra = extra


class NotFound(DomainError):
    status, code = 404, "not_found"


class Conflict(DomainError):
    status, code = 409, "conflict"


class NumberInUse(DomainError):
    status, code = 409, "number_in_use"


class IdempotencyConflict(DomainError):
    status, code = 409, "idempotency_conflict"


class InvalidState(DomainError):
    status, code = 409, "invalid_state"


class Unprocessable(DomainError):
    status, code = 422, "unprocessable"
