"""Fault drills against the real embedded product: `python -m wordcab_admin.run serve` (what `make run`
starts) on a DATA_DIR and port of its own, with SQLite and the bundled Redis whatever the environment says.

The pieces, used by tests/faults/test_faults.py and tests/bench/bench_faults.py:

* `Product`: starts and stops the supervisor, reads `DATA_DIR/run/processes.json`, kills one child's
  whole process group with SIGKILL, waits until the supervisor has started it again and /healthz is 200;
* `Api`: the public API over plain HTTP with an API key; `place_calls` posts calls with idempotency keys
  and a mix of the simulator's outcomes, retrying the same key on transport errors and 503s;
* `settle`: polls `GET /v1/calls/{id}` until every call is final (and its recording stored, when one is
  due); `wrong_final_states`, `missing_recordings`, `double_dials` and `bad_answers` list what is wrong;
* `LiveClient`: a `/ws/calls` client in a thread of its own that records every close code and reconnects;
* `run_drill`: calls in flight (ringing and talking), one fault, more calls during it, the recovery."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import http.client
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from tests.factories import number_inside_calling_hours

BASE_DIR = Path(__file__).resolve().parents[2]
_VENV_PYTHON = BASE_DIR / ".venv" / "bin" / "python"
PYTHON = str(_VENV_PYTHON) if _VENV_PYTHON.exists() else sys.executable

# Speed 1 (the default): a simulated call rings 2-4 s and talks 3-6 s (telephony/simulator/provider.py),
# long enough to kill a process while some calls ring and others talk, short enough for a quick suite.
SIMULATOR_SPEED = os.environ.get("FAULTS_SIMULATOR_SPEED", "1")
SETTLE_SECONDS = 30.0  # every call final within this long of the killed process being back
RESTART_SECONDS = 30.0  # the supervisor must have restarted a killed child within this long
REFERENCE_SECONDS = 600.0  # CALL_STALE_AFTER_SECONDS: the watchdog that settled such calls before #14
TERMINAL = frozenset({"completed", "failed", "no_answer"})
PROCESS_NAMES = ("redis", "web", "worker", "beat")
FAULTS = ("worker", "redis", "web", "restart")  # kill -9 of one child, or SIGTERM of serve and start again
TRANSPORT_ERRORS = (OSError, http.client.HTTPException)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def _environ_has(pid: int, entry: str) -> bool:
    try:
        return entry.encode() in Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    except OSError:
        return False


# --- the product -----------------------------------------------------------------------------------------


class Product:
    """The supervisor as a subprocess in a session of its own, its console appended to `log_path`."""

    def __init__(self, data_dir: Path, port: int | None = None):
        self.data_dir = data_dir.resolve()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.log_path = self.data_dir.parent / f"{self.data_dir.name}-console.log"
        self.process: subprocess.Popen | None = None
        self.starts = 0
        self.used_fallback_pids = False  # processes.json was missing: children found through /proc
        self._groups: set[int] = set()  # every process group leader seen, for the final clean-up

    # environment and console

    def env(self) -> dict[str, str]:
        dropped = {
            "REDIS_URL",
            "DATABASE_URL",
            "DEBUG",
            "SECRET_KEY",
            "PUBLIC_BASE_URL",
            "PYTEST_CURRENT_TEST",
        }
        env = {k: v for k, v in os.environ.items() if k not in dropped}
        return {
            **env,
            "DATA_DIR": str(self.data_dir),
            "PORT": str(self.port),
            "SIMULATOR_SPEED": SIMULATOR_SPEED,
            "SIMULATOR_DISORDER": "false",
            "CALL_STALE_AFTER_SECONDS": str(int(REFERENCE_SECONDS)),
            "PYTHONUNBUFFERED": "1",
        }

    def output(self, since: int = 0) -> str:
        try:
            return self.log_path.read_text(errors="replace")[since:]
        except OSError:
            return ""

    def output_size(self) -> int:
        return len(self.output())

    def manage(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        return subprocess.run(
            [PYTHON, "manage.py", *args],
            cwd=BASE_DIR,
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def database(self) -> Path:
        return self.data_dir / "wordcab.sqlite3"

    # starting and stopping

    def start(self) -> None:
        self.starts += 1
        with self.log_path.open("a") as log:
            log.write(f"\n===== harness: serve start #{self.starts} on port {self.port} =====\n")
            log.flush()
            self.process = subprocess.Popen(
                [PYTHON, "-m", "wordcab_admin.run", "serve"],
                cwd=BASE_DIR,
                env=self.env(),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self._groups.add(self.process.pid)

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def healthz(self) -> int | None:
        try:
            with _OPENER.open(f"{self.base_url}/healthz", timeout=5) as response:
                return response.status
        except urllib.error.HTTPError as exc:
            return exc.code
        except TRANSPORT_ERRORS:
            return None

    def wait_ready(self, timeout: float = 120) -> float:
        """Until /healthz is 200 (database, Redis and a worker answer); the monotonic time it was."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.running():
                raise AssertionError(
                    f"serve exited (code {self.process.returncode}):\n{self.output()[-6000:]}"
                )
            if self.healthz() == 200:
                return time.monotonic()
            time.sleep(0.1)
        raise AssertionError(f"no /healthz 200 within {timeout:.0f} s:\n{self.output()[-6000:]}")

    def stop(self, timeout: float = 60) -> int | None:
        """SIGTERM the supervisor (it stops its children) and wait; SIGKILL its group after `timeout`."""
        if self.process is None or self.process.poll() is not None:
            return None if self.process is None else self.process.returncode
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
            return None

    def restart(self) -> float:
        self.stop()
        self.start()
        return self.wait_ready()

    def ensure_ready(self) -> None:
        """Healthy, or started again (an earlier drill may have left it down)."""
        if self.running():
            with contextlib.suppress(AssertionError):
                self.wait_ready(timeout=30)
                return
        self.restart()

    def cleanup(self) -> None:
        """Stop it, then SIGKILL any process group of ours (checked by its DATA_DIR) that outlived it."""
        self.stop(timeout=30)
        with contextlib.suppress(OSError, ValueError):
            self._groups.update(int(pid) for pid in (self.processes(fresh_only=False) or {}).values())
        entry = f"DATA_DIR={self.data_dir}"
        for pid in self._groups:
            if _alive(pid) and _environ_has(pid, entry):
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(pid, signal.SIGKILL)

    # the children

    def processes_file(self) -> Path:
        return self.data_dir / "run" / "processes.json"

    def processes(self, *, fresh_only: bool = True) -> dict[str, int] | None:
        """DATA_DIR/run/processes.json, or None when missing, unreadable or (fresh_only) left by an earlier
        supervisor."""
        try:
            pids = {name: int(pid) for name, pid in json.loads(self.processes_file().read_text()).items()}
        except (OSError, ValueError, TypeError, AttributeError):
            return None
        if fresh_only and (self.process is None or pids.get("supervisor") != self.process.pid):
            return None
        self._groups.update(pids.values())
        return pids

    def _children_from_proc(self) -> dict[str, int]:
        """The supervisor's children by command line: only when processes.json is not there."""
        found: dict[str, int] = {}
        if self.process is None:
            return found
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                ppid = int(Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[1])
                command = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode()
            except (OSError, IndexError, ValueError):
                continue
            if ppid != self.process.pid:
                continue
            if "redis-server" in command:
                found["redis"] = int(entry)
            elif "uvicorn" in command:
                found["web"] = int(entry)
            elif " worker " in command:
                found["worker"] = int(entry)
            elif " beat " in command:
                found["beat"] = int(entry)
        return found

    def pid_of(self, name: str) -> int | None:
        pids = self.processes()
        if pids is None:
            pids = self._children_from_proc()
            self.used_fallback_pids = True
        pid = pids.get(name)
        if pid is not None:
            self._groups.add(pid)
        return pid

    def kill(self, name: str) -> tuple[int, float]:
        """SIGKILL the whole process group of `name` (redis, web, worker, beat): (its pid, when)."""
        pid = self.pid_of(name)
        if pid is None:
            raise AssertionError(
                f"no {name} process to kill: processes.json={self.processes(fresh_only=False)}"
            )
        os.killpg(pid, signal.SIGKILL)
        return pid, time.monotonic()

    def wait_back(
        self, name: str, old_pid: int, timeout: float = RESTART_SECONDS
    ) -> tuple[float | None, int | None]:
        """Until processes.json names a new, live pid for `name` and /healthz is 200: (when, new pid), or
        (None, None) when that did not happen within `timeout` or the supervisor exited."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.running():
            pids = self.processes()
            pid = pids.get(name) if pids else None
            if pid and pid != old_pid and _alive(pid) and self.healthz() == 200:
                return time.monotonic(), pid
            time.sleep(0.1)
        return None, None


def _no_proxy_opener() -> urllib.request.OpenerDirector:
    class NoRedirects(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    return urllib.request.build_opener(urllib.request.ProxyHandler({}), NoRedirects)


_OPENER = _no_proxy_opener()


# --- the API -----------------------------------------------------------------------------------------------


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> dict:
        return json.loads(self.body or b"{}")


class Api:
    def __init__(self, base_url: str, key: str):
        self.base_url, self.key = base_url, key

    def request(self, method: str, path: str, body: dict | None = None, timeout: float = 10) -> Answer:
        """One request; raises TRANSPORT_ERRORS when the server cannot be reached or drops the connection."""
        headers = {"Authorization": f"Bearer {self.key}", "Accept": "application/json"}
        data = None
        if body is not None:
            data, headers["Content-Type"] = json.dumps(body).encode(), "application/json"
        request = urllib.request.Request(self.base_url + path, data=data, headers=headers, method=method)  # noqa: S310
        try:
            with _OPENER.open(request, timeout=timeout) as response:
                return Answer(response.status, dict(response.headers), response.read())
        except urllib.error.HTTPError as exc:
            return Answer(exc.code, dict(exc.headers), exc.read())

    def get(self, path: str) -> Answer:
        return self.request("GET", path)


def create_api_key(product: Product) -> str:
    """`manage.py create_api_key admin` on the product's DATA_DIR (the first start made `admin`)."""
    result = product.manage("create_api_key", "admin")
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


