"""`make run` (python -m wordcab_admin.run serve): starts everything, refuses a second copy, and stops clean.
A process that dies is started again rather than stopping everything: tests/core/test_supervisor.py.

Each test starts the real embedded default in a subprocess, on a temporary DATA_DIR and a free port, with
REDIS_URL and DATABASE_URL unset: bundled Redis, SQLite, uvicorn, a Celery worker and Celery beat."""

import contextlib
import http.cookiejar
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from email.message import Message
from pathlib import Path

import pytest

from tests.core.proctree import alive, tree
from tests.helpers import wait_for

BASE_DIR = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.timeout(240)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def embedded_env(data_dir: Path, port: int) -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items() if k not in {"REDIS_URL", "DATABASE_URL", "DEBUG", "SECRET_KEY"}
    }
    return {**env, "DATA_DIR": str(data_dir), "PORT": str(port)}


def healthz(port: int) -> tuple[int, dict] | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as response:  # noqa: S310
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())
    except OSError:
        return None


class Embedded:
    """The supervisor as a subprocess in a session of its own (like a terminal's foreground job)."""

    def __init__(self, data_dir: Path, port: int):
        self.port, self.log = port, data_dir.parent / f"serve-{port}.log"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "wordcab_admin.run", "serve"],
            cwd=BASE_DIR,
            env=embedded_env(data_dir, port),
            stdout=self.log.open("w"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.started: dict = {}

    def output(self) -> str:
        return self.log.read_text()

    def wait_healthy(self, timeout: float = 90) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.started.update(tree(self.process.pid))
            assert self.process.poll() is None, f"the supervisor exited early:\n{self.output()}"
            answer = healthz(self.port)
            if answer and answer[0] == 200:
                self.started.update(tree(self.process.pid))
                return answer[1]
            time.sleep(0.25)
        raise AssertionError(
            f"no /healthz 200 within {timeout:.0f} s; last: {healthz(self.port)}\n{self.output()}"
        )

    def stop(self, how: str) -> int:
        if how == "SIGINT":
            os.killpg(self.process.pid, signal.SIGINT)  # what Ctrl-C in a terminal does
        else:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            raise AssertionError(
                f"the supervisor did not stop within 60 s after {how}\n{self.output()}"
            ) from None

    def kill_leftovers(self) -> None:
        for pid, _start in alive(self.started):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def commands(processes: dict) -> str:
    return " | ".join(processes.values())


class Browser:
    """Just enough of a browser over plain http: cookies, form posts, no redirects followed."""

    class _NoRedirects(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    def __init__(self, port: int):
        self.base, self.cookies = f"http://127.0.0.1:{port}", http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.cookies), self._NoRedirects
        )

    def request(self, path: str, form: dict | None = None) -> tuple[int, Message, str]:
        data = urllib.parse.urlencode(form).encode() if form is not None else None
        headers = {"Referer": self.base + "/login/"} if form is not None else {}
        request = urllib.request.Request(self.base + path, data=data, headers=headers)  # noqa: S310
        try:
            with self.opener.open(request, timeout=10) as response:
                return response.status, response.headers, response.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.headers, exc.read().decode()

    def cookie(self, name: str) -> http.cookiejar.Cookie:
        return next(cookie for cookie in self.cookies if cookie.name == name)


def the_product_runs_with_debug_off_over_plain_http(port: int, data_dir: Path, output: str) -> None:
    """Our error pages (not Django's debug pages), the Content-Security-Policy, the static files served by
    WhiteNoise without collectstatic, and signing in over http (no HTTPS redirect, no secure-only cookie)."""
    key_file = data_dir / "secret_key"
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert f"made a secret key, kept in {key_file}" in output
    password = re.search(r"one-time password: (\S+)", output).group(1)

    browser = Browser(port)
    status, headers, login = browser.request("/login/")
    assert status == 200
    assert "script-src 'self'" in headers["Content-Security-Policy"]
    assert not browser.cookie("csrftoken").secure
    assets = re.findall(r'(?:href|src)="(/static/[^"]+)"', login)
    assert {"/static/css/app.css", "/static/vendor/htmx/htmx.min.js", "/static/js/app.js"} <= set(assets)
    for asset in assets:
        assert browser.request(asset)[0] == 200, asset

    status, headers, missing = browser.request("/no-such-page/")
    assert status == 404
    assert "We could not find that page." in missing
    assert "Using the URLconf" not in missing  # Django's debug 404 lists every URL pattern
    assert "django-admin/" not in missing
    assert "Content-Security-Policy" in headers
    status, _, api_missing = browser.request("/v1/no-such-thing")  # the API's errors keep their JSON shape
    assert status == 404
    assert json.loads(api_missing)["error"]["code"] == "not_found"

    status, headers, _ = browser.request(
        "/login/",
        {"username": "admin", "password": password, "csrfmiddlewaretoken": browser.cookie("csrftoken").value},
    )
    assert status == 302
    assert not browser.cookie("sessionid").secure
    for _ in range(3):  # to the dashboard, or first to wherever signing in with a one-time password leads
        location = headers["Location"]
        assert location.startswith("/"), location  # never to https://
        status, headers, page = browser.request(location)
        if status != 302:
            break
    assert status == 200
    assert 'href="/static/css/app.css"' in page
    assert "Sign out" in page


