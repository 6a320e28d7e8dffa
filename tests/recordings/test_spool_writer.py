"""A spool written from a media stream's event loop: its audio goes to disk on the writer thread, a second at
a time (bench_media), and the file is the one a spool written frame by frame on its own thread makes."""

import asyncio
import os
import wave
from pathlib import Path

from recordings import services as recordings
from wordcab_admin.kernel.audio import FRAME_BYTES, SAMPLE_RATE, audioop, pcm16_stereo


def a_call_of_frames(spool: recordings.StereoSpool) -> None:
    """2.5 s of caller frames (each its own μ-law byte, so a frame out of place shows), the agent talking
    now and then, a clear, and a frame the carrier lost (a timestamp jump)."""
    for index in range(125):
        at_sample = (index + 3) * FRAME_BYTES if index >= 100 else None  # frames 100..102 lost
        spool.add_caller(bytes([index % 120]) * FRAME_BYTES, at_sample=at_sample)
        if index % 7 == 0:
            spool.add_agent(bytes([0x80 + index % 100]) * (FRAME_BYTES * 3))
        if index == 60:
            spool.clear_agent()


def test_a_spool_written_from_an_event_loop_holds_every_frame_at_its_place_as_one_written_on_its_own_thread(
    tmp_path: Path,
):
    on_its_thread = recordings.StereoSpool(tmp_path / "thread.wav")
    a_call_of_frames(on_its_thread)
    on_its_thread.close()

    from_the_loop = recordings.StereoSpool(tmp_path / "loop.wav")

    async def stream():
        a_call_of_frames(from_the_loop)
        await asyncio.to_thread(from_the_loop.close)  # as stream_end closes it, on a database thread

    asyncio.run(stream())

    with wave.open(str(tmp_path / "thread.wav")) as expected, wave.open(str(tmp_path / "loop.wav")) as got:
        assert got.getnframes() == expected.getnframes() == (125 + 3) * FRAME_BYTES  # 3 lost frames: silence
        assert got.readframes(got.getnframes()) == expected.readframes(expected.getnframes())
    assert from_the_loop.written == on_its_thread.written


def test_a_spool_is_written_a_second_at_a_time_from_an_event_loop_and_all_of_it_by_close(tmp_path: Path):
    spool = recordings.StereoSpool(tmp_path / "call.wav")

    async def half_a_second_then_close():
        for _ in range(25):
            spool.add_caller(b"\x00" * FRAME_BYTES)
        assert spool.written == SAMPLE_RATE // 2  # placed on the caller's clock at once…
        assert (tmp_path / "call.wav").stat().st_size == 0  # …and still in memory, under a second
        await asyncio.to_thread(spool.close)

    asyncio.run(half_a_second_then_close())

    with wave.open(str(tmp_path / "call.wav")) as wav:
        assert wav.getnframes() == SAMPLE_RATE // 2


def test_the_stereo_interleave_puts_the_caller_left_and_the_agent_right_as_audioop_does():
    caller, agent = os.urandom(2 * 1000), os.urandom(2 * 1000)
    by_audioop = audioop.add(audioop.tostereo(caller, 2, 1, 0), audioop.tostereo(agent, 2, 0, 1), 2)

    assert pcm16_stereo(caller, agent) == by_audioop
