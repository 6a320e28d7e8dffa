"""One-way audio latency of a browser (WebRTC) call: from the sending peer's frame to the agent runtime.

The sender is an aiortc peer playing the browser (a 20 ms μ-law frame every 20 ms, each carrying its number
in its first bytes; PCMU is lossless for μ-law, so the receiving side reads the number back). Ours: the real
ASGI application on uvicorn in a thread of this process, the real signalling request, the leg's aiortc peer,
the MediaSession (recording on, a consent opener played) and an agent runtime that notes when each frame
reached it. The reference, in the same run and the same layout (the receiver on an event loop of its own
thread): a bare aiortc peer that only reads the frames. Both clocks are this process's `time.monotonic`.

`make bench BENCH=webrtc`; BENCH_WEBRTC_SECONDS (default 12) sets each call's length. The first second of
each call is left out (ICE, DTLS and the jitter buffer settling; our session's start)."""

import asyncio
import math
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
SECONDS = float(os.environ.get("BENCH_WEBRTC_SECONDS", "12"))
FRAMES = int(SECONDS * 50)
WARM_UP_FRAMES = 50
TARGET_EXTRA_MS = 20.0
INDEX_DIGITS = 3  # base-100 digits, one byte each (0x10 + d: never 0x7F, which μ-law turns into 0xFF)


