"""Media streams under load: 200 concurrent Twilio-like streams × 50 frames/s (20 ms μ-law) into ONE ASGI
process (uvicorn, our full stack: Channels consumer, agent runtime echoing every frame, recording on),
beside a bare websocket echo server (a raw ASGI app on the same uvicorn, no Django) fed the same load in
the same run (issue #19: twice the 100 streams of before).

Measures frames lost (sent but never echoed back, or missing from the recording), echo latency, CPU of
the server process (cores over the streaming window, and microseconds a frame over the whole run: the
work, whatever the neighbours on a shared machine leave us) and its peak RSS. `make bench BENCH=media`;
BENCH_MEDIA_SECONDS (default 20) and BENCH_MEDIA_STREAMS (default 200) tune it; BENCH_MEDIA_PROFILE=<file>
samples our server with py-spy (installed apart: not a dependency) over the streaming window."""

import asyncio
import base64
import json
import math
import multiprocessing
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
STREAMS = int(os.environ.get("BENCH_MEDIA_STREAMS", "200"))
SECONDS = float(os.environ.get("BENCH_MEDIA_SECONDS", "20"))
FRAMES = int(SECONDS * 50)
LOAD_PROCESSES = 2
# uvicorn's websocket implementation for both servers: the one its "auto" picks, as `make run` serves
# (wordcab_admin/run.py). Measured on 100 streams: the legacy `websockets` one costs more a frame; wsproto
# is not installed.
WEBSOCKETS = os.environ.get("BENCH_MEDIA_WS", "websockets-sansio")
TOKEN = "bench-media-token"  # noqa: S105 -- Twilio signature key for this run only


# --- the reference: a bare websocket echo server (raw ASGI, no framework) ---------------------------------


async def echo_app(scope, receive, send):
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["type"] != "websocket":
        return
    await receive()  # websocket.connect
    await send({"type": "websocket.accept"})
    stream_sid = ""
    while True:
        event = await receive()
        if event["type"] == "websocket.disconnect":
            return
        message = json.loads(event.get("text") or "{}")
        kind = message.get("event")
        if kind == "start":
            stream_sid = message["start"]["streamSid"]
        elif kind == "media":
            out = {
                "event": "media",
                "streamSid": stream_sid,
                "media": {"payload": message["media"]["payload"]},
            }
            await send({"type": "websocket.send", "text": json.dumps(out)})
        elif kind == "stop":
            await send({"type": "websocket.close", "code": 1000})
            return


# --- the load: Twilio-like clients ----------------------------------------------------------------------------


def tone_frame(chunk: int) -> bytes:
    """160 bytes of μ-law; the first 3 bytes carry the chunk number, so an echo is matched to its frame."""
    from wordcab_admin.kernel.audio import pcm16_to_ulaw

    pcm = b"".join(
        int(8000 * math.sin(2 * math.pi * 440 * (chunk * 160 + i) / 8000)).to_bytes(2, "little", signed=True)
        for i in range(160)
    )
    ulaw = pcm16_to_ulaw(pcm)
    return chunk.to_bytes(3, "big") + ulaw[3:]


