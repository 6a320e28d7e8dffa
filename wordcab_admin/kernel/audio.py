"""Telephone audio helpers: μ-law 8 kHz frames (Twilio Media Streams), WAV in and out, waveform peaks.

Telephone audio on a Twilio media stream is G.711 μ-law, 8000 samples/s, mono, one byte per sample; a
media message carries 20 ms = 160 bytes. Conversions use the stdlib `audioop` (Python ≤ 3.12) or its
drop-in `audioop-lts` (3.13+); MP3 is decoded by `miniaudio`, which ships its decoder in the wheel."""

import io
import math
import random
import wave
from collections.abc import Iterator
from pathlib import Path

try:
    import audioop
except ImportError:  # pragma: no cover -- Python 3.13+: the audioop-lts package provides the same module
    import audioop_lts as audioop  # type: ignore[no-redef]

SAMPLE_RATE = 8000
FRAME_MS = 20
FRAME_SAMPLES = SAMPLE_RATE * FRAME_MS // 1000  # 160
FRAME_BYTES = FRAME_SAMPLES  # μ-law: one byte per sample
ULAW_SILENCE = b"\xff"  # μ-law code for 0


class AudioFormatError(ValueError):
    """Audio we cannot read: not WAV, not MP3, or a broken file."""


def ulaw_to_pcm16(ulaw: bytes) -> bytes:
    return audioop.ulaw2lin(ulaw, 2)


def pcm16_to_ulaw(pcm: bytes) -> bytes:
    return audioop.lin2ulaw(pcm, 2)


def pcm16_stereo(left: bytes, right: bytes) -> bytearray:
    """Two 16-bit PCM channels of the same length as one interleaved stereo stream. Byte slices: a third
    of the time of audioop's tostereo + add (bench_media records 200 calls in one process)."""
    stereo = bytearray(2 * len(left))
    stereo[0::4], stereo[1::4] = left[0::2], left[1::2]
    stereo[2::4], stereo[3::4] = right[0::2], right[1::2]
    return stereo


def ulaw_frames(ulaw: bytes) -> Iterator[bytes]:
    """Split μ-law audio into 20 ms frames; the last one is padded with silence."""
    for start in range(0, len(ulaw), FRAME_BYTES):
        frame = ulaw[start : start + FRAME_BYTES]
        yield frame + ULAW_SILENCE * (FRAME_BYTES - len(frame))


def pcm16_to_telephone(pcm: bytes, *, rate: int, channels: int, sample_width: int = 2) -> bytes:
    """Any PCM → μ-law 8 kHz mono."""
    if sample_width != 2:
        pcm = audioop.lin2lin(pcm, sample_width, 2)
        if sample_width == 1:  # 8-bit WAV is unsigned
            pcm = audioop.bias(pcm, 2, 0)
    if channels == 2:
        pcm = audioop.tomono(pcm, 2, 0.5, 0.5)
    elif channels != 1:
        raise AudioFormatError(f"{channels} channels: expected mono or stereo")
    if rate != SAMPLE_RATE:
        pcm, _ = audioop.ratecv(pcm, 2, 1, rate, SAMPLE_RATE, None)
    return pcm16_to_ulaw(pcm)


def _wav_to_ulaw(data: bytes) -> bytes:
    try:
        with wave.open(io.BytesIO(data), "rb") as wav:
            rate, channels, width = wav.getframerate(), wav.getnchannels(), wav.getsampwidth()
            pcm = wav.readframes(wav.getnframes())
    except (wave.Error, EOFError) as exc:
        raise AudioFormatError(f"Unreadable WAV file: {exc}") from exc
    if width not in (1, 2, 3, 4):
        raise AudioFormatError(f"{width * 8}-bit WAV is not supported")
    return pcm16_to_telephone(pcm, rate=rate, channels=channels, sample_width=width)


def _mp3_to_ulaw(data: bytes) -> bytes:
    import miniaudio

    try:
        decoded = miniaudio.decode(
            data, output_format=miniaudio.SampleFormat.SIGNED16, nchannels=1, sample_rate=SAMPLE_RATE
        )
    except miniaudio.DecodeError as exc:
        raise AudioFormatError(f"Unreadable MP3 file: {exc}") from exc
    return pcm16_to_ulaw(decoded.samples.tobytes())


