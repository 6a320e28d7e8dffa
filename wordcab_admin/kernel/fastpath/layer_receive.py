"""Reading everything waiting on a channels-redis channel in one round trip.

Justified by `make bench BENCH=live` (live updates' latency under load): channels-redis's public
`layer.receive(channel)` takes about four Redis round trips per message. It reads the layer's internals,
each pinned by tests/core/test_fastpath.py so that a channels-redis upgrade that changes them fails
loudly: `RedisChannelLayer.prefix`, `.connection(index)`, `.consistent_hash(channel)`, `.brpop_timeout`,
`.deserialize(bytes)`, a channel being a sorted set at `prefix + channel` (a general channel, without
"!", as the hub's is), and the `__asgi_channel__` key. With another layer (the in-memory one in tests) it
falls back to `layer.receive`."""

import asyncio

from channels_redis.core import RedisChannelLayer


async def receive_many(
    layer, channel_name: str, most: int = 500, *, block_seconds: float | None = None
) -> list[dict]:
    """Everything waiting on the hub's channel, oldest first, in one Redis round trip (or, when nothing
    waits, one blocking pop). channels-redis's own receive takes about four round trips per message (for
    its at-least-once backup queue), and each costs a wake-up of the event loop, which a process busy
    with requests grants late: per message, that fell behind 100 updates a second under load. The hub
    is the channel's only reader; a message popped while its hub is being stopped has no one to go to.
    `block_seconds` (default: the layer's own) bounds the blocking pop, and so how long a reader that is
    being cancelled can take to notice (see `raise_if_cancelling`)."""
    if not isinstance(layer, RedisChannelLayer):
        return [await layer.receive(channel_name)]
    key = layer.prefix + channel_name
    connection = layer.connection(layer.consistent_hash(channel_name))
    popped = await connection.zpopmin(key, most)
    if not popped:
        blocking = await connection.bzpopmin(key, timeout=block_seconds or layer.brpop_timeout)
        if blocking is None:
            return []
        popped = [(blocking[1], blocking[2])]
    messages = []
    for member, _score in popped:
        message = layer.deserialize(member)
        message.pop("__asgi_channel__", None)
        messages.append(message)
    return messages


def raise_if_cancelling(error: BaseException | None = None) -> None:
    """Raise CancelledError when the running task is being cancelled. redis-py does not always let a cancel
    that lands in the middle of a command out: seen here, a blocking pop cancelled mid-read went back to
    reading (the task "cancelling" for good), and elsewhere the cancel comes out as the ConnectionError of
    the connection it closed. A loop that reads or retries Redis would then go on under the cancel for
    good, and `asyncio.run` (every test's loop, every worker's shutdown) waits on it forever. Call it at
    the top of such a loop and first in its `except Exception`."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError from error
