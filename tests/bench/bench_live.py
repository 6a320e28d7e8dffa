"""Live updates under load: from a Twilio status callback's arrival to the event at websocket clients.

    make bench BENCH=live          (BENCH_LIVE_SECONDS=10, BENCH_LIVE_WORKERS=2, BENCH_LIVE_LOADS=50,500)

For each load (N clients × 100 events/s) one server is started, `uvicorn --workers W` over this module's
`application`: the product's ASGI app, plus `/ws/raw` for the reference. Then, in the same run:

* ours: N clients on /ws/calls (Bearer API key). The generator POSTs signed status callbacks to
  /v1/twilio/status at 100/s (ringing, in-progress, completed of pre-created Twilio calls, each call's
  events three seconds apart so that load rarely reorders them; one reordered anyway is stored as
  ignored by the lifecycle and announces nothing, so it is not counted as lost). Each accepted one goes
  lifecycle → commit → live.publisher (serialized once) → channels-redis group `live.calls` (one member
  per process) → each process's hub → its clients, coalesced into one frame per window. The callbacks'
  own handling time (sent → 204) is printed beside, to tell queueing for the database from fan-out.
  Latency = client receive time − the moment the callback was sent.
* ours-fanout: the same clients and hubs, but the generator group_sends the ready events itself (what
  live.publisher sends after commit): our fan-out alone, on the reference's terms.
* reference: N clients on /ws/raw, a textbook Channels consumer that joins a group and `send_json`s each
  message; the generator `group_send`s each event (the same call objects) at 100/s. Latency = receive
  time − the group_send call. (No HTTP or database on this path: it favours the reference.)

Before the phases, 100 callbacks warm the server up (each worker's first requests pay for imports,
connections and thread start-up). Clients run in separate processes (CLOCK_MONOTONIC is shared, so times compare). An event is lost when a
client has not received it DRAIN_SECONDS after the last one was sent. Server CPU is the sum over the
uvicorn workers (100% = one core); frames/s are frames received by all clients per second."""

from __future__ import annotations

import asyncio
import contextlib
import json
import multiprocessing
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from array import array
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
RATE = 100  # events per second
SECONDS = float(os.environ.get("BENCH_LIVE_SECONDS", "10"))
WORKERS = int(os.environ.get("BENCH_LIVE_WORKERS", "2"))
LOADS = [int(n) for n in os.environ.get("BENCH_LIVE_LOADS", "50,500").split(",")]
DEFLATE = os.environ.get("BENCH_LIVE_DEFLATE", "") in ("1", "true")  # browsers offer permessage-deflate
TARGET_P99_MS = {50: 50.0, 500: 250.0}
DRAIN_SECONDS = 5.0
WARM_UP_CALLBACKS = 100
SPACING = 3  # seconds between one call's callbacks, so that load rarely reorders them
CLIENTS_PER_PROCESS = 250
AUTH_TOKEN = "bench-live-twilio-token"
RAW_GROUP = "bench.raw"
# A call.updated message as either side sends it: the call's id comes first, its status later.
EVENT_RE = re.compile(r'"call":\s*\{"id":\s*"([^"]+)".*?"status":\s*"([^"]+)"', re.S)


# --- the server side: the product plus the reference consumer ---------------------------------------------


def build_application():
    from channels.generic.websocket import AsyncJsonWebsocketConsumer

    from wordcab_admin.asgi import application as product

    class RawGroupConsumer(AsyncJsonWebsocketConsumer):
        """The textbook fan-out: every connection is a group member; each message is encoded per client."""

        groups = [RAW_GROUP]

        async def call_updated(self, event: dict) -> None:
            await self.send_json({"type": "call.updated", "call": event["call"]})

    raw = RawGroupConsumer.as_asgi()

    async def application(scope, receive, send):
        if scope["type"] == "websocket" and scope["path"] == "/ws/raw":
            return await raw(scope, receive, send)
        return await product(scope, receive, send)

    return application


if __name__ == "bench_live":  # imported by uvicorn (--app-dir tests/bench)
    application = build_application()


# --- clients (in their own processes) ----------------------------------------------------------------------


def client_process(url: str, headers: dict, count: int, keys: list[tuple[str, str]], pipe, stop) -> None:
    import uvloop

    uvloop.run(_clients(url, headers, count, keys, pipe, stop))


