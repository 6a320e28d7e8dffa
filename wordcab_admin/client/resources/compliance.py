"""`client.do_not_call` (`/v1/do-not-call`) and `client.audit_events` (`/v1/audit-events`): compliance
officers' and admins' keys only (others get PermissionDeniedError)."""

from __future__ import annotations

import os
from contextlib import ExitStack
from pathlib import Path
from typing import IO

from wordcab_admin.client._http import Transport
from wordcab_admin.client._pagination import Paginated
from wordcab_admin.client.models import APIObject, AuditEvent, DoNotCallEntry
from wordcab_admin.client.resources._common import given, segment


class DoNotCall:
    def __init__(self, transport: Transport):
        self._transport = transport

    def list(self, *, number: str | None = None, limit: int | None = None) -> Paginated[DoNotCallEntry]:
        """Every listed number, newest first; `number` keeps those holding these digits."""
        params = {"number": number, "limit": limit}
        return Paginated(self._transport, "/do-not-call", params, DoNotCallEntry)

    def add(self, number: str, *, reason: str | None = None) -> DoNotCallEntry:
        """List a number (as E.164 or as people type it); listing it again returns the entry unchanged, so
        a retry is harmless."""
        body = given(number=number, reason=reason)
        answer = self._transport.request("POST", "/do-not-call", json=body, idempotent=True)
        return DoNotCallEntry(answer.json())

    def get(self, number: str) -> DoNotCallEntry:
        return DoNotCallEntry(self._transport.request("GET", f"/do-not-call/{segment(number)}").json())

    def remove(self, number: str) -> None:
        self._transport.request("DELETE", f"/do-not-call/{segment(number)}")

    def import_csv(
        self, file: str | os.PathLike[str] | IO[bytes], *, phone_column: str | None = None
    ) -> APIObject:
        """Add every number of a CSV in one go; the report counts the rows and lists each rejected one."""
        with ExitStack() as closing:
            if isinstance(file, str | os.PathLike):
                file = closing.enter_context(Path(file).open("rb"))
            name = Path(getattr(file, "name", None) or "do-not-call.csv").name
            files = {"file": (name, file, "text/csv")}
            answer = self._transport.request(
                "POST", "/do-not-call/import", data=given(phone_column=phone_column), files=files
            )
        return APIObject(answer.json())


class AuditEvents:
    def __init__(self, transport: Transport):
        self._transport = transport

    def list(
        self,
        *,
        action: str | None = None,
        actor: str | None = None,
        object_type: str | None = None,
        object_id: str | None = None,
        request_id: str | None = None,
        created_after: str | None = None,
        created_before: str | None = None,
        limit: int | None = None,
    ) -> Paginated[AuditEvent]:
        """Who did what to which object, newest first; `actor` is a username or `system`."""
        params = {
            "action": action, "actor": actor, "object_type": object_type, "object_id": object_id,
            "request_id": request_id, "created_after": created_after, "created_before": created_before,
            "limit": limit,
        }  # fmt: skip
        return Paginated(self._transport, "/audit-events", params, AuditEvent)
