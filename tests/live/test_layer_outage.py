"""/ws/calls tells its viewers when the channel layer is lost: while Redis is down, updates are lost, so a
socket left open and silent would leave its page stale for good. Open sockets are closed with 4503
("reconnect and resync") within seconds, sockets that connect meanwhile get 4503 at once, and once Redis
is back new sockets are fed again.

All real: uvicorn serving the product's ASGI application, `websockets` clients, and a private
redis-server process as the channel layer, killed with SIGKILL (or frozen with SIGSTOP) and restarted on
the same port."""

import asyncio
import json
import logging
import time
from collections.abc import Iterator

import pytest
import websockets
from channels.db import database_sync_to_async
from websockets.exceptions import ConnectionClosed

from live import consumers
from live.publisher import call_update_publish, live_events_flush
from tests.factories import CallFactory
from tests.live.private_redis import layer_on_private_redis, private_redis  # noqa: F401 -- fixtures
from wordcab_admin.kernel.accounts import api_key_create

pytestmark = pytest.mark.django_db(transaction=True)

CLOSE_LAYER_LOST = 4503
NOTICED_WITHIN = 5.0  # seconds from Redis going away to the viewers' close (measured: well under 1 s)
HANG_NOTICED_WITHIN = consumers.LAYER_CHECK_SECONDS + consumers.LAYER_TIMEOUT_SECONDS + 2.0
AT_ONCE = 2.0  # seconds for a socket opened during the outage to be closed


@pytest.fixture
def errors_logged() -> Iterator[list[logging.LogRecord]]:
    """Every ERROR logged meanwhile, uvicorn's "Exception in ASGI application" included (its loggers do
    not propagate to the root, where pytest's caplog listens)."""
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    handler = Keep(level=logging.ERROR)
    loggers = [logging.getLogger(name) for name in ("", "uvicorn", "uvicorn.error", "django")]
    for logger in loggers:
        logger.addHandler(handler)
    try:
        yield records
    finally:
        for logger in loggers:
            logger.removeHandler(handler)


@pytest.fixture
def viewer_key(bob) -> tuple[str, str]:
    _, raw = api_key_create(user=bob, name="outage")
    return ("Authorization", f"Bearer {raw}")


def socket_url(base_url: str, query: str = "") -> str:
    return base_url.replace("http://", "ws://") + "/ws/calls" + (f"?{query}" if query else "")


async def close_code(ws, within: float) -> int | None:
    """The code the server closes the socket with within `within` seconds (frames before it are skipped)."""
    try:
        async with asyncio.timeout(within):
            while True:
                await ws.recv()
    except ConnectionClosed as closed:
        return closed.rcvd.code if closed.rcvd else None
    except TimeoutError:
        raise AssertionError(f"the socket was still open {within} s later") from None


async def receives_the_update(ws, call, within: float = 5) -> None:
    async with asyncio.timeout(within):
        while True:
            frame = json.loads(await ws.recv())
            messages = frame["messages"] if frame["type"] == "batch" else [frame]
            if any(m["type"] == "call.updated" and m["call"]["id"] == call.public_id for m in messages):
                return


async def publish(call) -> None:
    await database_sync_to_async(call_update_publish)(call=call)
    await asyncio.to_thread(live_events_flush)


async def fed(url: str, key: tuple[str, str], call) -> None:
    """A socket opened now receives an update published after it opened."""
    async with websockets.connect(url, additional_headers=[key]) as ws:
        await publish(call)
        await receives_the_update(ws, call)


def test_open_sockets_are_closed_with_4503_within_seconds_when_redis_is_killed(
    live_asgi_url,
    layer_on_private_redis,  # noqa: F811
    viewer_key,
    errors_logged,
):
    call = CallFactory()
    url = socket_url(live_asgi_url)

    async def scenario() -> float:
        async with (
            websockets.connect(url, additional_headers=[viewer_key]) as everything,
            websockets.connect(
                socket_url(live_asgi_url, f"call_id={call.public_id}"), additional_headers=[viewer_key]
            ) as one_call,
        ):
            await publish(call)
            await receives_the_update(everything, call)
            await receives_the_update(one_call, call)
            killed_at = time.monotonic()
            layer_on_private_redis.kill()  # no event flows from here on
            assert await close_code(everything, NOTICED_WITHIN) == CLOSE_LAYER_LOST
            assert await close_code(one_call, NOTICED_WITHIN) == CLOSE_LAYER_LOST
            return time.monotonic() - killed_at

    took = asyncio.run(scenario())
    assert took < NOTICED_WITHIN
    assert not errors_logged, [r.getMessage() for r in errors_logged]


