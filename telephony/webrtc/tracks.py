"""The browser leg's audio, both ways, as the 20 ms μ-law 8 kHz frames a MediaSession speaks.

In: aiortc hands us decoded `av.AudioFrame`s of the browser's microphone. With PCMU negotiated (we prefer
it in the answer) they already are 8 kHz mono s16, 160 samples each, and only need μ-law encoding; any
other codec (Opus at 48 kHz stereo) goes through `av.AudioResampler` first. `CallerAudio` cuts the result
into 160-byte frames.

Out: `AgentAudioTrack` is the track the browser hears. aiortc pulls a frame from `recv()` whenever it
wants one; we pace them at real time (20 ms) from a queue of the session's μ-law audio, and send silence
when the queue is empty, so the RTP clock never stalls. A mark sent after some audio fires once the frames
queued before it have left (that is what a carrier's mark echo means: it played), and a clear drops the
queue and fires the marks it held, as Twilio does."""

from __future__ import annotations

import asyncio
import fractions
import time
from collections.abc import Callable

import av
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from wordcab_admin.kernel.audio import (
    FRAME_BYTES,
    FRAME_MS,
    SAMPLE_RATE,
    ULAW_SILENCE,
    pcm16_to_ulaw,
    ulaw_to_pcm16,
)

FRAME_SECONDS = FRAME_MS / 1000
TIME_BASE = fractions.Fraction(1, SAMPLE_RATE)


class CallerAudio:
    """The browser's decoded audio frames → 160-byte μ-law frames, in order."""

    def __init__(self) -> None:
        self._resampler: av.AudioResampler | None = None
        self._pending = bytearray()  # μ-law not yet a whole frame

    def frames(self, frame: av.AudioFrame) -> list[bytes]:
        self._pending += pcm16_to_ulaw(self._telephone_pcm(frame))
        whole = len(self._pending) - len(self._pending) % FRAME_BYTES
        out = [bytes(self._pending[i : i + FRAME_BYTES]) for i in range(0, whole, FRAME_BYTES)]
        del self._pending[:whole]
        return out

    def _telephone_pcm(self, frame: av.AudioFrame) -> bytes:
        """8 kHz mono s16 PCM of `frame`: as it is when PCMU was negotiated, resampled otherwise."""
        if (
            frame.sample_rate == SAMPLE_RATE
            and frame.format.name == "s16"
            and len(frame.layout.channels) == 1
        ):
            return bytes(frame.planes[0])[: frame.samples * 2]
        if self._resampler is None:
            self._resampler = av.AudioResampler(format="s16", layout="mono", rate=SAMPLE_RATE)
        return b"".join(bytes(out.planes[0])[: out.samples * 2] for out in self._resampler.resample(frame))


class AgentAudioTrack(MediaStreamTrack):
    """What the browser hears: the session's audio paced at 20 ms a frame, silence in between. Also the
    session's MediaTransport (send_frames, send_mark, send_clear)."""

    kind = "audio"

    def __init__(self, *, on_mark: Callable[[str], None]) -> None:
        super().__init__()
        self._on_mark = on_mark
        self._queue = bytearray()
        self._queued_total = 0  # bytes of audio ever queued (what a mark waits for)
        self._played_total = 0  # bytes of that audio already sent
        self._marks: list[tuple[int, str]] = []  # (queued_total when sent, name), in order
        self._start: float | None = None
        self._timestamp = 0

    # --- MediaTransport --------------------------------------------------------------------------------

    async def send_frames(self, ulaw: bytes) -> None:
        self._queue += ulaw
        self._queued_total += len(ulaw)

    async def send_mark(self, name: str) -> None:
        self._marks.append((self._queued_total, name))
        self._fire_due_marks()  # nothing queued before it: it has "played" already

    async def send_clear(self) -> None:
        self._played_total += len(self._queue)
        self._queue.clear()
        self._fire_due_marks()

    # --- the track aiortc pulls -------------------------------------------------------------------------

    async def recv(self) -> av.AudioFrame:
        if self.readyState != "live":
            raise MediaStreamError
        if self._start is None:
            self._start = time.monotonic()
        else:
            self._timestamp += FRAME_BYTES
            wait = self._start + self._timestamp / SAMPLE_RATE - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
        chunk = bytes(self._queue[:FRAME_BYTES])
        del self._queue[:FRAME_BYTES]
        self._played_total += len(chunk)
        self._fire_due_marks()
        return self._frame(chunk + ULAW_SILENCE * (FRAME_BYTES - len(chunk)))

    def _frame(self, ulaw: bytes) -> av.AudioFrame:
        frame = av.AudioFrame(format="s16", layout="mono", samples=FRAME_BYTES)
        frame.planes[0].update(ulaw_to_pcm16(ulaw))
        frame.sample_rate = SAMPLE_RATE
        frame.pts = self._timestamp
        frame.time_base = TIME_BASE
        return frame

    def _fire_due_marks(self) -> None:
        while self._marks and self._marks[0][0] <= self._played_total:
            self._on_mark(self._marks.pop(0)[1])