def test_make_run_starts_everything_refuses_a_second_copy_and_stops_clean_on_sigterm_and_ctrl_c(tmp_path):
    data_dir = tmp_path / "data"
    first = Embedded(data_dir, free_port())
    try:
        assert first.wait_healthy() == {"database": "ok", "redis": "ok", "worker": "ok"}
        started = commands(first.started)
        for part in (
            "redis-server",
            "uvicorn",
            "celery -A wordcab_admin worker",
            "celery -A wordcab_admin beat",
        ):
            assert part in started, started
        output = first.output()
        assert f"http://127.0.0.1:{first.port}/" in output
        assert "username: admin    one-time password: " in output
        assert (data_dir / "wordcab.sqlite3").exists()
        the_product_runs_with_debug_off_over_plain_http(first.port, data_dir, output)

        # A manage.py command beside it, with no REDIS_URL, reaches its Redis and worker: the demo's calls move.
        beside = embedded_env(data_dir, first.port)
        demo = subprocess.run(
            [sys.executable, "manage.py", "demo"],
            cwd=BASE_DIR,
            env=beside,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert demo.returncode == 0, demo.stderr
        moved = "from calls.models import Call; print(Call.objects.exclude(status='initiating').count())"

        def calls_moved() -> bool:
            shell = [sys.executable, "manage.py", "shell", "-c", moved]
            out = subprocess.run(shell, cwd=BASE_DIR, env=beside, capture_output=True, text=True, timeout=60)
            return int((out.stdout.strip().splitlines() or ["0"])[-1]) > 0  # after shell's own chatter

        wait_for(calls_moved, timeout=30, what="the demo's calls, queued from another process, to be placed")

        second = subprocess.run(
            [sys.executable, "-m", "wordcab_admin.run", "serve"],
            cwd=BASE_DIR,
            env=embedded_env(data_dir, free_port()),
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert second.returncode != 0
        assert f"already running on DATA_DIR={data_dir}" in second.stderr
        assert f"port {first.port}" in second.stderr
        assert healthz(first.port)[0] == 200  # the first one is untouched
        processes = json.loads((data_dir / "run" / "processes.json").read_text())
        assert processes["supervisor"] == first.process.pid  # and so is its list of processes

        assert first.stop("SIGTERM") == 0
        assert not (data_dir / "redis" / "url").exists()  # no stale pointer to a stopped Redis
        assert not (data_dir / "run" / "processes.json").exists()  # nor to stopped processes
        left = alive(first.started)
        assert not left, f"still running after SIGTERM: {commands(left)}"
        assert "stopping" in first.output()
    finally:
        first.kill_leftovers()

    # Restarting at once on the same port works (its last connections may still be in TIME_WAIT), and
    # keeps the data: no second admin, no new password.
    again = Embedded(data_dir, first.port)
    try:
        again.wait_healthy()
        assert "one-time password" not in again.output()
        assert again.stop("SIGINT") == 0
        left = alive(again.started)
        assert not left, f"still running after Ctrl-C: {commands(left)}"
    finally:
        again.kill_leftovers()


def test_a_port_in_use_is_reported_plainly(tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "wordcab_admin.run", "serve"],
            cwd=BASE_DIR,
            env=embedded_env(tmp_path / "data", port),
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode != 0
    assert f"Port {port} on 127.0.0.1 is not free" in result.stderr