def test_a_socket_that_connects_while_redis_is_down_is_closed_with_4503_at_once_without_an_error(
    live_asgi_url,
    layer_on_private_redis,  # noqa: F811
    viewer_key,
    errors_logged,
):
    url = socket_url(live_asgi_url)

    async def scenario() -> None:
        async with websockets.connect(url, additional_headers=[viewer_key]) as watching:
            layer_on_private_redis.kill()
            assert await close_code(watching, NOTICED_WITHIN) == CLOSE_LAYER_LOST
        for _ in range(3):  # a page retrying: every attempt is told, none is left open and silent
            async with websockets.connect(url, additional_headers=[viewer_key]) as late:
                assert await close_code(late, AT_ONCE) == CLOSE_LAYER_LOST

    asyncio.run(scenario())
    assert not errors_logged, [r.getMessage() for r in errors_logged]


def test_a_socket_that_is_the_first_to_connect_during_the_outage_is_closed_with_4503(
    live_asgi_url,
    layer_on_private_redis,  # noqa: F811
    viewer_key,
    errors_logged,
):
    """No hub ran before: the connect itself finds Redis down."""
    layer_on_private_redis.kill()

    async def scenario() -> None:
        async with websockets.connect(socket_url(live_asgi_url), additional_headers=[viewer_key]) as ws:
            assert await close_code(ws, AT_ONCE) == CLOSE_LAYER_LOST

    asyncio.run(scenario())
    assert not errors_logged, [r.getMessage() for r in errors_logged]


def test_once_redis_restarts_on_the_same_port_new_sockets_are_fed_again(
    live_asgi_url,
    layer_on_private_redis,  # noqa: F811
    viewer_key,
    errors_logged,
):
    call = CallFactory()
    url = socket_url(live_asgi_url)

    async def scenario() -> None:
        async with websockets.connect(url, additional_headers=[viewer_key]) as before:
            layer_on_private_redis.kill()
            assert await close_code(before, NOTICED_WITHIN) == CLOSE_LAYER_LOST
        async with websockets.connect(url, additional_headers=[viewer_key]) as during:
            assert await close_code(during, AT_ONCE) == CLOSE_LAYER_LOST
        # Restarted empty: it forgot the hub's group membership, so the hub must join afresh.
        await asyncio.to_thread(layer_on_private_redis.start)
        await asyncio.sleep(consumers.LAYER_RETRY_SECONDS)  # past the brief refusal after a failed join
        await fed(url, viewer_key, call)
        async with (
            websockets.connect(url, additional_headers=[viewer_key]) as first,
            websockets.connect(url, additional_headers=[viewer_key]) as second,
        ):  # and it stays up: no 4503 from a stale receiver or keep-alive
            await publish(call)
            await receives_the_update(first, call)
            await receives_the_update(second, call)
            await asyncio.sleep(consumers.LAYER_CHECK_SECONDS * 1.5)  # a keep-alive round or so
            await publish(call)
            await receives_the_update(first, call)
            await receives_the_update(second, call)

    asyncio.run(scenario())
    assert not errors_logged, [r.getMessage() for r in errors_logged]


def test_a_hung_redis_is_noticed_by_the_keep_alive_while_no_event_flows(
    live_asgi_url,
    layer_on_private_redis,  # noqa: F811
    viewer_key,
    errors_logged,
):
    """SIGSTOP: the connections stay up and the receiver's blocking pop just waits, so only the hub's
    periodic membership renewal can tell; it does within LAYER_CHECK_SECONDS + LAYER_TIMEOUT_SECONDS."""
    call = CallFactory()
    url = socket_url(live_asgi_url)

    async def scenario() -> float:
        async with websockets.connect(url, additional_headers=[viewer_key]) as ws:
            await publish(call)
            await receives_the_update(ws, call)
            frozen_at = time.monotonic()
            layer_on_private_redis.freeze()
            try:
                assert await close_code(ws, HANG_NOTICED_WITHIN) == CLOSE_LAYER_LOST
                took = time.monotonic() - frozen_at
                # Still hung: a new socket waits for the join's timeout at most, then is told too.
                async with websockets.connect(url, additional_headers=[viewer_key]) as late:
                    assert (
                        await close_code(late, consumers.LAYER_TIMEOUT_SECONDS + AT_ONCE) == CLOSE_LAYER_LOST
                    )
            finally:
                layer_on_private_redis.thaw()
        await asyncio.sleep(consumers.LAYER_RETRY_SECONDS)
        await fed(url, viewer_key, call)
        return took

    took = asyncio.run(scenario())
    assert took < HANG_NOTICED_WITHIN
    assert not errors_logged, [r.getMessage() for r in errors_logged]
