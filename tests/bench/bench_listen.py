"""Supervisors listening (docs/supervise.md): 50 live calls over Twilio-like media streams into one ASGI
process (our full stack: the echo runtime, recording on), each listened to by one supervisor websocket
(`/ws/calls/<id>/supervise`, a bearer API key) on the same process, through the channel layer (Redis).

Mouth-to-ear: the caller's frames are near-silence, with a loud frame every half second; the time from
that frame's send on the media stream to the arrival, at its listener, of the first chunk of audio holding
it (the listener's chunks are 100 ms, so up to 80 ms of it is the chunking itself), p50 and p99. Beside
it, the media stream's own echo latency in the same run (every frame back from the echo runtime), and the
frames lost on the call's own path (sent but never echoed, or missing from the recording).
`make bench BENCH=listen`; BENCH_LISTEN_SECONDS (default 20) and BENCH_LISTEN_CALLS (default 50)."""

import asyncio
import base64
import json
import math
import multiprocessing
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_media import (  # noqa: E402 -- after the path
    RawClient,
    cpu_seconds,
    media_stack_prepare,
    recordings_settle,
    start_server,
    stream_open,
)

CALLS = int(os.environ.get("BENCH_LISTEN_CALLS", "50"))
SECONDS = float(os.environ.get("BENCH_LISTEN_SECONDS", "20"))
FRAMES = int(SECONDS * 50)
MARK_EVERY = 25  # a loud frame every 500 ms
LOAD_PROCESSES = 2
LOUD = 4000  # PCM16 amplitude a listener's chunk must exceed to hold a loud frame


def frame_for(chunk: int) -> bytes:
    """160 bytes of μ-law, unique per chunk (its number in 3 near-silent bytes, 0xF0 | a hex digit), then
    silence, or a loud 440 Hz tone on every MARK_EVERY-th chunk."""
    from wordcab_admin.kernel.audio import pcm16_to_ulaw

    head = bytes(0xF0 | ((chunk >> shift) & 0x0F) for shift in (8, 4, 0))
    if chunk % MARK_EVERY:
        return head + b"\xff" * 157
    pcm = b"".join(
        int(16000 * math.sin(2 * math.pi * 440 * i / 8000)).to_bytes(2, "little", signed=True)
        for i in range(160)
    )
    return head + pcm16_to_ulaw(pcm)[3:]


def chunk_of(head: bytes) -> int:
    return ((head[0] & 0x0F) << 8) | ((head[1] & 0x0F) << 4) | (head[2] & 0x0F)


def loud(ulaw: bytes) -> bool:
    from wordcab_admin.kernel.audio import audioop

    return audioop.max(audioop.ulaw2lin(ulaw, 2), 2) > LOUD


async def one_call(
    url: str, headers: dict, listen_url: str, listen_headers: dict, index: int, parameters: dict, t0: float
) -> dict:
    sid = f"MZlisten{index:04d}"
    payloads = [base64.b64encode(frame_for(chunk)).decode() for chunk in range(1, FRAMES + 1)]
    frames = [
        RawClient.frame(
            f'{{"event": "media", "sequenceNumber": "{chunk + 1}", "streamSid": "{sid}", "media": '
            f'{{"track": "inbound", "chunk": "{chunk}", "timestamp": "{(chunk - 1) * 20}", "payload": "{payload}"}}}}'
        )
        for chunk, payload in enumerate(payloads, start=1)
    ]
    sent_at: dict[int, float] = {}
    marks: list[float] = []  # send times of the loud frames not heard yet, oldest first
    echo_latencies: list[float] = []
    ear_latencies: list[float] = []
    echoed = 0
    listener = await RawClient.connect(listen_url, listen_headers)
    opcode, status = await listener.recv()
    if opcode != 1 or json.loads(status)["state"] != "listening":
        raise ConnectionError(f"the listener was refused: {status!r}")

    async def hear():
        while True:
            opcode, data = await listener.recv()
            if opcode == 8:
                return
            if opcode == 2 and marks and loud(data):
                ear_latencies.append(time.monotonic() - marks.pop(0))

    ws = await stream_open(url, headers, sid=sid, call_sid=f"CAlisten{index:04d}", parameters=parameters)

    async def echoes():
        nonlocal echoed
        key = b'"payload": "'
        while True:
            opcode, data = await ws.recv()
            if opcode == 8:
                return
            at = data.find(key)
            if opcode != 1 or at < 0:
                continue
            head = base64.b64decode(data[at + len(key) : at + len(key) + 4])
            sent = sent_at.pop(chunk_of(head), None)
            if sent is not None:
                echo_latencies.append(time.monotonic() - sent)
                echoed += 1

    loop = asyncio.get_running_loop()
    hearing, echoing = asyncio.create_task(hear()), asyncio.create_task(echoes())
    await asyncio.sleep(max(0, t0 - loop.time()))
    begin = loop.time() + (index % 50) * 0.0004
    for chunk, frame in enumerate(frames, start=1):
        delay = begin + (chunk - 1) * 0.02 - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        now = time.monotonic()
        sent_at[chunk] = now
        if chunk % MARK_EVERY == 0:
            marks.append(now)
        ws.writer.write(frame)
    deadline = loop.time() + 10
    while sent_at and loop.time() < deadline:
        await asyncio.sleep(0.05)
    ws.writer.write(RawClient.frame(json.dumps({"event": "stop", "streamSid": sid, "stop": {}})))
    for task in (echoing, hearing):
        try:
            await asyncio.wait_for(task, timeout=30)
        except (TimeoutError, asyncio.IncompleteReadError):
            task.cancel()
    ws.writer.close()
    listener.writer.close()
    return {
        "sent": len(frames),
        "echoed": echoed,
        "echo": echo_latencies,
        "ear": ear_latencies,
        "marks": FRAMES // MARK_EVERY,
    }


