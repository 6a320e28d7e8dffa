"""Long-lived threads for hot, short database work called from async views (Twilio's status callbacks).

Under ASGI Django runs each sync view on a thread made for that request, so the view opens and closes its
database connection every time, and concurrent SQLite writers back off in sleeps of up to 100 ms. Work
sent here runs on a few threads that live as long as the process and keep their connections: one thread
for SQLite (one writer, no lock waits), a few for PostgreSQL. `HOT_DB_THREADS=0` runs the work the way a
sync view would (tests that wrap each test in a transaction need that)."""

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import TypeVar

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import DatabaseError, connections

T = TypeVar("T")

_executors: dict[int, ThreadPoolExecutor] = {}
_lock = threading.Lock()


def _executor(size: int) -> ThreadPoolExecutor:
    with _lock:
        if size not in _executors:
            _executors[size] = ThreadPoolExecutor(max_workers=size, thread_name_prefix="hot-db")
        return _executors[size]


def _run_with_usable_connections(function: Callable[..., T], /, **kwargs) -> T:
    try:
        return function(**kwargs)
    except DatabaseError:
        # A connection broken by a database restart is dropped, so the next job opens a fresh one.
        for connection in connections.all(initialized_only=True):
            if not connection.is_usable():
                connection.close()
        raise


async def run_db_work(function: Callable[..., T], /, **kwargs) -> T:
    """Run `function(**kwargs)` on a long-lived database thread and await its result."""
    size = settings.HOT_DB_THREADS
    if size <= 0:
        return await sync_to_async(function, thread_sensitive=True)(**kwargs)
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(
        _executor(size), partial(_run_with_usable_connections, function, **kwargs)
    )


def db_threads_stop() -> None:
    """Finish queued work and end the threads (their connections close with them)."""
    with _lock:
        executors = list(_executors.values())
        _executors.clear()
    for executor in executors:
        executor.submit(connections.close_all).result()
        executor.shutdown(wait=True)
