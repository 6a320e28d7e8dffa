"""`client.calls`: `/v1/calls`, a call's hang-up, timeline and recording."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import IO

from wordcab_admin.client._http import Transport
from wordcab_admin.client._pagination import Paginated
from wordcab_admin.client.models import CALL_TERMINAL_STATUSES, APIObject, Call
from wordcab_admin.client.resources._common import segment
from wordcab_admin.client.resources._polling import poll_until

# (bytes so far, bytes in all or None when the server did not say)
Progress = Callable[[int, int | None], None]


class Calls:
    def __init__(self, transport: Transport):
        self._transport = transport

    def get(self, call_id: str) -> Call:
        return Call(self._transport.request("GET", f"/calls/{segment(call_id)}").json())

    def list(
        self,
        *,
        status: str | Iterable[str] | None = None,
        agent_id: str | None = None,
        campaign_id: str | None = None,
        direction: str | None = None,
        phone_number: str | None = None,
        created_after: str | None = None,
        created_before: str | None = None,
        limit: int | None = None,
    ) -> Paginated[Call]:
        """Every call matching the filters, newest first, page after page as the iteration goes
        (`limit`: how many per page). `status` takes one status or several."""
        params = {
            "status": status, "agent_id": agent_id, "campaign_id": campaign_id, "direction": direction,
            "phone_number": phone_number, "created_after": created_after, "created_before": created_before,
            "limit": limit,
        }  # fmt: skip
        return Paginated(self._transport, "/calls", params, Call)

    def hangup(self, call_id: str) -> Call:
        """Hang up a live call; one that has ended already is a ConflictError (`invalid_state`)."""
        return Call(self._transport.request("POST", f"/calls/{segment(call_id)}/hangup").json())

    def events(self, call_id: str) -> list[APIObject]:
        """The call's timeline, oldest first, with the events that were ignored and why."""
        answer = self._transport.request("GET", f"/calls/{segment(call_id)}/events").json()
        return [APIObject(event) for event in answer["results"]]

    def download_recording(self, call_id: str) -> bytes:
        """The call's recording, a WAV file, in memory. NotFoundError when it has none (yet, or any more)."""
        return self._transport.request("GET", f"/calls/{segment(call_id)}/recording").content

    def download_recording_to(
        self,
        call_id: str,
        destination: str | os.PathLike[str] | IO[bytes],
        *,
        on_progress: Progress | None = None,
    ) -> int:
        """Stream the recording into `destination` (a path, or a file opened for binary writing) without
        holding it in memory; returns its size. A path is written in full or not at all (a `.part` file,
        renamed at the end)."""
        if not isinstance(destination, str | os.PathLike):
            return self._stream_into(call_id, destination, on_progress)
        target = Path(destination)
        partial = target.with_name(target.name + ".part")
        try:
            with partial.open("wb") as file:
                size = self._stream_into(call_id, file, on_progress)
            partial.replace(target)
        finally:
            partial.unlink(missing_ok=True)
        return size

    def _stream_into(self, call_id: str, file: IO[bytes], on_progress: Progress | None) -> int:
        # ?download=1: audited as a download (recording.downloaded), not a playback
        path = f"/calls/{segment(call_id)}/recording"
        with self._transport.stream(path, params={"download": "1"}) as response:
            total = int(response.headers["Content-Length"]) if "Content-Length" in response.headers else None
            written = 0
            for chunk in response.iter_bytes():
                file.write(chunk)
                written += len(chunk)
                if on_progress is not None:
                    on_progress(written, total)
        return written

    def wait_for(
        self,
        call_id: str,
        statuses: Iterable[str] = CALL_TERMINAL_STATUSES,
        timeout: float | None = 300.0,
        *,
        recording: bool = False,
        poll_interval: float = 1.0,
        on_update: Callable[[Call], None] | None = None,
    ) -> Call:
        """Read the call every `poll_interval` seconds until its status is one of `statuses` (by default,
        until it has ended) and return it; WaitTimeoutError after `timeout` seconds. With `recording`, a
        recorded call that completed is awaited until its recording is stored too (`recording_url`)."""
        wanted = frozenset(statuses)

        def done(call: Call) -> bool:
            if call.status not in wanted:
                return False
            needs_recording = recording and call.record and call.status == "completed"
            return not needs_recording or call.recording_url is not None

        return poll_until(
            lambda: self.get(call_id), done, timeout=timeout, interval=poll_interval,
            what=f"call {call_id} to be {' or '.join(sorted(wanted))}", on_update=on_update,
        )  # fmt: skip
