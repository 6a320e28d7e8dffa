"""The built-in speech-to-text: CMU PocketSphinx with the US English model its wheel ships.

Telephone audio is 8 kHz, and the shipped acoustic model was trained on 16 kHz features (mel filters up
to 6.8 kHz); pocketsphinx cannot run it at 8 kHz (it refuses an upper filter above the Nyquist frequency,
and a narrowed filterbank would no longer match the model). So each utterance is resampled to 16 kHz: the
filters above 4 kHz see no energy, which costs some accuracy but keeps the features the model knows.

Tuned for speed on one core (tests/bench/bench_stt.py measures it): no second "flat" search pass, fewer
active HMMs per frame, narrower beams. μ-law silence decodes to exact zeros, and digital silence upsets
pocketsphinx's noise removal and its cepstral mean (eSpeak's phrases came out as other words, and slower):
a faint fixed dither (about -50 dBFS) is added first, as any real line has.

Decoding runs in chunks of CHUNK_SECONDS, so the GIL (which pocketsphinx holds while it decodes) is given
up between chunks and a worker's other threads keep running. Each thread has its own decoder (a decoder
is not thread-safe; loading one takes about a second)."""

from __future__ import annotations

import random
import re
import threading

from pocketsphinx import Decoder

from transcripts.stt import SAMPLE_RATE, SpeechToText, Transcription
from wordcab_admin.kernel.audio import audioop, ulaw_to_pcm16  # audioop, or audioop-lts on 3.13+

MODEL_RATE = 16_000
CHUNK_SECONDS = 0.25
DITHER_AMPLITUDE = 100  # of 32767: about -50 dBFS (30 and 300 recognised fewer words of eSpeak phrases)
DECODER_OPTIONS = {
    "fwdflat": False,  # the second pass: ~3x the time for little gain on short utterances
    "bestpath": True,  # cheap, and it gives the word posteriors the confidence is made of
    "maxhmmpf": 3000,
    "beam": 1e-40,
    "wbeam": 1e-20,
    "pbeam": 1e-40,
    "loglevel": "FATAL",
}
FILLER = re.compile(r"^(<.*>|\[.*\])$")  # <s>, </s>, <sil>, [NOISE]…


def _dither(pcm: bytes) -> bytes:
    """A fixed faint noise (same seed every time: the same audio always decodes the same)."""
    noise = random.Random(len(pcm)).randbytes(len(pcm))  # noqa: S311 -- noise for a signal, not a secret
    noise = audioop.mul(noise, 2, DITHER_AMPLITUDE / 32768)
    return audioop.add(pcm, noise, 2)


class PocketSphinxSpeechToText(SpeechToText):
    def __init__(self) -> None:
        self._local = threading.local()

    def _decoder(self) -> Decoder:
        decoder = getattr(self._local, "decoder", None)
        if decoder is None:
            decoder = self._local.decoder = Decoder(**DECODER_OPTIONS)
        return decoder

    def transcribe(self, ulaw: bytes) -> Transcription:
        if not ulaw:
            return Transcription(text="", confidence=None)
        pcm, _state = audioop.ratecv(ulaw_to_pcm16(ulaw), 2, 1, SAMPLE_RATE, MODEL_RATE, None)
        pcm = _dither(pcm)
        decoder = self._decoder()
        chunk = int(CHUNK_SECONDS * MODEL_RATE) * 2
        decoder.start_utt()
        for offset in range(0, len(pcm), chunk):
            decoder.process_raw(pcm[offset : offset + chunk], False, False)
        decoder.end_utt()
        hypothesis = decoder.hyp()
        if hypothesis is None or not hypothesis.hypstr.strip():
            return Transcription(text="", confidence=None)
        return Transcription(text=hypothesis.hypstr.strip(), confidence=self._confidence(decoder))

    @staticmethod
    def _confidence(decoder: Decoder) -> float | None:
        """The mean posterior of the recognised words (fillers and silences left out)."""
        posteriors = [segment.prob for segment in decoder.seg() if not FILLER.match(segment.word)]
        if not posteriors:
            return None
        return round(max(0.0, min(1.0, sum(posteriors) / len(posteriors))), 3)
