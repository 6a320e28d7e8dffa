"""`client.campaigns`: `/v1/campaigns`, created from a CSV upload, controlled, watched."""

from __future__ import annotations

import io
import os
from collections.abc import Callable, Iterable
from contextlib import ExitStack
from datetime import datetime, time
from pathlib import Path
from typing import IO, Any

from wordcab_admin.client._http import Transport
from wordcab_admin.client._pagination import Paginated
from wordcab_admin.client.models import CAMPAIGN_FINAL_STATUSES, APIObject, Campaign, Contact
from wordcab_admin.client.resources._common import given, segment
from wordcab_admin.client.resources._polling import poll_until

# (bytes sent so far, bytes in all or None when the file's size cannot be known)
Progress = Callable[[int, int | None], None]


class _CountingReader:
    """The uploaded file as httpx reads it, telling `on_progress` how far it got. httpx seeks a file back to
    its start before each send, which starts the count again."""

    def __init__(self, file: IO[bytes], on_progress: Progress):
        self._file, self._on_progress, self._sent = file, on_progress, 0
        self._total = _size(file)
        self.name = getattr(file, "name", None)

    def read(self, size: int = -1) -> bytes:
        chunk = self._file.read(size)
        self._sent += len(chunk)
        self._on_progress(self._sent, self._total)
        return chunk

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        position = self._file.seek(offset, whence)
        self._sent = position
        return position

    def tell(self) -> int:
        return self._file.tell()

    def fileno(self) -> int:
        return self._file.fileno()


def _size(file: IO[bytes]) -> int | None:
    try:
        return os.fstat(file.fileno()).st_size
    except (AttributeError, OSError):
        try:
            here = file.tell()
            end = file.seek(0, os.SEEK_END)
            file.seek(here)
            return end
        except (AttributeError, OSError):
            return None


def _form_value(value: Any) -> Any:
    """A setting as a multipart field: ISO 8601 for an instant, HH:MM for a time of day, true/false."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, time):
        return value.strftime("%H:%M")
    return value


class Campaigns:
    def __init__(self, transport: Transport):
        self._transport = transport

    def create(
        self,
        file: str | os.PathLike[str] | IO[bytes],
        *,
        agent_id: str,
        name: str | None = None,
        phone_column: str | None = None,
        start_at: datetime | str | None = None,
        end_at: datetime | str | None = None,
        max_concurrent_calls: int | None = None,
        calls_per_minute: int | None = None,
        max_attempts: int | None = None,
        retry_delay_seconds: int | None = None,
        retry_outcomes: Iterable[str] | None = None,
        record: bool | None = None,
        max_duration: int | None = None,
        window_start: time | str | None = None,
        window_end: time | str | None = None,
        on_progress: Progress | None = None,
    ) -> Campaign:
        """A draft campaign from a CSV (a path, or a file opened in binary mode): one contact per row, the
        other columns its calls' `context`. `campaign.validation` counts the rows accepted and rejected and
        lists the first errors. Settings not given take the server's defaults (`record`, `max_duration`:
        the agent's). Not retried once the upload has begun: a campaign has no idempotency key, so look
        with `list()` before uploading again."""
        if isinstance(file, io.TextIOBase):
            raise TypeError("Open the CSV in binary mode ('rb'): the server reads its bytes and encoding")
        with ExitStack() as closing:
            if isinstance(file, str | os.PathLike):
                file = closing.enter_context(Path(file).open("rb"))
            file_name = Path(getattr(file, "name", None) or "contacts.csv").name
            data = given(
                agent_id=agent_id, name=name or Path(file_name).stem, phone_column=phone_column,
                start_at=start_at, end_at=end_at, max_concurrent_calls=max_concurrent_calls,
                calls_per_minute=calls_per_minute, max_attempts=max_attempts,
                retry_delay_seconds=retry_delay_seconds, record=record, max_duration=max_duration,
                window_start=window_start, window_end=window_end,
            )  # fmt: skip
            data = {field: _form_value(value) for field, value in data.items()}
            if retry_outcomes is not None:  # an empty list is sent as "": retry no outcome
                data["retry_outcomes"] = list(retry_outcomes) or ""
            upload = file if on_progress is None else _CountingReader(file, on_progress)
            files = {"file": (file_name, upload, "text/csv")}
            answer = self._transport.request("POST", "/campaigns", data=data, files=files)
        return Campaign(answer.json())

    def get(self, campaign_id: str) -> Campaign:
        return Campaign(self._transport.request("GET", f"/campaigns/{segment(campaign_id)}").json())

    def list(
        self,
        *,
        status: str | Iterable[str] | None = None,
        agent_id: str | None = None,
        limit: int | None = None,
    ) -> Paginated[Campaign]:
        """Every campaign, newest first; `status` takes one status or several."""
        params = {"status": status, "agent_id": agent_id, "limit": limit}
        return Paginated(self._transport, "/campaigns", params, Campaign)

    def start(self, campaign_id: str) -> Campaign:
        """Draft → running (not before its `start_at`); ConflictError `invalid_state` from any other status."""
        return self._move(campaign_id, "start")

    def pause(self, campaign_id: str) -> Campaign:
        return self._move(campaign_id, "pause")

    def resume(self, campaign_id: str) -> Campaign:
        return self._move(campaign_id, "resume")

    def cancel(self, campaign_id: str) -> Campaign:
        """Cancelled: its pending contacts are skipped; calls already live go on to their end."""
        return self._move(campaign_id, "cancel")

    def _move(self, campaign_id: str, verb: str) -> Campaign:
        path = f"/campaigns/{segment(campaign_id)}/{verb}"
        return Campaign(self._transport.request("POST", path).json())

    def contacts(
        self,
        campaign_id: str,
        *,
        status: str | Iterable[str] | None = None,
        skip_reason: str | Iterable[str] | None = None,
        limit: int | None = None,
    ) -> Paginated[Contact]:
        """The campaign's contacts in the file's order, each with its attempts' `call_ids`."""
        params = {"status": status, "skip_reason": skip_reason, "limit": limit}
        return Paginated(self._transport, f"/campaigns/{segment(campaign_id)}/contacts", params, Contact)

    def forecast(self, campaign_id: str) -> APIObject:
        """How many pending contacts may be called now, later today, on other days or never, and why."""
        return APIObject(self._transport.request("GET", f"/campaigns/{segment(campaign_id)}/forecast").json())

    def wait_for(
        self,
        campaign_id: str,
        statuses: Iterable[str] = CAMPAIGN_FINAL_STATUSES,
        timeout: float | None = None,
        *,
        poll_interval: float = 2.0,
        on_update: Callable[[Campaign], None] | None = None,
    ) -> Campaign:
        """Read the campaign every `poll_interval` seconds (each read to `on_update`) until its status is
        one of `statuses` (by default, completed or cancelled); WaitTimeoutError after `timeout` seconds."""
        wanted = frozenset(statuses)
        return poll_until(
            lambda: self.get(campaign_id), lambda c: c.status in wanted, timeout=timeout,
            interval=poll_interval, what=f"campaign {campaign_id} to be {' or '.join(sorted(wanted))}",
            on_update=on_update,
        )  # fmt: skip