def numbered_frames(count: int) -> list[bytes]:
    """160-byte μ-law frames of a 440 Hz tone, each carrying its number in its first bytes."""
    from wordcab_admin.kernel.audio import FRAME_BYTES, pcm16_to_ulaw

    frames = []
    for index in range(count):
        pcm = b"".join(
            int(8000 * math.sin(2 * math.pi * 440 * (index * FRAME_BYTES + i) / 8000)).to_bytes(
                2, "little", signed=True
            )
            for i in range(FRAME_BYTES)
        )
        digits = bytes(0x10 + (index // 100**d) % 100 for d in range(INDEX_DIGITS))
        frames.append(digits + pcm16_to_ulaw(pcm)[INDEX_DIGITS:])
    return frames


def frame_number(frame: bytes) -> int | None:
    digits = [b - 0x10 for b in frame[:INDEX_DIGITS]]
    if any(not 0 <= d < 100 for d in digits):
        return None
    return sum(d * 100**i for i, d in enumerate(digits))


def latencies_ms(sent_at: list[float], arrivals: list[tuple[float, bytes]]) -> list[float]:
    out = []
    for arrived, frame in arrivals:
        index = frame_number(frame)
        if index is not None and WARM_UP_FRAMES <= index < len(sent_at):
            out.append(1000 * (arrived - sent_at[index]))
    return sorted(out)


def percentile(values: list[float], share: float) -> float:
    return values[int(share * (len(values) - 1))] if values else float("nan")


class LoopThread:
    """An event loop on a thread of its own (the receiving side, as a server's loop would be)."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coroutine):
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout=30)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=5)


# --- the reference: a bare aiortc receiver ----------------------------------------------------------------


def reference_run(frames: list[bytes]) -> list[float]:
    from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
    from aiortc.mediastreams import MediaStreamError

    from telephony.webrtc.tracks import CallerAudio
    from tests.telephony.test_webrtc import UlawTrack, pcmu_first

    receiver_side = LoopThread()
    arrivals: list[tuple[float, bytes]] = []

    async def receiver_answer(offer_sdp: str) -> tuple[RTCPeerConnection, str]:
        pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))

        @pc.on("track")
        def on_track(track) -> None:
            async def read() -> None:
                caller = CallerAudio()
                while True:
                    try:
                        frame = await track.recv()
                    except MediaStreamError:
                        return
                    arrivals.extend((time.monotonic(), ulaw) for ulaw in caller.frames(frame))

            asyncio.ensure_future(read())

        await pc.setRemoteDescription(RTCSessionDescription(sdp=offer_sdp, type="offer"))
        await pc.setLocalDescription(await pc.createAnswer())
        return pc, pc.localDescription.sdp

    async def sender() -> list[float]:
        pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        mic = UlawTrack(frames)
        pc.addTrack(mic)
        pcmu_first(pc)
        await pc.setLocalDescription(await pc.createOffer())
        receiver, answer = receiver_side.run(receiver_answer(pc.localDescription.sdp))
        await pc.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))
        await wait_until_sent(mic, len(frames))
        await pc.close()
        receiver_side.run(receiver.close())
        return mic.sent_at

    try:
        sent_at = asyncio.run(sender())
    finally:
        receiver_side.stop()
    return latencies_ms(sent_at, arrivals)


async def wait_until_sent(mic, count: int) -> None:
    deadline = time.monotonic() + SECONDS + 20
    while len(mic.sent_at) < count and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    await asyncio.sleep(0.5)  # the last frames' flight


# --- ours: the product on uvicorn ----------------------------------------------------------------------------


def serve_in_thread() -> tuple[str, object, threading.Thread]:
    import uvicorn

    from wordcab_admin.asgi import application

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(application, lifespan="off", log_level="warning", access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    return f"http://127.0.0.1:{sock.getsockname()[1]}", server, thread


def ours_run(frames: list[bytes], base_url: str, key: str, agent_id: str) -> tuple[list[float], str]:
    import httpx

    from tests.telephony.test_webrtc import HEARD, browser_call

    async def sender() -> tuple[list[float], str]:
        browser = await browser_call(base_url, key, agent_id, frames)
        if browser.status_code != 201:
            raise RuntimeError(f"the call was refused: {browser.status_code} {browser.answer}")
        await wait_until_sent(browser.mic, len(frames))
        call_id = browser.answer["call_id"]
        async with httpx.AsyncClient() as http:
            await http.post(
                f"{base_url}/v1/webrtc/calls/{call_id}/hangup", headers={"Authorization": f"Bearer {key}"}
            )
        await browser.pc.close()
        return browser.mic.sent_at, call_id

    sent_at, call_id = asyncio.run(sender())
    return latencies_ms(sent_at, HEARD.get(call_id, [])), call_id


def line(name: str, ours: float, reference: float, target: str, passed: bool, fmt: str = "{:.1f}") -> None:
    ratio = f"{ours / reference:.2f}" if reference else "1.00" if not ours else "inf"
    print(
        f"BENCH {name} ours={fmt.format(ours)} reference={fmt.format(reference)} ratio={ratio} "
        f"target={target} {'PASS' if passed else 'MISS'}",
        flush=True,
    )


def main() -> int:
    data_dir = Path(tempfile.mkdtemp(prefix=f"bench-webrtc-{os.getpid()}-"))
    env = {
        **os.environ,
        "DATA_DIR": str(data_dir),
        "DEBUG": "true",
        "AGENT_RUNTIME": "tests.telephony.test_webrtc.HearingRuntime",
        "LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(ROOT),
        "DJANGO_SETTINGS_MODULE": "wordcab_admin.settings",
    }
    env.pop("DATABASE_URL", None)  # a private SQLite database for this run
    os.environ.update(
        {k: env[k] for k in ("DATA_DIR", "AGENT_RUNTIME", "LOG_LEVEL", "DJANGO_SETTINGS_MODULE")}
    )
    os.environ.pop("DATABASE_URL", None)
    subprocess.run([sys.executable, "manage.py", "migrate", "-v", "0"], env=env, cwd=ROOT, check=True)

    import django

    django.setup()
    from compliance.openers import opener_create
    from recordings.models import Recording
    from tests.factories import AgentFactory, UserFactory
    from wordcab_admin.kernel.accounts import api_key_create
    from wordcab_admin.kernel.roles import Role

    agent = AgentFactory(public_id="agent_bench_webrtc", name="Bench", record=True)
    opener_create(actor=None, jurisdiction="", language="en-US", text="This call is recorded.")
    _, key = api_key_create(user=UserFactory(username="bench-operator", role=Role.OPERATOR), name="bench")
    frames = numbered_frames(FRAMES)
    print(f"webrtc bench: one call each, {SECONDS:.0f} s of 20 ms PCMU frames, recording on", flush=True)

    reference = reference_run(frames)
    base_url, server, thread = serve_in_thread()
    try:
        ours, call_id = ours_run(frames, base_url, key, agent.public_id)
        time.sleep(1)  # the recording's spool closes as the leg ends
    finally:
        server.should_exit = True
        thread.join(timeout=15)
    recorded = Recording.objects.filter(call__public_id=call_id).values_list("status", flat=True).first()
    counted = FRAMES - WARM_UP_FRAMES
    for name, result in (("reference", reference), ("ours", ours)):
        print(
            f"  {name}: {len(result)}/{counted} frames measured, p50={statistics.median(result):.1f} ms "
            f"p99={percentile(result, 0.99):.1f} ms max={result[-1]:.1f} ms",
            flush=True,
        )
    print(f"  ours: recording {recorded}", flush=True)
    ours_p50, reference_p50 = statistics.median(ours), statistics.median(reference)
    ours_p99, reference_p99 = percentile(ours, 0.99), percentile(reference, 0.99)
    line(
        "webrtc_one_way_p50_ms", ours_p50, reference_p50, f"<={reference_p50 + TARGET_EXTRA_MS:.1f}",
        ours_p50 <= reference_p50 + TARGET_EXTRA_MS,
    )  # fmt: skip
    line(
        "webrtc_one_way_p99_ms", ours_p99, reference_p99, f"<={reference_p99 + TARGET_EXTRA_MS:.1f}",
        ours_p99 <= reference_p99 + TARGET_EXTRA_MS,
    )  # fmt: skip
    lost = counted - len(ours)
    line("webrtc_frames_lost", lost, counted - len(reference), "0", lost == 0, fmt="{:.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