async def _clients(url, headers, count, keys, pipe, stop) -> None:
    import aiohttp

    index = {key: i for i, key in enumerate(keys)}
    expected = len(keys)
    events, times = array("i"), array("d")
    state = {"frames": 0, "done": 0, "connected": 0, "failed": 0}
    loop = asyncio.get_running_loop()
    finished = loop.create_future()

    def settled():
        if state["connected"] + state["failed"] == count:
            pipe.send(("ready", state["connected"]))

    async def one(session):
        got = 0
        try:
            ws = await session.ws_connect(
                url,
                headers=headers,
                compress=15 if DEFLATE else 0,
                max_msg_size=0,
                heartbeat=None,
                timeout=aiohttp.ClientWSTimeout(ws_close=5),
            )
        except (TimeoutError, aiohttp.ClientError, OSError):
            state["failed"] += 1
            settled()
            ws = None
        if ws is None:
            state["done"] += 1
            if state["done"] == count and not finished.done():
                finished.set_result(None)
            return
        state["connected"] += 1
        settled()
        async with ws:
            async for message in ws:
                now = time.monotonic()
                if message.type != aiohttp.WSMsgType.TEXT:
                    break
                state["frames"] += 1
                for match in EVENT_RE.finditer(message.data):
                    i = index.get(match.groups())
                    if i is not None:
                        events.append(i)
                        times.append(now)
                        got += 1
                if got >= expected:
                    break
        state["done"] += 1
        if state["done"] == count and not finished.done():
            finished.set_result(None)

    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as session:
        tasks = [asyncio.create_task(one(session)) for _ in range(count)]
        stopper = loop.run_in_executor(None, stop.wait)
        await asyncio.wait([finished, stopper], return_when=asyncio.FIRST_COMPLETED)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    cpu = time.process_time()
    pipe.send(("result", events.tobytes(), times.tobytes(), state["frames"], cpu))
    pipe.close()


class ClientFleet:
    def __init__(self, url: str, headers: dict, clients: int, keys: list[tuple[str, str]]):
        self.stop = multiprocessing.Event()
        self.procs, self.pipes = [], []
        remaining = clients
        while remaining > 0:
            n = min(CLIENTS_PER_PROCESS, remaining)
            remaining -= n
            parent, child = multiprocessing.Pipe()
            proc = multiprocessing.Process(
                target=client_process, args=(url, headers, n, keys, child, self.stop), daemon=True
            )
            proc.start()
            self.procs.append(proc)
            self.pipes.append(parent)

    def wait_ready(self, timeout: float = 120) -> int:
        """Wait until every client connected or failed to; returns how many connected."""
        connected = 0
        for pipe in self.pipes:
            if not pipe.poll(timeout):
                raise SystemExit("clients neither connected nor failed in time")
            kind, n = pipe.recv()
            assert kind == "ready"
            connected += n
        return connected

    def results(self, deadline: float):
        out = []
        for pipe in self.pipes:
            left = max(0.0, deadline - time.monotonic())
            if not pipe.poll(left):
                self.stop.set()
        self.stop.set()
        for pipe, proc in zip(self.pipes, self.procs, strict=True):
            if not pipe.poll(30):
                raise SystemExit("a client process did not report")
            _, ev, tm, frames, cpu = pipe.recv()
            events, times = array("i"), array("d")
            events.frombytes(ev)
            times.frombytes(tm)
            out.append((events, times, frames, cpu))
            proc.join(5)
        return out


# --- the orchestrator ----------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def prepare_environment() -> dict:
    data_dir = tempfile.mkdtemp(prefix="wc-bench-live-")
    port = free_port()
    env = {
        "DATA_DIR": data_dir,
        "PORT": str(port),
        "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
        "TWILIO_ACCOUNT_SID": "ACbenchlive",
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "DEBUG": "false",
        "SECRET_KEY": "bench-live-secret-key-not-for-production-0123456789",
        "SECURE_SSL_REDIRECT": "false",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DJANGO_SETTINGS_MODULE": "wordcab_admin.settings",
    }
    os.environ.update(env)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    return env