def load_process(url, headers, listen_base, keys, indexes, call_ids, parameters, start_at, out) -> None:
    async def main():
        loop = asyncio.get_running_loop()
        t0 = loop.time() + (start_at - time.time())
        results = await asyncio.gather(
            *(
                one_call(
                    url,
                    headers,
                    f"{listen_base}/ws/calls/{call_id}/supervise",
                    {"Authorization": f"Bearer {key}"},
                    index,
                    params,
                    t0,
                )
                for index, call_id, params, key in zip(indexes, call_ids, parameters, keys, strict=True)
            ),
            return_exceptions=True,
        )
        summary = {"sent": 0, "echoed": 0, "echo": [], "ear": [], "marks": 0, "errors": []}
        for result in results:
            if isinstance(result, BaseException):
                summary["errors"].append(repr(result))
                summary["sent"] += FRAMES
                continue
            for name in ("sent", "echoed", "echo", "ear", "marks"):
                summary[name] += result[name]
        out.put(summary)

    asyncio.run(main())


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return 1000 * ordered[int(share * (len(ordered) - 1))] if ordered else float("nan")


def line(name: str, ours: float, reference: float, target: str, passed: bool, fmt: str = "{:.1f}") -> None:
    ratio = fmt.format(ours / reference) if reference else "inf"
    print(
        f"BENCH {name} ours={fmt.format(ours)} reference={fmt.format(reference)} ratio={ratio} "
        f"target={target} {'PASS' if passed else 'MISS'}",
        flush=True,
    )


def main() -> int:
    stack = media_stack_prepare(name="listen", count=CALLS, agent_public_id="agent_listen")
    env, calls, parameters, path, headers = (
        stack.env,
        stack.calls,
        stack.parameters,
        stack.path,
        stack.headers,
    )
    from recordings.models import Recording
    from tests.factories import UserFactory
    from wordcab_admin.kernel.accounts import api_key_create
    from wordcab_admin.kernel.roles import Role

    supervisor = UserFactory(username="bench-supervisor", role=Role.OPERATOR)
    keys = [api_key_create(user=supervisor, name=f"listen {i}")[1] for i in range(CALLS)]
    print(f"listen bench: {CALLS} calls × 50 frames/s × {SECONDS:.0f} s, each with one listener", flush=True)

    server, port = start_server("wordcab_admin.asgi:application", env, app_dir=ROOT)
    ctx = multiprocessing.get_context("spawn")
    out = ctx.Queue()
    try:
        start_at = time.time() + 4
        groups = [list(range(CALLS))[i::LOAD_PROCESSES] for i in range(LOAD_PROCESSES)]
        workers = [
            ctx.Process(
                target=load_process,
                args=(
                    f"ws://127.0.0.1:{port}{path}",
                    headers,
                    f"ws://127.0.0.1:{port}",
                    [keys[i] for i in group],
                    group,
                    [calls[i].public_id for i in group],
                    [parameters[i] for i in group],
                    start_at,
                    out,
                ),
            )
            for group in groups
        ]
        for worker in workers:
            worker.start()
        cpu_before = cpu_seconds(server.pid)
        summaries = [out.get(timeout=SECONDS + 180) for _ in workers]
        cpu_used = cpu_seconds(server.pid) - cpu_before
        for worker in workers:
            worker.join(timeout=10)
        recordings_settle()
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:  # sockets still open: the measurements are in already
            server.kill()

    sent = sum(s["sent"] for s in summaries)
    echoed = sum(s["echoed"] for s in summaries)
    echo = [x for s in summaries for x in s["echo"]]
    ear = [x for s in summaries for x in s["ear"]]
    marks = sum(s["marks"] for s in summaries)
    errors = [e for s in summaries for e in s["errors"]]
    recorded = sum(round((r.duration_seconds or 0) * 50) for r in Recording.objects.all())
    print(
        f"  sent={sent} echoed={echoed} recorded={recorded} errors={len(errors)} server cpu={cpu_used:.1f} s; "
        f"loud frames heard by listeners: {len(ear)} of {marks}; "
        f"echo p50={percentile(echo, 0.5):.1f} ms p99={percentile(echo, 0.99):.1f} ms; "
        f"mouth-to-ear p50={percentile(ear, 0.5):.1f} ms p99={percentile(ear, 0.99):.1f} ms",
        flush=True,
    )
    for error in errors[:3]:
        print(f"    error: {error}")
    ear_p99, echo_p99 = percentile(ear, 0.99), percentile(echo, 0.99)
    line(
        "listen_mouth_to_ear_p50_ms",
        percentile(ear, 0.5),
        percentile(echo, 0.5),
        "<400",
        percentile(ear, 0.5) < 400,
    )
    line("listen_mouth_to_ear_p99_ms", ear_p99, echo_p99, "400", ear_p99 < 400 and len(ear) >= 0.95 * marks)
    lost = max(sent - echoed, sent - recorded)
    line("listen_call_frames_lost", lost, 0, "0", lost == 0, fmt="{:.0f}")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    finally:
        for leftover in Path(tempfile.gettempdir()).glob(f"bench-listen-{os.getpid()}-*"):
            shutil.rmtree(leftover, ignore_errors=True)
