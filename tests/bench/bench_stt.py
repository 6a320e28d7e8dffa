"""BENCH stt_real_time_factor: how fast the built-in speech-to-text (pocketsphinx, transcripts/stt/) hears
8 kHz telephone audio on one core.

The audio: PHRASES spoken by eSpeak NG (compliance/tts.py: μ-law 8 kHz, what a media stream carries) with a
second of silence between them, ROUNDS times over (about a minute of call), cut into utterances by the same
UtteranceDetector the demo runtime uses, so the engine is given exactly what a call would give it (the
silences between utterances are never decoded). The process is pinned to one CPU.

real-time factor = CPU seconds spent in `transcribe` (time.thread_time: the decoder's own time, so other
processes on a busy machine do not count against it) / seconds of call audio. `reference` is 1.0, real time;
`ratio` = ours / reference; target ≤ 0.3 (an utterance is heard in under a third of its length, so one core
keeps up with three callers talking at once). The wall-clock factor and the audio's duration are printed on
the line before. The decoder is loaded (about a second) before timing: a worker keeps its decoder.

    make bench BENCH=stt
    BENCH_STT_ROUNDS=4 make bench BENCH=stt"""

import os
import sys
import time

import django

django.setup()

from compliance.tts import synthesize  # noqa: E402 -- after django.setup()
from transcripts.stt.pocketsphinx_engine import PocketSphinxSpeechToText  # noqa: E402
from transcripts.stt.utterances import UtteranceDetector  # noqa: E402
from wordcab_admin.kernel.audio import SAMPLE_RATE, ulaw_frames  # noqa: E402

TARGET = 0.3
ROUNDS = int(os.environ.get("BENCH_STT_ROUNDS", "2"))
PHRASES = [
    "Hello, this is about your appointment on Tuesday at ten in the morning.",
    "Yes, that works for me, thank you.",
    "Could we move it to Friday afternoon instead?",
    "I am busy right now, please call me back later today.",
    "No thanks, I am not interested.",
    "My date of birth is the fourth of July, nineteen eighty five.",
    "Can you tell me the address of the clinic again?",
    "Great, see you then. Goodbye.",
]
SILENCE = b"\xff" * SAMPLE_RATE  # one second


def call_audio() -> bytes:
    spoken = [synthesize(phrase) for phrase in PHRASES]
    return b"".join(SILENCE + speech for _round in range(ROUNDS) for speech in spoken) + SILENCE


def utterances_of(audio: bytes) -> list[bytes]:
    detector, found, at = UtteranceDetector(), [], 0.0
    for frame in ulaw_frames(audio):
        if utterance := detector.feed(frame, at=at):
            found.append(utterance.ulaw)
        at += len(frame) / SAMPLE_RATE
    if last := detector.flush():
        found.append(last.ulaw)
    return found


def main() -> int:
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    audio = call_audio()
    audio_seconds = len(audio) / SAMPLE_RATE
    utterances = utterances_of(audio)
    engine = PocketSphinxSpeechToText()
    engine.transcribe(utterances[0])  # load the decoder, as a worker has it loaded
    cpu_started, wall_started = time.thread_time(), time.perf_counter()
    heard = [engine.transcribe(utterance).text for utterance in utterances]
    cpu, wall = time.thread_time() - cpu_started, time.perf_counter() - wall_started
    if not any(heard):
        print("bench stt: nothing was recognised", file=sys.stderr)
        return 1
    factor = cpu / audio_seconds
    print(
        f"bench stt: {audio_seconds:.1f} s of 8 kHz μ-law call audio ({len(utterances)} utterances, "
        f"{sum(map(len, utterances)) / SAMPLE_RATE:.1f} s of them speech) decoded in {cpu:.2f} s CPU, "
        f"{wall:.2f} s wall (wall real-time factor {wall / audio_seconds:.3f}) on one core; "
        f'first heard: "{heard[0]}"'
    )
    verdict = "PASS" if factor <= TARGET else "MISS"
    print(
        f"BENCH stt_real_time_factor ours={factor:.3f} reference=1.0 ratio={factor:.3f} target={TARGET} {verdict}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
