import time
import warnings
from collections.abc import Callable

from asgiref.sync import async_to_sync

SYNC_ITERATOR_WARNING = "must consume synchronous iterators"


def wait_for(condition: Callable[[], object], *, timeout: float = 10, what: str = "the condition") -> object:
    """Poll until `condition()` is truthy; fail naming what was awaited. No fixed sleeps in tests."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"Timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.02)


def streamed_body(request) -> bytes:
    """Run `request` (a coroutine function returning a response) through the ASGI handler and read the body
    the way the server does; Django warns when it has to read a sync iterator whole first."""

    async def read() -> bytes:
        response = await request()
        assert response.status_code == 200
        assert response.is_async  # the ASGI handler iterates it without reading it all first
        return b"".join([part async for part in response.streaming_content])

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        body = async_to_sync(read)()
    assert not [w for w in caught if SYNC_ITERATOR_WARNING in str(w.message)]
    return body
