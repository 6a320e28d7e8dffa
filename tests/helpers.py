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