def create_agent(api: Api, agent_id: str = "agent_faults") -> str:
    answer = api.request(
        "POST",
        "/v1/agents",
        {"id": agent_id, "name": "Fault drill", "max_duration": 600, "phone_numbers": ["+14155559000"]},
    )
    assert answer.status in (201, 409), (answer.status, answer.body)
    return agent_id


# --- calls and what they must end as ----------------------------------------------------------------------


@dataclass(frozen=True)
class Expected:
    status: str
    end_reason: str
    error_code: str = ""


OUTCOMES = {  # docs/contract.md, "The simulator provider": last four digits → the call's true end
    "completed": ("2{:03d}", Expected("completed", "hangup")),
    "no_answer": ("015{}", Expected("no_answer", "no_answer")),
    "busy": ("016{}", Expected("no_answer", "busy")),
    "failed": ("017{}", Expected("failed", "error", "carrier_rejected")),
    "voicemail": ("018{}", Expected("completed", "voicemail")),
}

# (outcome, record, max_duration): weighted to answered calls, which are in flight longest. A limit of 15 s
# is well above the simulator's talk time (at most 6 s at speed 1), so a call ended by max_duration would
# have been given a talk time it never had.
MIX = [
    ("completed", True, None),
    ("completed", True, 15),
    ("no_answer", False, None),
    ("completed", False, 15),
    ("voicemail", True, None),
    ("completed", True, None),
    ("busy", False, None),
    ("failed", True, None),
]


