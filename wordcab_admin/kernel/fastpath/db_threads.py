"""Long-lived threads that apply hot webhook work in batches (Twilio's status callbacks).

Justified by `make bench BENCH=status_callbacks` (each callback answered once applied; its 32 senders
measure capacity). Under ASGI Django runs each sync view on a thread made for that request, so the view
opens and closes its database connection every time, and each event pays its own transaction and commit.
Work sent here is queued for a few threads that live as long as the process and keep their connections;
each thread takes everything queued while it was busy and hands it, as one list, to a batch function
that applies it in one transaction (group commit): the busier the endpoint, the larger the batches and
the cheaper each event. One thread by default (`HOT_DB_THREADS`): with batching it kept up best on SQLite
(one writer, no lock waits) and on PostgreSQL alike; more threads split the queue into smaller batches.
`HOT_DB_THREADS=0` runs each item alone on the request's thread, the way a sync view would (tests that
wrap each test in a transaction need that): without the benchmark, that public way would be all there is.

Private Django API it leans on: `connections.all(initialized_only=True)` and `connection.is_usable()`,
to drop a connection broken by a database restart (Django does that only at request boundaries, which
these threads never see), and `connections.close_all()` when a thread ends. Pinned by
tests/core/test_fastpath.py; tests/core/test_hot_db_threads.py and tests/calls/test_event_batches.py pin
the batching itself."""

from __future__ import annotations

import asyncio
import queue
import threading
from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import DatabaseError, connections

T = TypeVar("T")
Item = TypeVar("Item")
# A batch function takes the queued items and returns one result per item, in order: a value, or the
# exception that item earned (raised to its own caller only).
BatchFunction = Callable[[list[Any]], Sequence[Any]]

MAX_BATCH = 200
_STOP = object()
_batchers: dict[BatchFunction, _Batcher] = {}
_lock = threading.Lock()


class _Batcher:
    def __init__(self, function: BatchFunction, threads: int) -> None:
        self.function = function
        self.queue: queue.SimpleQueue = queue.SimpleQueue()
        self.threads = [
            threading.Thread(target=self._run, name=f"hot-db-{index}", daemon=True)
            for index in range(threads)
        ]
        for thread in self.threads:
            thread.start()

    def submit(self, item: Any) -> asyncio.Future:
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self.queue.put((item, loop, future))
        return future

    def stop(self) -> None:
        for _ in self.threads:
            self.queue.put(_STOP)
        for thread in self.threads:
            thread.join()

    def _run(self) -> None:
        try:
            while (batch := self._take()) is not None:
                self._settle(batch, self._apply([item for item, _, _ in batch]))
        finally:
            connections.close_all()

    def _take(self) -> list[tuple] | None:
        first = self.queue.get()
        if first is _STOP:
            return None
        batch = [first]
        while len(batch) < MAX_BATCH:
            try:
                queued = self.queue.get_nowait()
            except queue.Empty:
                break
            if queued is _STOP:
                self.queue.put(_STOP)  # this thread finishes its batch, then stops
                break
            batch.append(queued)
        return batch

    def _apply(self, items: list[Any]) -> Sequence[Any]:
        try:
            results = self.function(items)
        except Exception as exc:  # noqa: BLE001 -- every caller of the batch gets the error
            results = [exc] * len(items)
        if any(isinstance(result, DatabaseError) for result in results):
            # A connection broken by a database restart is dropped, so the next batch opens a fresh one.
            for connection in connections.all(initialized_only=True):
                if not connection.is_usable():
                    connection.close()
        return results

    @staticmethod
    def _settle(batch: list[tuple], results: Sequence[Any]) -> None:
        # One wake-up per event loop (usually the process has one), not one per item.
        by_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future, Any]]] = defaultdict(list)
        for (_, loop, future), result in zip(batch, results, strict=True):
            by_loop[loop].append((future, result))
        for loop, settled in by_loop.items():
            loop.call_soon_threadsafe(_resolve, settled)


def _resolve(settled: list[tuple[asyncio.Future, Any]]) -> None:
    for future, result in settled:
        if future.cancelled():  # the client went away; the work is done all the same
            continue
        if isinstance(result, BaseException):
            future.set_exception(result)
        else:
            future.set_result(result)


async def run_db_batched(function: Callable[[list[Item]], Sequence[T | Exception]], item: Item) -> T:
    """Queue `item` for `function` on a long-lived database thread and await its own result (or raise
    its own error). Items queued together are handed to `function` as one list."""
    size = settings.HOT_DB_THREADS
    if size <= 0:
        result = (await sync_to_async(function, thread_sensitive=True)([item]))[0]
    else:
        result = await _batcher(function, size).submit(item)
    if isinstance(result, BaseException):
        raise result
    return result


def _batcher(function: BatchFunction, threads: int) -> _Batcher:
    with _lock:
        if function not in _batchers:
            _batchers[function] = _Batcher(function, threads)
        return _batchers[function]


def db_threads_stop() -> None:
    """Finish queued work and end the threads (their connections close with them)."""
    with _lock:
        batchers = list(_batchers.values())
        _batchers.clear()
    for batcher in batchers:
        batcher.stop()
