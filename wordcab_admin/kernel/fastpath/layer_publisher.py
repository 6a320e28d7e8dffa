"""Broadcasting to a Channels group from synchronous code without waiting for Redis.

Justified by `make bench BENCH=live` (live updates' latency and the status callbacks' throughput while
people watch). The public way, `async_to_sync(layer.group_send)(...)` from each request thread or Celery
task, makes an event loop and a Redis connection per message outside an ASGI request and makes the
caller wait for Redis. Here one event loop on a daemon thread per process sends a queue to the channel
layer: callers never wait, one connection pool is reused, order is kept, and whatever queued up while a
send was in flight leaves in the next single `group_send`. Only public Channels API is used."""

import asyncio
import atexit
import logging
import os
import threading

from channels.layers import get_channel_layer
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

PUBLISH_TIMEOUT_SECONDS = 5.0


class LayerPublisher:
    """Sends lists of events to `group` as `{"type": message_type, "events": [...]}` messages."""

    def __init__(self, *, group: str, message_type: str) -> None:
        self.group, self.message_type = group, message_type
        self.pid = os.getpid()
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="live-publisher", daemon=True)
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self.loop).result(timeout=PUBLISH_TIMEOUT_SECONDS)
        atexit.register(self.flush)

    async def _start(self) -> None:
        self.queue: asyncio.Queue[list[dict]] = asyncio.Queue()
        self.sender = asyncio.create_task(self._send_forever())

    def submit(self, events: list[dict]) -> None:
        self.loop.call_soon_threadsafe(self.queue.put_nowait, events)

    async def _send_forever(self) -> None:
        layer = get_channel_layer()
        while True:
            batch = list(await self.queue.get())
            taken = 1
            while not self.queue.empty():
                batch.extend(self.queue.get_nowait())
                taken += 1
            try:
                message = {"type": self.message_type, "events": batch}
                await asyncio.wait_for(layer.group_send(self.group, message), PUBLISH_TIMEOUT_SECONDS)
            except (TimeoutError, RedisError, OSError) as exc:
                logger.warning("%d live updates not broadcast (%s): %s", len(batch), type(exc).__name__, exc)
            finally:
                for _ in range(taken):
                    self.queue.task_done()

    def flush(self, timeout: float = PUBLISH_TIMEOUT_SECONDS) -> None:
        if os.getpid() != self.pid or not self.thread.is_alive():
            return
        try:
            asyncio.run_coroutine_threadsafe(self.queue.join(), self.loop).result(timeout=timeout)
        except TimeoutError:
            logger.warning("live updates still queued after %.0f s", timeout)


class PublisherPerProcess:
    """One LayerPublisher per process, made on first use (a forked child needs its own thread)."""

    def __init__(self, *, group: str, message_type: str) -> None:
        self.group, self.message_type = group, message_type
        self._lock = threading.Lock()
        self._instance: LayerPublisher | None = None

    def get(self) -> LayerPublisher:
        with self._lock:
            if self._instance is None or self._instance.pid != os.getpid():
                self._instance = LayerPublisher(group=self.group, message_type=self.message_type)
            return self._instance

    def flush(self, timeout: float = PUBLISH_TIMEOUT_SECONDS) -> None:
        """Wait until everything queued so far has been handed to Redis (tests; process exit)."""
        if self._instance is not None and self._instance.pid == os.getpid():
            self._instance.flush(timeout)
