"""A Celery worker holding countdown tasks when its Redis is killed and started again (on the same port
and data, as `make run`'s supervisor does).

kombu's own Redis transport dies there ("AttributeError: 'NoneType' object has no attribute 'hostname'");
ours (wordcab_admin.celery.RedisTransport) stays up, reconnects, and runs the tasks on time. Real processes:
the bundled redis-server and `celery worker`."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from celery import Celery

from tests.core.bundled_redis import BundledRedis, wait_a_fsync
from tests.helpers import wait_for

BASE_DIR = Path(__file__).resolve().parents[2]
COUNTDOWN_SECONDS = 8  # long enough for Redis to be killed and back while the worker holds the tasks
pytestmark = pytest.mark.timeout(90)

# The worker of `make run`, with the broker transport chosen by the test: ours (the setting) or kombu's.
WORKER = """
import sys
from wordcab_admin.celery import app
if sys.argv[1] == "kombu":
    app.conf.broker_transport = "redis"
app.worker_main(["worker", "--pool", "threads", "--concurrency", "4", "--loglevel", "INFO",
                 "--hostname", "restart-test@%h"])
"""


class Worker:
    def __init__(self, redis_url: str, data_dir: Path, transport: str):
        self.log_path = data_dir.parent / f"worker-{transport}.log"
        env = {**os.environ, "REDIS_URL": redis_url, "DATA_DIR": str(data_dir), "PYTHONUNBUFFERED": "1"}
        self.process = subprocess.Popen(
            [sys.executable, "-c", WORKER, transport],
            cwd=BASE_DIR,
            env=env,
            stdout=self.log_path.open("w"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def alive(self) -> bool:
        return self.process.poll() is None

    def close(self) -> None:
        if self.alive():
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)


@pytest.fixture
def broker_and_worker(request, tmp_path):
    """The bundled persistent Redis, a worker with the transport named by the test's parameter, and a
    client app (results through Redis) once the worker is ready."""
    server = BundledRedis(tmp_path / "redis").start()
    worker = Worker(server.url, tmp_path / "data", request.param)
    client = Celery("restart-test-client", broker=server.url, backend=server.url)
    try:
        wait_for(lambda: "ready." in worker.output(), timeout=45, what=f"the worker:\n{worker.output()}")
        yield server, worker, client
    finally:
        worker.close()
        server.close()


def kill_redis_while_the_worker_holds_countdown_tasks(
    server: BundledRedis, client: Celery, *, with_results: bool = True
) -> list:
    results = [
        client.send_task(
            "celery.accumulate", args=(n,), countdown=COUNTDOWN_SECONDS, ignore_result=not with_results
        )
        for n in range(3)
    ]
    redis = server.client()
    wait_for(lambda: redis.hlen("unacked") == 3, what="the worker to hold the three countdown tasks")
    wait_a_fsync()
    server.stop(signal.SIGKILL)
    return results


@pytest.mark.parametrize("broker_and_worker", ["ours"], indirect=True)
def test_a_worker_holding_countdown_tasks_survives_a_redis_kill_9_and_runs_them_on_time(broker_and_worker):
    server, worker, client = broker_and_worker
    due = time.monotonic() + COUNTDOWN_SECONDS
    results = kill_redis_while_the_worker_holds_countdown_tasks(server, client)
    wait_for(lambda: "Connection to broker lost" in worker.output(), what="the worker to notice")
    server.start()

    assert [result.get(timeout=COUNTDOWN_SECONDS + 20) for result in results] == [[0], [1], [2]]
    assert time.monotonic() - due < 20  # on time, not after the visibility timeout (an hour)
    assert worker.alive(), worker.output()
    output = worker.output()
    assert "put back 3 unacknowledged message(s) left behind by a lost broker connection" in output
    assert "Unrecoverable error" not in output
    assert "AttributeError" not in output
    assert "In Celery 5.1 we introduced" not in output  # the settled deprecation warning stays quiet


@pytest.mark.parametrize("broker_and_worker", ["kombu"], indirect=True)
def test_kombus_own_redis_transport_still_dies_there_so_the_workaround_is_still_needed(broker_and_worker):
    """When this fails, kombu has fixed the bug: drop RedisTransport from wordcab_admin/celery.py and
    CELERY_BROKER_TRANSPORT from the settings (and this test)."""
    server, worker, client = broker_and_worker
    kill_redis_while_the_worker_holds_countdown_tasks(server, client, with_results=False)
    wait_for(lambda: not worker.alive(), timeout=30, what=f"the worker to die:\n{worker.output()}")
    assert "AttributeError(\"'NoneType' object has no attribute 'hostname'\")" in worker.output()