@dataclass
class CallPlan:
    key: str
    outcome: str
    number: str
    record: bool
    max_duration: int | None
    batch: str
    id: str | None = None
    answers: list[str] = field(default_factory=list)  # every attempt: a status code or a transport error
    problems: list[str] = field(default_factory=list)  # what the API did wrong while it was placed

    @property
    def expected(self) -> Expected:
        return OUTCOMES[self.outcome][1]

    @property
    def wants_recording(self) -> bool:
        """A recorded call that talked (hangup) gets a WAV of its talk time; voicemail has none."""
        return self.record and self.expected.end_reason == "hangup"

    def body(self, agent_id: str) -> dict:
        body: dict = {"phone_number": self.number, "record": self.record, "idempotency_key": self.key}
        if self.max_duration is not None:
            body["max_duration"] = self.max_duration
        return body


def plan_calls(count: int, batch: str, offset: int = 0) -> list[CallPlan]:
    run = uuid.uuid4().hex[:8]
    plans = []
    for i in range(count):
        outcome, record, max_duration = MIX[(i + offset) % len(MIX)]
        pattern, _ = OUTCOMES[outcome]
        last_four = pattern.format(i % 1000 if outcome == "completed" else i % 10)
        plans.append(
            CallPlan(
                key=f"faults-{batch}-{run}-{i}",
                outcome=outcome,
                number=number_inside_calling_hours(last_four, minutes=15),  # the server's clock is the wall's
                record=record,
                max_duration=max_duration,
                batch=batch,
            )
        )
    return plans


