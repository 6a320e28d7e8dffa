"""What the API answers, with attribute access: `call.status`, `call.error.code`, `campaign.counts.completed`.

Each object keeps the answer's dict as `.raw` (also readable as `obj["status"]` and `obj.get(...)`), so a
field the server adds later is there before the client names it. Nested objects are wrapped the same way,
except the caller's own data (a call's `context`, an audit event's `before`/`after`), left as dicts."""

from __future__ import annotations

from typing import Any, ClassVar

CALL_TERMINAL_STATUSES = ("completed", "failed", "no_answer")
CAMPAIGN_FINAL_STATUSES = ("completed", "cancelled")


def wrap(value: Any) -> Any:
    if isinstance(value, dict):
        return APIObject(value)
    if isinstance(value, list):
        return [wrap(item) for item in value]
    return value


class APIObject:
    plain_fields: ClassVar[frozenset[str]] = frozenset()  # left as the server sent them

    def __init__(self, raw: dict[str, Any]):
        self.raw = raw

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") or name == "raw":
            raise AttributeError(name)
        try:
            value = self.raw[name]
        except KeyError:
            raise AttributeError(f"{type(self).__name__} has no field {name!r}") from None
        return value if name in self.plain_fields else wrap(value)

    def __getitem__(self, name: str) -> Any:
        return self.raw[name]

    def __contains__(self, name: object) -> bool:
        return name in self.raw

    def get(self, name: str, default: Any = None) -> Any:
        return self.raw.get(name, default)

    def to_dict(self) -> dict[str, Any]:
        return self.raw

    def __eq__(self, other: object) -> bool:
        if isinstance(other, APIObject):
            return self.raw == other.raw
        if isinstance(other, dict):
            return self.raw == other
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  -- mutable, compared by content

    def __dir__(self) -> list[str]:
        return sorted({*super().__dir__(), *self.raw})

    def __repr__(self) -> str:
        shown = [f"{k}={self.raw[k]!r}" for k in ("id", "status", "name", "number") if k in self.raw]
        return f"<{type(self).__name__} {' '.join(shown) or '…'}>"


class Agent(APIObject):
    id: str
    name: str
    description: str
    instructions: str
    language: str
    voice: str
    max_duration: int
    record: bool
    active: bool
    phone_numbers: list[str]
    created_at: str
    updated_at: str


class Call(APIObject):
    plain_fields = frozenset({"context", "decision"})

    id: str
    agent_id: str
    campaign_id: str | None
    direction: str
    from_number: str
    phone_number: str
    status: str  # initiating, ringing, in_progress, completed, failed, no_answer
    end_reason: str
    error: APIObject | None  # code, message
    context: dict[str, Any]
    max_duration: int
    record: bool
    recording_url: str | None  # a path under the API root; client.calls.download_recording(call.id)
    consent_opener: str
    consent_delivered_at: str | None
    jurisdiction: str
    decision: dict[str, Any] | None
    created_at: str
    answered_at: str | None
    ended_at: str | None
    duration: int | None
    analysis: APIObject | None  # summary, outcome, sentiment; null until the call is analysed (after its end)

    @property
    def ended(self) -> bool:
        return self.raw.get("status") in CALL_TERMINAL_STATUSES


class Campaign(APIObject):
    id: str
    name: str
    agent_id: str
    status: str  # draft, running, paused, completed, cancelled
    file_name: str
    phone_column: str
    columns: list[str]
    validation: APIObject  # rows, accepted, rejected (and errors, in the answer to a create)
    counts: APIObject  # contacts per state: pending, calling, completed, failed, no_answer, skipped, total
    calls: APIObject  # calls per status, and total
    created_at: str
    started_at: str | None
    finished_at: str | None

    @property
    def finished(self) -> bool:
        return self.raw.get("status") in CAMPAIGN_FINAL_STATUSES


class Contact(APIObject):
    plain_fields = frozenset({"context"})

    row: int
    phone_number: str
    status: str
    skip_reason: str | None
    attempts: int
    call_ids: list[str]


class PhoneNumber(APIObject):
    id: str
    number: str
    provider: str
    agent_id: str | None
    jurisdiction: str


class DoNotCallEntry(APIObject):
    number: str
    reason: str
    source: str
    added_by: str | None
    call_id: str | None
    created_at: str


class AuditEvent(APIObject):
    plain_fields = frozenset({"before", "after"})

    id: int
    created_at: str
    actor: str
    action: str
    object_type: str
    object_id: str
    request_id: str
