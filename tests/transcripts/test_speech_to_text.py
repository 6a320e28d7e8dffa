"""The built-in speech-to-text hears a phrase spoken by eSpeak NG and put through the telephone: 8 kHz
μ-law, as every media stream carries it."""

from compliance.tts import synthesize
from transcripts.stt import Transcription, speech_to_text
from transcripts.stt.pocketsphinx_engine import PocketSphinxSpeechToText
from transcripts.stt.utterances import UtteranceDetector
from wordcab_admin.kernel.audio import ulaw_frames

SILENCE = b"\xff" * 8000  # a second of μ-law silence


def test_pocketsphinx_returns_words_of_a_synthesized_phrase_on_8_khz_telephone_audio():
    # A phrase its small English model hears well through eSpeak's voice (short ones come back garbled:
    # "yes that works for me" was heard as "yet that would have…"); the engine's dither varies the rest.
    heard = PocketSphinxSpeechToText().transcribe(
        synthesize("i would like to book an appointment for tuesday morning")
    )

    assert isinstance(heard, Transcription)
    words = {"i", "would", "like", "to", "book", "an", "appointment", "for", "tuesday", "morning"}
    assert len(set(heard.text.split()) & words) >= 4, heard.text
    assert 0 <= heard.confidence <= 1


def test_the_engine_is_chosen_by_the_speech_to_text_setting(settings):
    settings.SPEECH_TO_TEXT = "transcripts.stt.pocketsphinx_engine.PocketSphinxSpeechToText"
    assert isinstance(speech_to_text(), PocketSphinxSpeechToText)
    settings.SPEECH_TO_TEXT = ""
    assert speech_to_text() is None


def test_the_utterance_detector_cuts_speech_out_of_silence_with_its_place_in_the_call():
    speech = synthesize("please call me back tomorrow")
    detector = UtteranceDetector()
    found, at = [], 0.0
    for frame in ulaw_frames(SILENCE + speech + SILENCE + speech + SILENCE):
        if utterance := detector.feed(frame, at=at):
            found.append(utterance)
        at += len(frame) / 8000
    spoken = len(speech) / 8000

    assert len(found) == 2
    assert abs(found[0].start - 1.0) < 0.25
    assert abs(found[0].end - (1.0 + spoken)) < 0.3
    assert abs(found[1].start - (2.0 + spoken)) < 0.25
    assert detector.flush() is None