def create_calls(count: int, tag: str):
    """Twilio calls waiting for their callbacks, and the events to send: ringing, in-progress and completed
    of RATE calls at a time, so that one call's events are a second apart."""
    from agents.models import Agent
    from calls.models import Call, CallStatus

    agent, _ = Agent.objects.get_or_create(public_id="agent_bench", defaults={"name": "Bench agent"})
    calls = Call.objects.bulk_create(
        Call(
            agent=agent,
            to_number=f"+1415555{i % 10000:04d}",
            from_number="+14155550100",
            provider="twilio",
            provider_call_id=f"CA{tag}{os.getpid()}x{i:06d}",
            status=CallStatus.INITIATING,
        )
        for i in range(count)
    )
    calls = list(
        Call.objects.filter(provider_call_id__startswith=f"CA{tag}{os.getpid()}x")
        .select_related("agent")
        .order_by("provider_call_id")
    )
    steps = [("ringing", "ringing"), ("in-progress", "in_progress"), ("completed", "completed")]
    events = []
    for start in range(0, len(calls), SPACING * RATE):
        group = calls[start : start + SPACING * RATE]
        for sequence, (twilio_status, ours) in enumerate(steps, start=1):
            for call in group:
                events.append((call, twilio_status, ours, sequence))
    return events


def api_key() -> str:
    from django.contrib.auth import get_user_model

    from wordcab_admin.kernel.accounts import api_key_create, user_set_role
    from wordcab_admin.kernel.roles import Role

    user, _ = get_user_model().objects.get_or_create(username="bench-viewer")
    user_set_role(user=user, role=Role.VIEWER)
    return api_key_create(user=user, name="bench")[1]


def start_server(env: dict) -> subprocess.Popen:
    bin_dir = Path(sys.executable).parent
    server = subprocess.Popen(
        [
            str(bin_dir / "uvicorn"), "bench_live:application", "--app-dir", str(HERE),
            "--host", "127.0.0.1", "--port", env["PORT"], "--workers", str(WORKERS),
            "--no-access-log", "--lifespan", "off", "--log-level", "warning",
            "--ws-per-message-deflate", "true" if DEFLATE else "false",
        ],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        cwd=ROOT,
        start_new_session=True,
        stderr=(Path(env["DATA_DIR"]) / "server.log").open("ab"),  # the reference's tracebacks under load
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", int(env["PORT"])), timeout=0.5):
                time.sleep(1.5)  # every worker has imported the app
                return server
        except OSError:
            time.sleep(0.1)
    raise SystemExit("uvicorn did not start")


def stop_server(server: subprocess.Popen) -> None:
    import signal

    os.killpg(server.pid, signal.SIGTERM)
    try:
        server.wait(15)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait(5)


def worker_cpu(server: subprocess.Popen) -> float:
    import psutil

    parent = psutil.Process(server.pid)
    total = 0.0
    for proc in [parent, *parent.children(recursive=True)]:
        with contextlib.suppress(psutil.NoSuchProcess):  # a worker that exited meanwhile
            times = proc.cpu_times()
            total += times.user + times.system
    return total


async def paced(count: int):
    """Yield 0 … count-1 on a schedule of RATE per second, starting 0.2 s from now."""
    start = time.monotonic() + 0.2
    for i in range(count):
        delay = start + i / RATE - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        yield i


CALLBACK_HANDLED_MS: list[float] = []  # sent → 204, per callback, for the phase just run


async def send_callbacks(base_url: str, events) -> tuple[list[float], int]:
    import aiohttp

    from telephony.twilio.signature import twilio_sign

    prepared = []
    for call, twilio_status, _ours, sequence in events:
        path = f"/v1/twilio/status?call_id={call.public_id}"
        params = {
            "CallSid": call.provider_call_id,
            "AccountSid": "ACbenchlive",
            "CallStatus": twilio_status,
            "SequenceNumber": str(sequence),
            "From": call.from_number,
            "To": call.to_number,
        }
        if twilio_status == "completed":
            params["CallDuration"] = "1"
        headers = {"X-Twilio-Signature": twilio_sign(base_url + path, params)}
        prepared.append((base_url + path, params, headers))
    sent_at = [0.0] * len(prepared)
    failures = 0

    async def post(session, i):
        nonlocal failures
        url, params, headers = prepared[i]
        async with session.post(url, data=params, headers=headers) as response:
            await response.read()
            CALLBACK_HANDLED_MS.append((time.monotonic() - sent_at[i]) * 1000)
            if response.status != 204:
                failures += 1

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=64)) as session:
        tasks = []
        async for i in paced(len(prepared)):
            sent_at[i] = time.monotonic()
            tasks.append(asyncio.create_task(post(session, i)))
        await asyncio.gather(*tasks)
    return sent_at, failures


