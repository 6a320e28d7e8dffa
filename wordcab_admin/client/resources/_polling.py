"""Waiting for an object to reach a state, by reading it again every few seconds (for scripts)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from wordcab_admin.client.errors import WaitTimeoutError

T = TypeVar("T")


def poll_until(
    read: Callable[[], T],
    done: Callable[[T], bool],
    *,
    timeout: float | None,
    interval: float,
    what: str,
    on_update: Callable[[T], None] | None = None,
) -> T:
    """`read()` until `done(result)`; each result goes to `on_update` first. WaitTimeoutError (with the last
    result) once `timeout` seconds have passed; None waits as long as it takes."""
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        current = read()
        if on_update is not None:
            on_update(current)
        if done(current):
            return current
        if deadline is not None and time.monotonic() >= deadline:
            raise WaitTimeoutError(f"Gave up after {timeout:g} s waiting for {what}", last=current)
        pause = interval if deadline is None else max(0.0, min(interval, deadline - time.monotonic()))
        time.sleep(pause)
