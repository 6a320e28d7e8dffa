"""A Channels consumer without a channel layer, run one message at a time, its hot sends unwrapped.

Justified by `make bench BENCH=media` (200 streams × 50 frames/s, each frame echoed and recorded, in one
process). Per message, Channels' public `AsyncConsumer.__call__` runs `await_many_dispatch`, which wraps
every `receive()` in a new Task and an `asyncio.wait` (its futures, callbacks and an extra turn of the
event loop), and every `send` passes through the session middleware's wrapper, which resolves the lazy
session to see whether it must save it: together a fifth of the media process's CPU at 200 streams. A
consumer with no channel layer has one source of messages, so a plain loop takes them in the same order.

Private APIs it leans on, each pinned by tests/core/test_fastpath.py: what `AsyncConsumer.__call__` sets
before it dispatches (`scope`, `channel_layer`, `base_send`) and that it ends on `StopConsumer`; and
`channels.sessions.InstanceSessionWrapper`: its `send` only adds session saving and cookies to the message
types in `save_message_types` / `cookie_response_message_types` (never `websocket.send`), and passes the
rest to `real_send` unchanged."""

from collections.abc import Awaitable, Callable

from channels.consumer import AsyncConsumer
from channels.exceptions import StopConsumer
from channels.sessions import InstanceSessionWrapper

Send = Callable[[dict], Awaitable[None]]


async def consume_in_order(consumer: AsyncConsumer, scope: dict, receive, send: Send) -> None:
    """What `AsyncConsumer.__call__` does for a consumer whose channel layer is None: every message from
    `receive` to `consumer.dispatch`, in order, until the consumer raises StopConsumer."""
    consumer.scope = scope
    consumer.channel_layer = None
    consumer.base_send = send
    try:
        while True:
            await consumer.dispatch(await receive())
    except StopConsumer:
        pass


def data_send(send: Send) -> Send:
    """The server's own `send` under the session middleware's wrappers: for `websocket.send` messages
    only, which those wrappers pass on unchanged (accept and close still go through them)."""
    while isinstance(getattr(send, "__self__", None), InstanceSessionWrapper):
        send = send.__self__.real_send
    return send