def call_payloads(events) -> list[dict]:
    """The call objects the reference sends: what our clients receive for the same events."""
    from calls.serializers import CallOutput

    payloads = []
    for call, _twilio_status, ours, _sequence in events:
        call.status = ours
        payloads.append(json.loads(json.dumps(CallOutput(call).data)))
    return payloads


async def send_group(payloads: list[dict]) -> list[float]:
    from channels.layers import get_channel_layer

    layer = get_channel_layer()
    sent_at = [0.0] * len(payloads)
    async for i in paced(len(payloads)):
        sent_at[i] = time.monotonic()
        await layer.group_send(RAW_GROUP, {"type": "call.updated", "call": payloads[i]})
    return sent_at


def live_events(events) -> list[list[dict]]:
    """What live.publisher hands the layer for each event (serialized once), for the fan-out-only phase."""
    from live.publisher import live_event_for_call

    out = []
    for call, _twilio_status, ours, _sequence in events:
        call.status = ours
        out.append([live_event_for_call(call)])
    return out


async def send_live_group(batches: list[list[dict]]) -> list[float]:
    from channels.layers import get_channel_layer

    from live.publisher import LAYER_MESSAGE_TYPE, LIVE_GROUP

    layer = get_channel_layer()
    sent_at = [0.0] * len(batches)
    async for i in paced(len(batches)):
        sent_at[i] = time.monotonic()
        await layer.group_send(LIVE_GROUP, {"type": LAYER_MESSAGE_TYPE, "events": batches[i]})
    return sent_at


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def applied_keys(events) -> set[tuple[str, str]]:
    """The (call, status) pairs the lifecycle applied. A callback overtaken by the call's next one (they
    are handled concurrently) is stored as ignored and announces nothing: not a lost update."""
    from calls.models import CallEvent

    calls = {call.pk for call, *_ in events}
    rows = CallEvent.objects.filter(call_id__in=calls, applied=True).values_list("call__public_id", "status")
    return set(rows)


def run_phase(
    name: str, server, url: str, headers: dict, clients: int, events, send, *, through_lifecycle: bool = False
) -> dict:
    keys = [(call.public_id, ours) for call, _t, ours, _s in events]
    fleet = ClientFleet(url, headers, clients, keys)
    connected = fleet.wait_ready()
    cpu_before, wall_before = worker_cpu(server), time.monotonic()
    CALLBACK_HANDLED_MS.clear()
    sent_at, failures = send()
    wall_sent = time.monotonic()
    results = fleet.results(deadline=wall_sent + DRAIN_SECONDS)
    wall = time.monotonic() - wall_before
    server_cpu = (worker_cpu(server) - cpu_before) / wall * 100
    announced = applied_keys(events) if through_lifecycle else set(keys)
    wanted = [key in announced for key in keys]
    latencies, frames, client_cpu = [], 0, 0.0
    for events_got, times, client_frames, cpu in results:
        frames += client_frames
        client_cpu += cpu
        for i, t in zip(events_got, times, strict=True):
            if wanted[i]:
                latencies.append((t - sent_at[i]) * 1000)
    ignored = len(keys) - sum(wanted)
    expected = (len(events) - ignored) * clients
    if os.environ.get("BENCH_LIVE_DEBUG"):
        per_event: dict[int, list[float]] = {}
        for events_got, times, _f, _c in results:
            for i, t in zip(events_got, times, strict=True):
                per_event.setdefault(i, []).append((t - sent_at[i]) * 1000)
        worst = [round(max(per_event.get(i, [-1]))) for i in range(len(events))]
        print("  worst latency per event (ms):", worst, flush=True)
    summary = {
        "name": name,
        "clients": clients,
        "events": len(events),
        "p50": percentile(latencies, 0.50),
        "p99": percentile(latencies, 0.99),
        "max": max(latencies) if latencies else float("nan"),
        "lost": expected - len(latencies),
        "lost_pct": (expected - len(latencies)) / expected * 100,
        "frames_per_s": frames / max(0.001, wall_sent - wall_before),
        "server_cpu": server_cpu,
        "client_cpu": client_cpu / wall * 100,
        "http_failures": failures,
        "refused": clients - connected,
    }
    print(
        f"  {name:>11} {clients:>4} clients × {RATE}/s: p50={summary['p50']:.1f} ms p99={summary['p99']:.1f} ms "
        f"max={summary['max']:.0f} ms lost={summary['lost']} ({summary['lost_pct']:.1f}%) "
        f"frames/s={summary['frames_per_s']:.0f} server CPU={summary['server_cpu']:.0f}% "
        f"client CPU={summary['client_cpu']:.0f}%"
        + (f" callback errors={failures}" if failures else "")
        + (f" callbacks ignored as out of order={ignored}" if ignored else "")
        + (f" connections refused={clients - connected}" if connected < clients else ""),
        flush=True,
    )
    if CALLBACK_HANDLED_MS:
        print(
            f"  {'':>11} (the callbacks alone, sent → 204: p50={percentile(CALLBACK_HANDLED_MS, 0.5):.1f} ms "
            f"p99={percentile(CALLBACK_HANDLED_MS, 0.99):.1f} ms)",
            flush=True,
        )
    return summary


