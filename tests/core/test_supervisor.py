"""The supervisor of `make run` (wordcab_admin/run.py): a child that exits is started again after a pause
that grows while it keeps exiting; five exits of one child within a minute stop everything, naming it with
its last lines; DATA_DIR/run/processes.json names the pid of each child while it serves.

The first tests supervise small shell children (fast, exact timings); the last one kills each process of
the real embedded product with SIGKILL and watches it come back."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis

from tests.core.bundled_redis import wait_a_fsync
from tests.core.proctree import alive, tree
from tests.core.test_run import Embedded, commands, free_port, healthz
from tests.helpers import wait_for

BASE_DIR = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.timeout(120)

# A supervisor of shell children: argv = processes file, STABLE_AFTER_SECONDS, then (name, script) pairs.
SUPERVISE = """
import sys
from pathlib import Path
from wordcab_admin import run

run.STABLE_AFTER_SECONDS = float(sys.argv[2])
children = [run.Child(name, ["sh", "-c", script]) for name, script in zip(sys.argv[3::2], sys.argv[4::2])]
supervisor = run.Supervisor(children, infrastructure=[], processes_file=Path(sys.argv[1]))
sys.exit(supervisor.run(running_message="up"))
"""


class ShellSupervisor:
    def __init__(self, tmp_path: Path, *, stable_after: float, children: dict[str, str]):
        self.processes_file, self.log = tmp_path / "run" / "processes.json", tmp_path / "console.log"
        pairs = [part for name_and_script in children.items() for part in name_and_script]
        self.process = subprocess.Popen(
            [sys.executable, "-c", SUPERVISE, str(self.processes_file), str(stable_after), *pairs],
            cwd=BASE_DIR,
            stdout=self.log.open("w"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def output(self) -> str:
        return self.log.read_text()

    def pids(self) -> dict | None:
        with contextlib.suppress(OSError, ValueError):
            return json.loads(self.processes_file.read_text())
        return None

    def close(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)


def pid_alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_a_child_that_keeps_exiting_comes_back_after_growing_pauses_until_five_exits_stop_everything(
    tmp_path,
):
    steady_pid_file = tmp_path / "steady.pid"
    supervisor = ShellSupervisor(
        tmp_path,
        stable_after=30,
        children={
            "flaky": 'echo "flaky $$ starting"; echo "flaky $$ giving up" >&2; exit 3',
            "steady": f"echo $$ > {steady_pid_file}; exec sleep 300",
        },
    )
    started, flaky_pids = time.monotonic(), set()
    try:
        while supervisor.process.poll() is None and time.monotonic() - started < 60:
            if pids := supervisor.pids():
                assert pids.keys() == {"supervisor", "redis", "flaky", "steady"}
                assert (pids["supervisor"], pids["redis"]) == (supervisor.process.pid, None)
                flaky_pids.add(pids["flaky"])
            time.sleep(0.05)
        elapsed = time.monotonic() - started
    finally:
        supervisor.close()

    output = supervisor.output()
    assert supervisor.process.returncode == 1, output
    for restart, pause in enumerate(["0.5", "1", "2", "4"], start=1):
        assert f"[wordcab] flaky exited with code 3; restarting in {pause} s (restart {restart})\n" in output
    assert elapsed >= 0.5 + 1 + 2 + 4
    assert "[wordcab] flaky exited 5 times within 60 s (last with code 3); stopping everything." in output
    last_lines = output.split("Its last lines:\n", 1)[1]
    assert re.search(r"^    flaky \| flaky \d+ starting$", last_lines, re.MULTILINE)
    assert re.search(r"^    flaky \| flaky \d+ giving up$", last_lines, re.MULTILINE)
    assert len(re.findall(r"^flaky \d+ starting$", output, re.MULTILINE)) == 5  # passed through unchanged
    assert len(flaky_pids) >= 2  # processes.json follows the restarts
    assert not supervisor.processes_file.exists()
    assert not pid_alive(int(steady_pid_file.read_text())), "the steady child was left running"


def test_a_child_that_stayed_up_a_while_comes_back_after_the_shortest_pause_and_sigterm_stops_all(tmp_path):
    steady_pid_file = tmp_path / "steady.pid"
    supervisor = ShellSupervisor(
        tmp_path,
        stable_after=1,
        children={
            "sometimes": "sleep 1.2; exit 3",  # up longer than stable_after each time
            "steady": f"echo $$ > {steady_pid_file}; exec sleep 300",
        },
    )
    try:
        wait_for(
            lambda: "(restart 3)" in supervisor.output(), timeout=30, what="three restarts of `sometimes`"
        )
        supervisor.process.send_signal(signal.SIGTERM)
        assert supervisor.process.wait(timeout=20) == 0
    finally:
        supervisor.close()
    output = supervisor.output()
    for restart in (1, 2, 3):
        assert f"sometimes exited with code 3; restarting in 0.5 s (restart {restart})" in output
    assert "[wordcab] stopping…" in output
    assert not supervisor.processes_file.exists()
    assert not pid_alive(int(steady_pid_file.read_text()))


def test_make_run_brings_back_each_process_killed_with_sigkill_and_redis_keeps_its_url_and_data(tmp_path):
    data_dir = tmp_path / "data"
    product = Embedded(data_dir, free_port())
    processes_file = data_dir / "run" / "processes.json"

    def pids() -> dict:
        return json.loads(processes_file.read_text())

    try:
        product.wait_healthy()
        first = pids()
        assert first.keys() == {"supervisor", "redis", "web", "worker", "beat"}
        assert first["supervisor"] == product.process.pid
        assert all(pid_alive(pid) for pid in first.values()), first
        redis_url = (data_dir / "redis" / "url").read_text()
        redis.Redis.from_url(redis_url).rpush("wordcab-probe", "kept")
        wait_a_fsync()

        for name in ("redis", "worker", "web", "beat"):
            old = pids()[name]
            os.killpg(old, signal.SIGKILL)

            def back(name=name, old=old) -> bool:
                new = pids()[name]
                return new != old and pid_alive(new) and (healthz(product.port) or (0,))[0] == 200

            wait_for(
                back, timeout=30, what=f"{name} to come back and /healthz 200:\n{product.output()[-4000:]}"
            )
            product.started.update(tree(product.process.pid))
            restarted = f"[wordcab] {name} exited with code -9 (SIGKILL); restarting in 0.5 s (restart 1)"
            assert restarted in product.output()
            if name == "redis":  # the same URL, which the other children have, and the same data
                assert (data_dir / "redis" / "url").read_text() == redis_url
                port = redis_url.rsplit(":", 1)[1].split("/")[0]
                assert f"redis-server 127.0.0.1:{port}" in cmdline(pids()["redis"])  # its process title
                assert redis.Redis.from_url(redis_url).lrange("wordcab-probe", 0, -1) == [b"kept"]

        assert product.stop("SIGTERM") == 0
        assert not processes_file.exists()
        left = alive(product.started)
        assert not left, f"still running after SIGTERM: {commands(left)}"
    finally:
        product.kill_leftovers()


def cmdline(pid: int) -> str:
    return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
