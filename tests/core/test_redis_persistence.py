"""The bundled Redis of `make run` keeps what it holds (queued tasks above all) across a stop and a
kill -9; the throwaway one of `make test` (`run exec`) keeps nothing."""

import json
import os
import signal
import subprocess
import sys
from base64 import b64decode
from pathlib import Path

from celery import Celery

from tests.core.bundled_redis import BundledRedis, wait_a_fsync

BASE_DIR = Path(__file__).resolve().parents[2]


def queued_task_names(client) -> list[str]:
    """The tasks waiting in Celery's default queue, oldest first (kombu pushes on the left)."""
    return [json.loads(raw)["headers"]["task"] for raw in reversed(client.lrange("celery", 0, -1))]


def send_while_no_worker_runs(url: str, task: str) -> None:
    producer = Celery("producer", broker=url)
    with producer.connection_for_write() as connection:
        producer.send_task(task, connection=connection)


def test_the_persistent_bundled_redis_appends_every_write_to_a_file_synced_every_second(tmp_path):
    server = BundledRedis(tmp_path / "redis").start()
    try:
        client = server.client()
        assert client.config_get("appendonly") == {"appendonly": "yes"}
        assert client.config_get("appendfsync") == {"appendfsync": "everysec"}
        assert client.config_get("save") == {"save": "60 1"}  # and a snapshot a minute after a change
        assert client.config_get("dir") == {"dir": str(tmp_path / "redis")}
    finally:
        server.close()


def test_queued_tasks_survive_a_stop_and_a_kill_9_of_the_bundled_redis(tmp_path):
    directory = tmp_path / "redis"
    server = BundledRedis(directory).start()
    try:
        send_while_no_worker_runs(server.url, "calls.stale_sweep")
        server.stop(signal.SIGTERM)
        server.start()  # same directory and port, as the supervisor starts it again
        assert queued_task_names(server.client()) == ["calls.stale_sweep"]

        send_while_no_worker_runs(server.url, "recordings.upload_sweep")
        server.client().rpush("wordcab-probe", "kept")
        wait_a_fsync()
        server.stop(signal.SIGKILL)
        server.start()
        client = server.client()
        assert queued_task_names(client) == ["calls.stale_sweep", "recordings.upload_sweep"]
        assert client.lrange("wordcab-probe", 0, -1) == [b"kept"]
        body = json.loads(client.lindex("celery", 0))
        assert json.loads(b64decode(body["body"]))[1] == {}  # a whole message, ready for a worker
    finally:
        server.close()
    assert (directory / "appendonly.aof").stat().st_size > 0


def test_the_throwaway_redis_of_make_test_keeps_nothing(tmp_path):
    show_persistence = (
        "import os, redis; c = redis.Redis.from_url(os.environ['REDIS_URL']); "
        "print(c.config_get('appendonly')['appendonly'], repr(c.config_get('save')['save']))"
    )
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    result = subprocess.run(
        [sys.executable, "-m", "wordcab_admin.run", "exec", "--", sys.executable, "-c", show_persistence],
        cwd=BASE_DIR,
        env={**env, "DATA_DIR": str(tmp_path / "data")},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "no ''"