def _looks_like_mp3(data: bytes) -> bool:
    return data[:3] == b"ID3" or (len(data) > 1 and data[0] == 0xFF and (data[1] & 0xE0) == 0xE0)


def to_telephone_audio(data: bytes) -> bytes:
    """An uploaded WAV or MP3 file → μ-law 8 kHz mono, ready to stream."""
    if data[:4] == b"RIFF" and data[8:12] == b"WAVE":
        ulaw = _wav_to_ulaw(data)
    elif _looks_like_mp3(data):
        ulaw = _mp3_to_ulaw(data)
    else:
        raise AudioFormatError("Expected a WAV or MP3 file")
    if not ulaw:
        raise AudioFormatError("The file holds no audio")
    return ulaw


def ulaw_to_wav_bytes(ulaw: bytes) -> bytes:
    """μ-law 8 kHz mono → a 16-bit PCM WAV file (what browsers play)."""
    out = io.BytesIO()
    with wave.open(out, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(SAMPLE_RATE)
        wav.writeframes(ulaw_to_pcm16(ulaw))
    return out.getvalue()


def tone_ulaw(*, frequency: float, seconds: float, amplitude: float = 0.4) -> bytes:
    """A sine tone as μ-law 8 kHz: test audio and the bench's caller."""
    n = int(seconds * SAMPLE_RATE)
    peak = int(32767 * amplitude)
    samples = (int(peak * math.sin(2 * math.pi * frequency * i / SAMPLE_RATE)) for i in range(n))
    pcm = b"".join(s.to_bytes(2, "little", signed=True) for s in samples)
    return pcm16_to_ulaw(pcm)


def speechlike_pcm16(*, seconds: float, seed: int = 0, block_seconds: float = 1.0) -> Iterator[bytes]:
    """Synthetic speech-like audio (voiced syllables with pitch glides and pauses) as 16-bit PCM 8 kHz,
    yielded in blocks so that a recording of any length is written with flat memory."""
    rng = random.Random(seed)  # noqa: S311 -- test audio, not a secret
    total = int(seconds * SAMPLE_RATE)
    block = max(1, int(block_seconds * SAMPLE_RATE))
    produced = 0
    phase = 0.0
    syllable_left = 0
    pitch = target = 140.0
    voiced = False
    envelope_len = 1
    while produced < total:
        n = min(block, total - produced)
        out = bytearray(2 * n)
        for i in range(n):
            if syllable_left <= 0:
                voiced = rng.random() < 0.75  # mostly syllables, sometimes a pause
                syllable_left = envelope_len = rng.randint(600, 2000)  # 75–250 ms
                pitch, target = target, rng.uniform(100, 220)
            syllable_left -= 1
            sample = 0.0
            if voiced:
                t = 1 - syllable_left / envelope_len
                f0 = pitch + (target - pitch) * t
                phase += 2 * math.pi * f0 / SAMPLE_RATE
                env = math.sin(math.pi * t)  # rise and fall of a syllable
                # A few harmonics with a falling spectrum sound like a vowel; a little noise like breath.
                sample = env * (
                    0.55 * math.sin(phase)
                    + 0.25 * math.sin(2 * phase)
                    + 0.12 * math.sin(3 * phase)
                    + 0.05 * math.sin(5 * phase)
                )
                sample += 0.03 * (rng.random() - 0.5)
            value = int(9000 * sample)
            out[2 * i : 2 * i + 2] = value.to_bytes(2, "little", signed=True)
        produced += n
        yield bytes(out)


def wav_peaks(path: Path | str, *, buckets: int = 200) -> list[int]:
    """Per-bucket peak of a 16-bit WAV, 0–100 relative to the loudest bucket (a waveform fills its
    box, as players draw it), read in chunks (any length, flat memory)."""
    with wave.open(str(path), "rb") as wav:
        frames = wav.getnframes()
        if frames == 0:
            return []
        per_bucket = max(1, math.ceil(frames / buckets))
        peaks = []
        while True:
            chunk = wav.readframes(per_bucket)
            if not chunk:
                break
            peaks.append(audioop.max(chunk, 2))  # interleaved stereo: the louder of both channels
    loudest = max(peaks, default=0)
    return [round(100 * peak / loudest) for peak in peaks] if loudest else [0] * len(peaks)


def wav_duration(path: Path | str) -> float:
    with wave.open(str(path), "rb") as wav:
        return wav.getnframes() / wav.getframerate()
