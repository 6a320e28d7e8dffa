import contextlib
import socket
import time
import warnings
from collections.abc import Callable, Iterator

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


def apply_event(*, call=None, **details):
    """One event of `call` through the lifecycle's one entry point, as a provider reports it; its stored
    CallEvent, or its error raised."""
    from calls.lifecycle import EventIn, call_events_apply

    if call is not None:
        details["call_id"] = call.pk
    result = call_events_apply([EventIn(**details)])[0]
    if isinstance(result, Exception):
        raise result
    return result


def apply_status(**params):
    """One Twilio-shaped status event (`provider_status_event`'s arguments) through the lifecycle."""
    from calls.lifecycle import call_events_apply
    from telephony.twilio.status import provider_status_event

    result = call_events_apply([provider_status_event(**params)])[0]
    if isinstance(result, Exception):
        raise result
    return result


@contextlib.contextmanager
def broker_down() -> Iterator[None]:
    """Point the Celery app at a port nobody listens on, as when Redis is down (connection refused)."""
    from celery import current_app

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        dead = f"redis://127.0.0.1:{sock.getsockname()[1]}/0"
    conf, amqp = current_app.conf, current_app.amqp
    saved_url, saved_pool = conf.broker_url, current_app._pool
    # Celery caches its connection and producer pools (kombu keeps one per URL for the process): new ones
    # for the dead URL now, and the saved ones back after, untouched.
    conf.broker_url, current_app._pool, amqp._producer_pool = dead, None, None
    try:
        yield
    finally:
        current_app.pool.force_close_all()  # the dead URL's pool, never used again
        conf.broker_url, current_app._pool, amqp._producer_pool = saved_url, saved_pool, None