def post_call(api: Api, agent_id: str, plan: CallPlan, *, timeout: float = 120) -> None:
    """POST the call, again with the same idempotency key after a transport error, a 503 (after its
    Retry-After) or any other 5xx, until it is created (201) or found (200)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            answer = api.request("POST", f"/v1/agents/{agent_id}/calls", plan.body(agent_id))
        except TRANSPORT_ERRORS as exc:
            plan.answers.append(type(exc).__name__)
            answer = None
        if answer is not None:
            plan.answers.append(str(answer.status))
            if answer.status in (200, 201):
                plan.id = answer.json()["id"]
                if answer.status == 200 and plan.answers[-2:-1] == ["503"]:
                    plan.problems.append("a 503 created the call (the retry with its key found it: 200)")
                return
            if answer.status == 503:
                retry_after = answer.headers.get("Retry-After")
                if retry_after is None:
                    plan.problems.append("503 without Retry-After")
                with contextlib.suppress(TypeError, ValueError):
                    time.sleep(min(max(float(retry_after), 0.1), 2.0))
            elif answer.status >= 500:
                plan.problems.append(f"{answer.status}: {answer.body[:300]!r}")
            else:
                raise AssertionError(
                    f"POST call {plan.number} answered {answer.status}: {answer.body[:500]!r}"
                )
        if time.monotonic() > deadline:
            raise AssertionError(f"call {plan.key} not accepted within {timeout:.0f} s: {plan.answers}")
        time.sleep(0.2)


def place_calls(api: Api, agent_id: str, plans: list[CallPlan], *, timeout: float = 120) -> list[CallPlan]:
    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        for future in [pool.submit(post_call, api, agent_id, plan, timeout=timeout) for plan in plans]:
            future.result()
    return plans


def statuses(api: Api, plans: list[CallPlan]) -> dict[str, str]:
    found = {}
    for plan in plans:
        with contextlib.suppress(*TRANSPORT_ERRORS):
            answer = api.get(f"/v1/calls/{plan.id}")
            if answer.status == 200:
                found[plan.id] = answer.json()["status"]
    return found


def wait_in_flight(api: Api, plans: list[CallPlan], timeout: float = 10) -> dict[str, int]:
    """Until several calls ring and several talk (about a third of those that will be answered), or
    `timeout`: how many calls are in each status."""
    answered = sum(plan.expected.end_reason == "hangup" for plan in plans)
    talking = max(1, min(3, answered // 3))
    deadline = time.monotonic() + timeout
    while True:
        counts: dict[str, int] = {}
        for status in statuses(api, plans).values():
            counts[status] = counts.get(status, 0) + 1
        if counts.get("ringing", 0) >= 2 and counts.get("in_progress", 0) >= talking:
            return counts
        if time.monotonic() > deadline:
            return counts
        time.sleep(0.05)


def call_done(plan: CallPlan, call: dict | None) -> bool:
    """Final; and, for a recorded call that talked, with its recording stored."""
    if not call or call["status"] not in TERMINAL:
        return False
    if plan.wants_recording and (call["status"], call["end_reason"]) == ("completed", "hangup"):
        return call["recording_url"] is not None
    return True


@dataclass
class Settlement:
    calls: dict[str, dict]
    final_at: float | None  # every call in a terminal status
    done_at: float | None  # and every recording due stored


def settle(api: Api, plans: list[CallPlan], *, until: float, poll: float = 0.2) -> Settlement:
    calls: dict[str, dict] = {}
    final_at = None
    while True:
        for plan in plans:
            if call_done(plan, calls.get(plan.id)):
                continue
            try:
                answer = api.get(f"/v1/calls/{plan.id}")
            except TRANSPORT_ERRORS:
                break
            if answer.status == 200:
                calls[plan.id] = answer.json()
        now = time.monotonic()
        if final_at is None and all(calls.get(p.id, {}).get("status") in TERMINAL for p in plans):
            final_at = now
        if all(call_done(p, calls.get(p.id)) for p in plans):
            return Settlement(calls, final_at, now)
        if now > until:
            return Settlement(calls, final_at, None)
        time.sleep(poll)


def describe(call: dict | None) -> str:
    if not call:
        return "never read"
    error = (call.get("error") or {}).get("code", "")
    return (
        f"{call['status']}/{call['end_reason'] or '-'}{'/' + error if error else ''}"
        f" (duration={call.get('duration')}, recording_url={call.get('recording_url')})"
    )


def wrong_final_states(plans: list[CallPlan], calls: dict[str, dict]) -> list[str]:
    wrong = []
    for plan in plans:
        call = calls.get(plan.id)
        want = plan.expected
        got = None
        if call:
            got = (call["status"], call["end_reason"], (call["error"] or {}).get("code", ""))
        if got != (want.status, want.end_reason, want.error_code):
            wrong.append(
                f"{plan.id} ({plan.batch}, to {plan.number}, {plan.outcome}): "
                f"want {want.status}/{want.end_reason}{'/' + want.error_code if want.error_code else ''}, "
                f"got {describe(call)}"
            )
    return wrong


def missing_recordings(api: Api, plans: list[CallPlan], calls: dict[str, dict]) -> list[str]:
    missing = []
    for plan in plans:
        call = calls.get(plan.id)
        if (
            not plan.wants_recording
            or not call
            or (call["status"], call["end_reason"]) != ("completed", "hangup")
        ):
            continue
        if call["recording_url"] is None:
            missing.append(f"{plan.id} ({plan.batch}): completed, recorded, but recording_url is null")
            continue
        try:
            audio = api.get(f"/v1/calls/{plan.id}/recording")
        except TRANSPORT_ERRORS as exc:
            missing.append(f"{plan.id}: GET its recording failed: {exc!r}")
            continue
        if audio.status != 200 or not audio.body.startswith(b"RIFF"):
            missing.append(f"{plan.id}: GET its recording answered {audio.status}, {audio.body[:80]!r}")
    return missing


def bad_answers(plans: list[CallPlan]) -> list[str]:
    return [
        f"{plan.key} ({' → '.join(plan.answers)}): {problem}" for plan in plans for problem in plan.problems
    ]


def double_dials(database: Path, plans: list[CallPlan]) -> list[str]:
    """Every call dialled once: one row in the simulator's dial log, whose call sid is the call's provider
    id and the only CallSid any of its provider events carries (a second dial would bring a second one)."""
    ids = [plan.id for plan in plans]
    marks = ",".join("?" * len(ids))
    with contextlib.closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=10)) as db:
        try:
            dials = db.execute(
                f"SELECT request_key, call_sid, requests FROM telephony_simulator_dial WHERE request_key IN ({marks})",  # noqa: S608
                ids,
            ).fetchall()
        except sqlite3.OperationalError as exc:
            return [f"the simulator's dial log cannot be read: {exc}"]
        rows = db.execute(
            f"SELECT c.public_id, c.provider_call_id, e.payload FROM calls_call c "  # noqa: S608
            f"LEFT JOIN calls_callevent e ON e.call_id = c.id WHERE c.public_id IN ({marks})",
            ids,
        ).fetchall()
    dialled: dict[str, list[tuple[str, int]]] = {}
    for key, sid, requests in dials:
        dialled.setdefault(key, []).append((sid, requests))
    provider_ids: dict[str, str | None] = {}
    event_sids: dict[str, set[str]] = {}
    for public_id, provider_call_id, payload in rows:
        provider_ids[public_id] = provider_call_id
        sid = json.loads(payload).get("CallSid") if payload else None
        if sid:
            event_sids.setdefault(public_id, set()).add(sid)
    if not dialled:
        return [f"the simulator's dial log has no row for any of these {len(plans)} calls"]
    problems = []
    for plan in plans:
        entries = dialled.get(plan.id, [])
        if not entries:
            continue  # never dialled: not a double dial (the final-state check says what became of it)
        if len(entries) > 1:
            problems.append(f"{plan.id}: {len(entries)} rows in the dial log: {entries}")
            continue
        sid, _requests = entries[0]
        if provider_ids.get(plan.id) != sid:
            problems.append(
                f"{plan.id}: dialled as {sid}, but the call's provider id is {provider_ids.get(plan.id)}"
            )
        others = event_sids.get(plan.id, set()) - {sid}
        if others:
            problems.append(f"{plan.id}: dialled as {sid}, yet events came from {sorted(others)} too")
    return problems


def dial_requests(database: Path, plans: list[CallPlan]) -> dict[str, int]:
    """How often placing was asked for, per call (more than 1: a retried placing, answered without a dial)."""
    ids = [plan.id for plan in plans]
    with (
        contextlib.suppress(sqlite3.Error),
        contextlib.closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=10)) as db,
    ):
        marks = ",".join("?" * len(ids))
        query = f"SELECT request_key, requests FROM telephony_simulator_dial WHERE request_key IN ({marks})"  # noqa: S608
        return dict(db.execute(query, ids).fetchall())
    return {}


# --- /ws/calls --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Close:
    at: float  # monotonic
    connection: int
    code: int  # 1006: the connection dropped without a close frame
    reason: str


class LiveClient:
    """A `/ws/calls` client (Bearer key) that records every close and reconnects (0.2 s doubling to 2 s)."""

    def __init__(self, base_url: str, key: str):
        self.url = base_url.replace("http://", "ws://") + "/ws/calls"
        self.key = key
        self.connections = 0  # opened so far; the current one's number
        self.closes: list[Close] = []
        self.refused: list[tuple[float, str]] = []  # upgrades that failed (server down)
        self.seen: dict[str, list[tuple[int, float, str]]] = {}  # call id → (connection, when, status)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task | None = None
        self._thread = threading.Thread(target=self._main, name="live-client", daemon=True)

    def start(self, timeout: float = 15) -> LiveClient:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self.connections:
            if time.monotonic() > deadline:
                raise AssertionError(f"/ws/calls did not open within {timeout:.0f} s: {self.refused[-3:]}")
            time.sleep(0.05)
        return self

    def stop(self) -> None:
        if self._loop is not None and self._task is not None:
            self._loop.call_soon_threadsafe(self._task.cancel)
        self._thread.join(timeout=10)

    def closes_since(self, moment: float) -> list[Close]:
        return [close for close in list(self.closes) if close.at >= moment]

    def saw(self, call_id: str, *, after_connection: int = 0) -> bool:
        return any(conn > after_connection for conn, _at, _status in list(self.seen.get(call_id, [])))

    def wait_seen(self, call_id: str, *, after_connection: int = 0, timeout: float = 15) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.saw(call_id, after_connection=after_connection):
                return True
            time.sleep(0.05)
        return False

    def _main(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._task = self._loop.create_task(self._run())
        with contextlib.suppress(asyncio.CancelledError):
            self._loop.run_until_complete(self._task)
        self._loop.close()

    async def _run(self) -> None:
        from websockets.asyncio.client import connect
        from websockets.exceptions import ConnectionClosed, InvalidHandshake

        delay = 0.2
        while True:
            index = None
            try:
                async with connect(
                    self.url,
                    additional_headers={"Authorization": f"Bearer {self.key}"},
                    proxy=None,
                    compression=None,
                    open_timeout=5,
                    ping_interval=2,
                    ping_timeout=4,
                    close_timeout=2,
                    max_size=None,
                ) as socket_:
                    self.connections += 1
                    index = self.connections
                    delay = 0.2
                    while True:
                        self._handle(index, await socket_.recv())
            except ConnectionClosed as exc:
                code, reason = (exc.rcvd.code, exc.rcvd.reason) if exc.rcvd is not None else (1006, "")
                self.closes.append(Close(time.monotonic(), index or 0, code, reason))
            except (OSError, InvalidHandshake, TimeoutError) as exc:
                self.refused.append((time.monotonic(), repr(exc)))
            await asyncio.sleep(delay)
            delay = min(delay * 2, 2.0)

    def _handle(self, index: int, frame: str | bytes) -> None:
        message = json.loads(frame)
        for item in message["messages"] if message.get("type") == "batch" else [message]:
            if item.get("type") == "call.updated":
                call = item["call"]
                self.seen.setdefault(call["id"], []).append((index, time.monotonic(), call["status"]))


# --- one drill --------------------------------------------------------------------------------------------


@dataclass
class Drill:
    fault: str
    plans: list[CallPlan]  # placed before the fault (in flight at it) and during it
    in_flight: dict[str, int]  # statuses of the first batch at the moment of the fault
    killed_pid: int | None
    killed_at: float
    back_at: float | None  # the killed process (or the restarted serve) is back: new pid, /healthz 200
    new_pid: int | None
    restarted_by_harness: bool
    settlement: Settlement
    console: str  # the product's console output from the fault on
    closes: list[Close]  # websocket closes seen from the fault on
    connection_at_fault: int
    probe: CallPlan | None  # a call created once the process was back
    probe_seen: bool  # ... and seen by the live client on a connection opened after the fault
    probe_seen_any: bool  # ... or on any connection
    processes_json: bool  # the supervisor's processes.json named the process killed
    placings_asked: dict[str, int]  # call id → how often placing was asked for (the dial log's `requests`)
    notes: list[str] = field(default_factory=list)

    def settle_seconds(self) -> float | None:
        final_at = self.settlement.final_at
        return None if final_at is None else max(0.0, final_at - self.killed_at)


def run_drill(
    product: Product,
    api: Api,
    live: LiveClient,
    agent_id: str,
    fault: str,
    *,
    before: int = 16,
    during: int = 8,
) -> Drill:
    """Calls in flight, then the fault, more calls while it lasts, and the recovery."""
    product.ensure_ready()
    plans = place_calls(api, agent_id, plan_calls(before, f"{fault}-before"))
    in_flight = wait_in_flight(api, plans)
    console_from = product.output_size()
    connection_at_fault = live.connections
    notes: list[str] = []
    new_pid = killed_pid = None
    restarted_by_harness = False
    processes_json = True

    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        if fault == "restart":
            killed_at = time.monotonic()
            code = product.stop()
            if code != 0:
                notes.append(f"serve exited with code {code} after SIGTERM")
            product.start()
            pending = pool.submit(place_calls, api, agent_id, plan_calls(during, f"{fault}-during", 3))
            back_at = product.wait_ready()
            new_pid = product.process.pid
            processes_json = product.processes() is not None  # rewritten by the new supervisor
        else:
            processes_json = product.processes() is not None
            killed_pid, killed_at = product.kill(fault)
            pending = pool.submit(place_calls, api, agent_id, plan_calls(during, f"{fault}-during", 3))
            back_at, new_pid = product.wait_back(fault, killed_pid)
            if back_at is None:
                restarted_by_harness = True
                notes.append(
                    f"{fault} was not back within {RESTART_SECONDS:.0f} s (supervisor "
                    f"{'running' if product.running() else f'exited with code {product.process.returncode}'}); "
                    "the harness restarted serve to go on"
                )
                back_at = product.restart()
        plans += pending.result()

    settlement = settle(api, plans, until=back_at + SETTLE_SECONDS)
    probe = plan_calls(1, f"{fault}-probe")[0]
    place_calls(api, agent_id, [probe])
    probe_seen = live.wait_seen(probe.id, after_connection=connection_at_fault)
    return Drill(
        fault=fault,
        plans=plans,
        in_flight=in_flight,
        killed_pid=killed_pid,
        killed_at=killed_at,
        back_at=back_at,
        new_pid=new_pid,
        restarted_by_harness=restarted_by_harness,
        settlement=settlement,
        console=product.output(console_from),
        closes=live.closes_since(killed_at),
        connection_at_fault=connection_at_fault,
        probe=probe,
        probe_seen=probe_seen,
        probe_seen_any=live.saw(probe.id),
        processes_json=processes_json,
        placings_asked=dial_requests(product.database(), plans),
        notes=notes,
    )


@contextlib.contextmanager
def running_product(data_dir: Path):
    """A started, healthy product with an agent, an API key and a live client: (product, api, live, agent)."""
    product = Product(data_dir)
    live = None
    try:
        product.start()
        product.wait_ready()
        api = Api(product.base_url, create_api_key(product))
        agent_id = create_agent(api)
        live = LiveClient(product.base_url, api.key).start()
        yield product, api, live, agent_id
    finally:
        if live is not None:
            live.stop()
        product.cleanup()