class RawClient:
    """A minimal websocket client (RFC 6455) on asyncio streams, so that the load generator costs far less
    CPU than the servers it measures on a small machine: messages are framed once, up front, and sent
    with an all-zero masking key (legal framing; the server unmasks as usual)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self.reader, self.writer = reader, writer

    @classmethod
    async def connect(cls, url: str, headers: dict) -> "RawClient":
        host_port, _, path = url.removeprefix("ws://").partition("/")
        host, port = host_port.split(":")
        reader, writer = await asyncio.open_connection(host, int(port))
        key = base64.b64encode(os.urandom(16)).decode()
        extra = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
        writer.write(
            (
                f"GET /{path} HTTP/1.1\r\nHost: {host_port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n{extra}\r\n"
            ).encode()
        )
        response = await reader.readuntil(b"\r\n\r\n")
        if not response.startswith(b"HTTP/1.1 101"):
            raise ConnectionError(response.split(b"\r\n", 1)[0].decode())
        return cls(reader, writer)

    @staticmethod
    def frame(text: str, opcode: int = 1) -> bytes:
        data = text.encode()
        n = len(data)
        if n < 126:
            head = bytes([0x80 | opcode, 0x80 | n])
        elif n < 65536:
            head = bytes([0x80 | opcode, 0x80 | 126]) + n.to_bytes(2, "big")
        else:
            head = bytes([0x80 | opcode, 0x80 | 127]) + n.to_bytes(8, "big")
        return head + b"\x00\x00\x00\x00" + data

    async def recv(self) -> tuple[int, bytes]:
        first, second = await self.reader.readexactly(2)
        n = second & 0x7F
        if n == 126:
            n = int.from_bytes(await self.reader.readexactly(2), "big")
        elif n == 127:
            n = int.from_bytes(await self.reader.readexactly(8), "big")
        return first & 0x0F, await self.reader.readexactly(n)


PAYLOAD_KEY = b'"payload": "'


async def stream_open(url: str, headers: dict, *, sid: str, call_sid: str, parameters: dict) -> "RawClient":
    """A Twilio-like media stream: connected, then its `start` with the TwiML's custom parameters."""
    ws = await RawClient.connect(url, headers)
    start = {
        "event": "start",
        "sequenceNumber": "1",
        "streamSid": sid,
        "start": {
            "streamSid": sid,
            "accountSid": "ACbench",
            "callSid": call_sid,
            "tracks": ["inbound"],
            "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1},
            "customParameters": parameters,  # from the TwiML we handed "Twilio": call id, stream token
        },
    }
    ws.writer.write(
        RawClient.frame(json.dumps({"event": "connected", "protocol": "Call", "version": "1.0.0"}))
    )
    ws.writer.write(RawClient.frame(json.dumps(start)))
    return ws


async def one_stream(
    url: str, headers: dict, index: int, parameters: dict, payloads: list[str], t0: float
) -> dict:
    sid = f"MZbench{index:04d}"
    sent_at: dict[int, float] = {}
    latencies: list[float] = []
    echoed = 0
    frames = [
        RawClient.frame(
            f'{{"event": "media", "sequenceNumber": "{chunk + 1}", "streamSid": "{sid}", "media": '
            f'{{"track": "inbound", "chunk": "{chunk}", "timestamp": "{(chunk - 1) * 20}", "payload": "{payload}"}}}}'
        )
        for chunk, payload in enumerate(payloads, start=1)
    ]
    ws = await stream_open(url, headers, sid=sid, call_sid=f"CAbench{index:04d}", parameters=parameters)

    async def reader():
        nonlocal echoed
        while True:
            opcode, data = await ws.recv()
            if opcode == 8:  # close
                return
            if opcode == 9:  # ping → pong
                ws.writer.write(RawClient.frame(data.decode("latin-1"), opcode=10))
                continue
            at = data.find(PAYLOAD_KEY)
            if opcode != 1 or at < 0:
                continue
            head = data[at + len(PAYLOAD_KEY) : at + len(PAYLOAD_KEY) + 4]
            chunk = int.from_bytes(base64.b64decode(head), "big")
            sent = sent_at.pop(chunk, None)
            if sent is not None:
                latencies.append((sent - t_first, time.monotonic() - sent))
                echoed += 1

    loop = asyncio.get_running_loop()
    t_first = time.monotonic() + (t0 - loop.time())
    reading = asyncio.create_task(reader())
    begin = t0 + (index % 50) * 0.0004  # streams spread over one frame period
    for chunk, frame in enumerate(frames, start=1):
        delay = begin + (chunk - 1) * 0.02 - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        sent_at[chunk] = time.monotonic()
        ws.writer.write(frame)
        if ws.writer.transport.get_write_buffer_size() > 256 * 1024:
            await ws.writer.drain()
    deadline = loop.time() + 10
    while sent_at and loop.time() < deadline:  # the last echoes
        await asyncio.sleep(0.05)
    stop = {"event": "stop", "streamSid": sid, "stop": {"callSid": f"CAbench{index:04d}"}}
    ws.writer.write(RawClient.frame(json.dumps(stop)))
    try:
        await asyncio.wait_for(reading, timeout=30)
    except (TimeoutError, asyncio.IncompleteReadError):
        reading.cancel()
    ws.writer.close()
    return {"sent": len(frames), "echoed": echoed, "latencies": latencies}