def main() -> int:
    env = prepare_environment()
    base_url = env["PUBLIC_BASE_URL"]
    ws_base = "ws://" + base_url.removeprefix("http://")
    key = api_key()
    print(
        f"live fan-out: {WORKERS} uvicorn worker(s), {RATE} events/s for {SECONDS:.0f} s, "
        f"database {os.environ.get('DATABASE_URL', 'sqlite')[:10]}…, {os.cpu_count()} CPUs",
        flush=True,
    )
    count = int(RATE * SECONDS)
    for clients in LOADS:
        calls_needed = count // 3 + SPACING * RATE
        ours_events = create_calls(calls_needed, f"O{clients}x")[:count]
        ref_events = create_calls(calls_needed, f"R{clients}x")[:count]
        ref_payloads = call_payloads(ref_events)
        fan_events = create_calls(calls_needed, f"F{clients}x")[:count]
        fan_batches = live_events(fan_events)
        warm_events = create_calls(WARM_UP_CALLBACKS, f"W{clients}x")[:WARM_UP_CALLBACKS]
        server = start_server(env)
        try:
            # Every worker's first requests pay for imports, connections and thread start-up: not measured.
            asyncio.run(send_callbacks(base_url, warm_events))
            ours = run_phase(
                "ours", server, f"{ws_base}/ws/calls", {"Authorization": f"Bearer {key}"}, clients,
                ours_events, lambda events=ours_events: asyncio.run(send_callbacks(base_url, events)),
                through_lifecycle=True,
            )  # fmt: skip
            fanout = run_phase(
                "ours-fanout", server, f"{ws_base}/ws/calls", {"Authorization": f"Bearer {key}"}, clients,
                fan_events, lambda batches=fan_batches: (asyncio.run(send_live_group(batches)), 0),
            )  # fmt: skip
            reference = run_phase(
                "reference", server, f"{ws_base}/ws/raw", {}, clients, ref_events,
                lambda payloads=ref_payloads: (asyncio.run(send_group(payloads)), 0),
            )  # fmt: skip
        finally:
            stop_server(server)
        target = TARGET_P99_MS.get(clients, 250.0)
        ok = ours["p99"] <= target and ours["lost"] == 0
        ratio = ours["p99"] / reference["p99"] if reference["p99"] else float("nan")
        tag = f"{clients}x{RATE}"
        print(
            f"BENCH live_p99_ms_{tag} ours={ours['p99']:.1f} reference={reference['p99']:.1f} "
            f"ratio={ratio:.3f} target={target:.0f} {'PASS' if ok else 'MISS'}",
            flush=True,
        )
        print(
            f"BENCH live_lost_{tag} ours={ours['lost']} reference={reference['lost']} "
            f"ratio={(ours['lost'] + 1) / (reference['lost'] + 1):.3f} target=0 "
            f"{'PASS' if ours['lost'] == 0 else 'MISS'}",
            flush=True,
        )
        print(
            f"BENCH live_p50_ms_{tag} ours={ours['p50']:.1f} reference={reference['p50']:.1f} "
            f"ratio={ours['p50'] / reference['p50'] if reference['p50'] else float('nan'):.3f} "
            f"target={target:.0f} {'PASS' if ours['p50'] <= target else 'MISS'}",
            flush=True,
        )
        print(
            f"BENCH live_fanout_p99_ms_{tag} ours={fanout['p99']:.1f} reference={reference['p99']:.1f} "
            f"ratio={fanout['p99'] / reference['p99'] if reference['p99'] else float('nan'):.3f} "
            f"target={target:.0f} {'PASS' if fanout['p99'] <= target and fanout['lost'] == 0 else 'MISS'}",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
