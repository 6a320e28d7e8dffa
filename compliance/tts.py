"""Local text-to-speech for consent openers: eSpeak NG, loaded from the `espeakng-loader` wheel (which ships
libespeak-ng and its voice data), so no system package and never a network service.

eSpeak NG keeps global state and is not re-entrant: one synthesis at a time, under a lock."""

import ctypes
import logging
import threading
from functools import cache
from pathlib import Path

from wordcab_admin.kernel.audio import pcm16_to_telephone

log = logging.getLogger(__name__)

AUDIO_OUTPUT_SYNCHRONOUS = 2
POS_CHARACTER = 1
ESPEAK_CHARS_UTF8 = 1
MAX_TEXT_CHARS = 2000

_lock = threading.Lock()
_chunks: list[bytes] = []
_SynthCallback = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p)


class SpeechUnavailable(RuntimeError):
    """The speech engine could not be loaded or refused the text."""


def _collect(wav, count: int, _events) -> int:
    if wav and count > 0:
        _chunks.append(ctypes.string_at(wav, count * 2))
    return 0  # 0 = go on


_callback = _SynthCallback(_collect)  # kept referenced for the library's lifetime


@cache
def _engine() -> tuple[ctypes.CDLL, int]:
    try:
        import espeakng_loader

        lib = ctypes.CDLL(espeakng_loader.get_library_path())
        data_parent = str(Path(espeakng_loader.get_data_path()).parent).encode()
    except (ImportError, OSError) as exc:
        raise SpeechUnavailable(f"eSpeak NG is not available: {exc}") from exc
    lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
    lib.espeak_Initialize.restype = ctypes.c_int
    lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
    lib.espeak_Synth.argtypes = [
        ctypes.c_char_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int,
        ctypes.c_uint, ctypes.c_uint, ctypes.c_void_p, ctypes.c_void_p,
    ]  # fmt: skip
    rate = lib.espeak_Initialize(AUDIO_OUTPUT_SYNCHRONOUS, 0, data_parent, 0)
    if rate <= 0:
        raise SpeechUnavailable(f"eSpeak NG failed to initialise ({rate})")
    lib.espeak_SetSynthCallback(_callback)
    return lib, rate


def voice_for(language: str) -> list[bytes]:
    """eSpeak voice names to try for a BCP 47 tag: en-US → en-us, then en."""
    tag = (language or "en").strip().lower().replace("_", "-")
    candidates = [tag, tag.split("-")[0], "en"]
    return [c.encode() for c in dict.fromkeys(candidates) if c]


def synthesize(text: str, *, language: str = "en-US") -> bytes:
    """`text` spoken by eSpeak NG, as μ-law 8 kHz mono (what a media stream carries)."""
    text = " ".join(text.split())[:MAX_TEXT_CHARS]
    if not text:
        raise SpeechUnavailable("Nothing to say")
    with _lock:
        lib, rate = _engine()
        for voice in voice_for(language):
            if lib.espeak_SetVoiceByName(voice) == 0:
                break
        _chunks.clear()
        encoded = text.encode()
        status = lib.espeak_Synth(
            encoded, len(encoded) + 1, 0, POS_CHARACTER, 0, ESPEAK_CHARS_UTF8, None, None
        )
        lib.espeak_Synchronize()
        pcm = b"".join(_chunks)
        _chunks.clear()
    if status != 0 or not pcm:
        raise SpeechUnavailable(f"eSpeak NG could not speak the text (status {status})")
    return pcm16_to_telephone(pcm, rate=rate, channels=1)
