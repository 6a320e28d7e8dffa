"""The private Channels APIs that wordcab_admin/kernel/fastpath/channels_consumer.py leans on (justified by
`make bench BENCH=media`), each pinned by the behaviour the media streams need from it: a Channels upgrade
that changes one fails here, naming the module and what to re-check."""

import asyncio
from contextlib import contextmanager

import pytest
from channels.auth import AuthMiddlewareStack
from channels.consumer import AsyncConsumer
from channels.exceptions import StopConsumer
from channels.sessions import InstanceSessionWrapper

from wordcab_admin.kernel.fastpath.channels_consumer import consume_in_order, data_send

CHANNELS_CONSUMER = "wordcab_admin/kernel/fastpath/channels_consumer.py"


@contextmanager
def pinned(why: str):
    try:
        yield
    except AssertionError:
        raise
    except Exception as exc:  # noqa: BLE001 -- any upgrade breakage is reported the same way
        pytest.fail(f"{why}\n({type(exc).__name__}: {exc})")


class Probe(AsyncConsumer):
    """Records what it sees of itself at each message, and stops at the disconnect."""

    channel_layer_alias = "no-such-layer-for-this-probe"

    def __init__(self):
        self.seen: list[tuple] = []

    async def websocket_connect(self, message):
        self.seen.append(("connect", self.scope, self.channel_layer, self.base_send))
        await self.send({"type": "websocket.accept"})

    async def websocket_receive(self, message):
        self.seen.append(("receive", message["text"]))

    async def websocket_disconnect(self, message):
        self.seen.append(("disconnect", message["code"]))
        raise StopConsumer


def feed(*messages):
    queue = list(messages)

    async def receive():
        return queue.pop(0)

    return receive


def conversation():
    return feed(
        {"type": "websocket.connect"},
        {"type": "websocket.receive", "text": "one"},
        {"type": "websocket.receive", "text": "two"},
        {"type": "websocket.disconnect", "code": 1000},
    )


def test_consume_in_order_sets_and_dispatches_as_channels_own_call_does_for_a_consumer_without_a_layer(
    transactional_db,  # Channels' own dispatch closes stale database connections before each message
):
    why = (
        f"{CHANNELS_CONSUMER} replaces AsyncConsumer.__call__ for consumers without a channel layer: it sets "
        "scope, channel_layer and base_send and dispatches every message in order until StopConsumer; "
        "Channels' own __call__ changed what it sets or how it ends; re-check consume_in_order"
    )
    scope = {"type": "websocket", "path": "/probe"}

    async def both():
        stock_sent, ours_sent = [], []

        async def stock_send(message):
            stock_sent.append(message)

        async def ours_send(message):
            ours_sent.append(message)

        stock, ours = Probe(), Probe()
        await stock(scope, conversation(), stock_send)
        await consume_in_order(ours, scope, conversation(), ours_send)
        return stock, stock_send, stock_sent, ours, ours_send, ours_sent

    with pinned(why):
        stock, stock_send, stock_sent, ours, ours_send, ours_sent = asyncio.run(both())
        assert stock.seen[0] == ("connect", scope, None, stock_send), why
        assert ours.seen[0] == ("connect", scope, None, ours_send), why
        assert (
            stock.seen[1:] == ours.seen[1:] == [("receive", "one"), ("receive", "two"), ("disconnect", 1000)]
        )
        assert stock_sent == ours_sent == [{"type": "websocket.accept"}], why


def test_the_session_middleware_wrapper_passes_websocket_sends_unchanged_to_the_send_it_wraps(db):
    why = (
        f"{CHANNELS_CONSUMER} data_send unwraps channels.sessions.InstanceSessionWrapper (its send's "
        "__self__ and real_send) for websocket.send messages, which that wrapper passes on unchanged (it "
        "saves sessions only for save_message_types): Channels changed the wrapper; re-check data_send"
    )
    received = []

    class Capture(AsyncConsumer):
        channel_layer_alias = "no-such-layer-for-this-probe"

        async def __call__(self, scope, receive, send):
            received.append(send)
            await send({"type": "websocket.send", "text": "through the wrappers"})

    server_sent = []

    async def server_send(message):
        server_sent.append(message)

    async def receive():
        return {"type": "websocket.disconnect", "code": 1000}

    scope = {"type": "websocket", "path": "/probe", "headers": [], "query_string": b""}
    with pinned(why):
        assert "websocket.send" not in InstanceSessionWrapper.save_message_types, why
        assert "websocket.send" not in InstanceSessionWrapper.cookie_response_message_types, why
        asyncio.run(AuthMiddlewareStack(Capture())(scope, receive, server_send))
        wrapped = received[0]
        assert isinstance(wrapped.__self__, InstanceSessionWrapper), why
        assert data_send(wrapped) is server_send, why
        assert server_sent == [{"type": "websocket.send", "text": "through the wrappers"}], why


def test_data_send_leaves_a_send_without_session_wrappers_as_it_is():
    async def send(message):
        """The server's own."""

    assert data_send(send) is send