def load_process(
    url: str, headers: dict, indexes: list[int], parameters: list[dict], start_at: float, out
) -> None:
    import resource

    import uvloop

    payloads = [base64.b64encode(tone_frame(chunk)).decode() for chunk in range(1, FRAMES + 1)]

    async def main():
        loop = asyncio.get_running_loop()
        t0 = loop.time() + (start_at - time.time())
        results = await asyncio.gather(
            *(one_stream(url, headers, i, p, payloads, t0) for i, p in zip(indexes, parameters, strict=True)),
            return_exceptions=True,
        )
        usage = resource.getrusage(resource.RUSAGE_SELF)
        summary = {
            "sent": 0,
            "echoed": 0,
            "latencies": [],
            "errors": [],
            "cpu": usage.ru_utime + usage.ru_stime,
        }
        for result in results:
            if isinstance(result, BaseException):
                summary["errors"].append(repr(result))
                summary["sent"] += FRAMES
                continue
            summary["sent"] += result["sent"]
            summary["echoed"] += result["echoed"]
            summary["latencies"] += result["latencies"]
        out.put(summary)

    uvloop.run(main())


# --- measuring a server process --------------------------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(app: str, env: dict, *, app_dir: Path) -> tuple[subprocess.Popen, int]:
    port = free_port()
    argv = [
        sys.executable, "-m", "uvicorn", app, "--host", "127.0.0.1", "--port", str(port),
        "--app-dir", str(app_dir), "--log-level", "warning", "--no-access-log", "--ws", WEBSOCKETS,
        "--lifespan", "off",
    ]  # fmt: skip
    process = subprocess.Popen(argv, env=env, cwd=ROOT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return process, port
        if process.poll() is not None:
            raise SystemExit(f"{app} exited with {process.returncode}")
        time.sleep(0.1)
    raise SystemExit(f"{app} did not start within 60 s")


PROFILE = os.environ.get("BENCH_MEDIA_PROFILE", "")


def profile_start(pid: int) -> subprocess.Popen:
    """py-spy (not a dependency: `pip install py-spy`) samples the server over the streaming window into
    BENCH_MEDIA_PROFILE, as collapsed stacks."""
    beside = Path(sys.executable).with_name("py-spy")
    argv = [str(beside) if beside.exists() else "py-spy", "record", "--pid", str(pid), "--duration", str(int(SECONDS)), "--rate", "200",
            "--format", "raw", "--output", PROFILE, "--nonblocking"]  # fmt: skip
    return subprocess.Popen(argv, stdout=subprocess.DEVNULL)


def drive(url: str, headers: dict, parameters: list[dict], pid: int, *, profile: bool = False) -> dict:
    ctx = multiprocessing.get_context("spawn")
    out = ctx.Queue()
    start_at = time.time() + 3  # every client process ready before the first frame
    groups = [list(range(STREAMS))[i::LOAD_PROCESSES] for i in range(LOAD_PROCESSES)]
    workers = [
        ctx.Process(target=load_process, args=(url, headers, g, [parameters[i] for i in g], start_at, out))
        for g in groups
    ]
    for worker in workers:
        worker.start()
    time.sleep(max(0, start_at - time.time()))
    cpu_at_start = cpu_seconds(pid)
    cpu_before, wall_before = cpu_at_start, time.monotonic()
    profiler = profile_start(pid) if profile else None
    time.sleep(SECONDS)  # CPU is measured over the streaming window only, not the start-up or the tail
    cpu_after, wall_after = cpu_seconds(pid), time.monotonic()
    if profiler is not None:
        profiler.wait(timeout=60)
    summaries = [out.get(timeout=120) for _ in workers]
    cpu_whole_run = cpu_seconds(pid) - cpu_at_start  # starts, every frame and the stops: work, not load
    for worker in workers:
        worker.join(timeout=10)
    timed = [x for s in summaries for x in s["latencies"]]
    latencies = sorted(latency for _, latency in timed)
    windows, windows_p99 = {}, {}
    for start, end in ((0, 2), (2, 5), (5, 10), (10, SECONDS)):
        window = sorted(latency for at, latency in timed if start <= at < end)
        if window:
            windows[f"{start:.0f}-{end:.0f}s"] = round(1000 * window[len(window) // 2], 1)
            windows_p99[f"{start:.0f}-{end:.0f}s"] = round(1000 * window[int(0.99 * (len(window) - 1))], 1)
    steady = sorted(latency for at, latency in timed if at >= SECONDS / 2)
    return {
        "steady_p99_ms": 1000 * steady[int(0.99 * (len(steady) - 1))] if steady else float("nan"),
        "sent": sum(s["sent"] for s in summaries),
        "echoed": sum(s["echoed"] for s in summaries),
        "errors": [e for s in summaries for e in s["errors"]],
        "client_cpu": sum(s["cpu"] for s in summaries),
        "p50_by_window": windows,
        "p99_by_window": windows_p99,
        "cpu_cores": (cpu_after - cpu_before) / (wall_after - wall_before),
        # Server CPU per frame echoed, over the whole run: what the work costs, whether or not the machine
        # had the cores to keep up (on a shared machine the latencies say more about the neighbours).
        "cpu_us_per_frame": 1e6 * cpu_whole_run / max(1, sum(s["echoed"] for s in summaries)),
        "rss_mb": peak_rss_mb(pid),
        "p50_ms": 1000 * statistics.median(latencies) if latencies else float("nan"),
        "p99_ms": 1000 * latencies[int(0.99 * (len(latencies) - 1))] if latencies else float("nan"),
    }


def line(name: str, ours: float, reference: float, target: str, passed: bool, fmt: str = "{:.2f}") -> None:
    ratio = fmt.format(ours / reference) if reference else "1.00" if not ours else "inf"
    print(
        f"BENCH {name} ours={fmt.format(ours)} reference={fmt.format(reference)} ratio={ratio} "
        f"target={target} {'PASS' if passed else 'MISS'}",
        flush=True,
    )


@dataclass
class MediaStack:
    """A private stack to stream into: its data dir and environment (SQLite, echo runtime), an agent and
    `count` ringing calls that record, each with the parameters Twilio sends back in its stream's `start`,
    and the signed media stream URL path and headers."""

    data_dir: Path
    env: dict
    agent: object
    calls: list
    parameters: list[dict]
    path: str
    headers: dict


def media_stack_prepare(*, name: str, count: int, agent_public_id: str) -> MediaStack:
    """Migrate a private SQLite database in a fresh data dir, set Django up on it in this process, and make
    the agent and calls (shared by bench_media and bench_listen)."""
    data_dir = Path(tempfile.mkdtemp(prefix=f"bench-{name}-{os.getpid()}-"))
    env = {
        **os.environ,
        "DATA_DIR": str(data_dir),
        "DEBUG": "true",
        "TWILIO_AUTH_TOKEN": TOKEN,
        "AGENT_RUNTIME": "telephony.runtime.demo.EchoRuntime",
        "LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(ROOT),
        "DJANGO_SETTINGS_MODULE": "wordcab_admin.settings",
    }
    env.pop("DATABASE_URL", None)  # a private SQLite database for this run
    os.environ.update({k: env[k] for k in ("DATA_DIR", "TWILIO_AUTH_TOKEN", "AGENT_RUNTIME")})
    os.environ.pop("DATABASE_URL", None)
    subprocess.run([sys.executable, "manage.py", "migrate", "-v", "0"], env=env, cwd=ROOT, check=True)

    import django

    django.setup()
    from calls.models import CallStatus
    from compliance.openers import opener_create
    from telephony.twilio.signature import twilio_sign
    from tests.factories import AgentFactory, CallFactory
    from tests.telephony.streams import stream_parameters
    from wordcab_admin.kernel.public_url import public_url

    agent = AgentFactory(public_id=agent_public_id, name=f"{name.title()} bench")
    opener_create(actor=None, jurisdiction="", language="en-US", text="This call is recorded.")
    calls = [
        CallFactory(agent=agent, provider="twilio", status=CallStatus.RINGING, record=True)
        for _ in range(count)
    ]
    # What Twilio reads from the TwiML we hand it for each call (the product renders it, issuing each call's
    # single-use stream token) and sends back in the stream's `start`.
    parameters = [stream_parameters(call) for call in calls]
    path = f"/v1/media/twilio?agent_id={agent.public_id}"
    headers = {"X-Twilio-Signature": twilio_sign(public_url(path, scheme="ws"), {})}
    return MediaStack(data_dir, env, agent, calls, parameters, path, headers)


def recordings_settle(seconds: float = 60) -> None:
    """Wait (at most `seconds`) until every recording of the run has left `recording`: its spool closed."""
    from recordings.models import Recording, RecordingStatus

    deadline = time.monotonic() + seconds
    while Recording.objects.filter(status=RecordingStatus.RECORDING).exists() and time.monotonic() < deadline:
        time.sleep(0.2)


def main() -> int:
    stack = media_stack_prepare(name="media", count=STREAMS, agent_public_id="agent_bench")
    env, parameters, path, headers = stack.env, stack.parameters, stack.path, stack.headers
    from calls.models import Call, CallStatus
    from recordings.models import Recording

    print(f"media bench: {STREAMS} streams × 50 frames/s × {SECONDS:.0f} s, recording on", flush=True)

    reference_server, reference_port = start_server(
        "bench_media:echo_app", env, app_dir=Path(__file__).parent
    )
    try:
        reference = drive(f"ws://127.0.0.1:{reference_port}/echo", {}, parameters, reference_server.pid)
    finally:
        reference_server.terminate()
        reference_server.wait(timeout=15)

    server, port = start_server("wordcab_admin.asgi:application", env, app_dir=ROOT)
    try:
        ours = drive(f"ws://127.0.0.1:{port}{path}", headers, parameters, server.pid, profile=bool(PROFILE))
        recordings_settle()
    finally:
        server.terminate()
        server.wait(timeout=15)

    recorded = sum(round((r.duration_seconds or 0) * 50) for r in Recording.objects.all())
    completed = Call.objects.filter(status=CallStatus.COMPLETED).count()
    for name, result in (("reference", reference), ("ours", ours)):
        print(
            f"  {name}: sent={result['sent']} echoed={result['echoed']} errors={len(result['errors'])} "
            f"cpu={result['cpu_cores']:.2f} cores ({result['cpu_us_per_frame']:.0f} µs a frame) "
            f"rss={result['rss_mb']:.0f} MB "
            f"p50={result['p50_ms']:.1f} ms p99={result['p99_ms']:.1f} ms "
            f"(load generator: {result['client_cpu']:.1f} CPU s); p50 by send time: {result['p50_by_window']}, p99: {result['p99_by_window']}",
            flush=True,
        )
        for error in result["errors"][:3]:
            print(f"    error: {error}")
    print(f"  ours: {completed}/{STREAMS} calls completed, {recorded} of {ours['sent']} frames in recordings")

    lost_ours = max(ours["sent"] - ours["echoed"], ours["sent"] - recorded)
    lost_reference = reference["sent"] - reference["echoed"]
    line("media_frames_lost", lost_ours, lost_reference, "0", lost_ours == 0, fmt="{:.0f}")
    line("media_cpu_cores", ours["cpu_cores"], reference["cpu_cores"], "<1.0", ours["cpu_cores"] < 1.0)
    line("media_peak_rss_mb", ours["rss_mb"], reference["rss_mb"], "<500", ours["rss_mb"] < 500, fmt="{:.0f}")
    line("media_echo_p99_ms", ours["p99_ms"], reference["p99_ms"], "<100", ours["p99_ms"] < 100, fmt="{:.1f}")
    # The second half of the run: after the start-up burst (every stream starting in the same second, each
    # a few database writes on one thread), what the steady load costs.
    steady_ours, steady_reference = ours["steady_p99_ms"], reference["steady_p99_ms"]
    line("media_echo_p99_steady_ms", steady_ours, steady_reference, "<100", steady_ours < 100, fmt="{:.1f}")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    finally:  # the run's private database, spool and local recordings
        for leftover in Path(tempfile.gettempdir()).glob(f"bench-media-{os.getpid()}-*"):
            shutil.rmtree(leftover, ignore_errors=True)
