"""Consent openers: audio from an upload (WAV, MP3) or the local TTS, which opener a call gets, the pages
compliance officers use, and the audit trail."""

import io
import math
import wave

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from calls.consent import call_opener_snapshot
from compliance.models import AuditEvent, ConsentOpener, OpenerAudioSource
from compliance.openers import opener_create, opener_for
from compliance.seed import DEFAULT_OPENER_TEXT
from compliance.tts import synthesize
from tests.factories import AgentFactory, CallFactory
from wordcab_admin.kernel.audio import to_telephone_audio, ulaw_to_pcm16
from wordcab_admin.kernel.errors import Unprocessable

try:
    import audioop
except ImportError:  # Python 3.13+
    import audioop_lts as audioop


def added_by_the_test():
    """The openers besides the deployment default that the migration seeds."""
    return ConsentOpener.objects.exclude(text=DEFAULT_OPENER_TEXT)


def wav_file(*, seconds: float, rate: int = 16000, channels: int = 2, frequency: float = 440) -> bytes:
    frames = bytearray()
    for i in range(int(seconds * rate)):
        sample = int(12000 * math.sin(2 * math.pi * frequency * i / rate)).to_bytes(2, "little", signed=True)
        frames += sample * channels
    out = io.BytesIO()
    with wave.open(out, "wb") as wav:
        wav.setnchannels(channels)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(bytes(frames))
    return out.getvalue()


def mp3_file(*, seconds: float, rate: int = 22050) -> bytes:
    import lameenc

    pcm = b"".join(
        int(12000 * math.sin(2 * math.pi * 330 * i / rate)).to_bytes(2, "little", signed=True)
        for i in range(int(seconds * rate))
    )
    encoder = lameenc.Encoder()
    encoder.set_bit_rate(64)
    encoder.set_in_sample_rate(rate)
    encoder.set_channels(1)
    encoder.set_quality(5)
    return bytes(encoder.encode(pcm) + encoder.flush())


def test_the_local_voice_speaks_the_text_as_telephone_audio():
    short = synthesize("Hello.", language="en-US")
    long = synthesize("This call is recorded for quality and uses an automated agent.", language="en-US")
    assert 0.3 < len(short) / 8000 < len(long) / 8000 < 10
    assert audioop.rms(ulaw_to_pcm16(long), 2) > 500  # speech, not silence


def test_an_unknown_language_falls_back_to_english_rather_than_failing():
    assert len(synthesize("Hello there.", language="xx-YY")) > 4000


def test_a_wav_upload_becomes_8khz_mono_mulaw_of_the_same_length():
    ulaw = to_telephone_audio(wav_file(seconds=1.5, rate=16000, channels=2))
    assert len(ulaw) == pytest.approx(1.5 * 8000, abs=16)
    assert audioop.rms(ulaw_to_pcm16(ulaw), 2) > 5000


def test_an_mp3_upload_is_decoded_without_ffmpeg():
    ulaw = to_telephone_audio(mp3_file(seconds=1.0))
    assert len(ulaw) == pytest.approx(8000, rel=0.1)  # MP3 adds a few ms of encoder padding
    assert audioop.rms(ulaw_to_pcm16(ulaw), 2) > 3000


def test_an_opener_spoken_by_the_local_voice_is_stored_and_audited(carol):
    opener = opener_create(actor=carol, jurisdiction="us-ca", language="en-US", text="This call is recorded.")
    assert opener.jurisdiction == "US-CA"
    assert opener.audio_source == OpenerAudioSource.SYNTHESIZED
    assert opener.duration_seconds == pytest.approx(len(opener.audio) / 8000, abs=0.001)
    assert len(opener.audio_sha256) == 64
    event = AuditEvent.objects.get(action="consent_opener.created")
    assert event.actor == carol
    assert event.after["text"] == "This call is recorded."


def test_an_uploaded_file_that_is_not_audio_is_refused(carol):
    upload = SimpleUploadedFile("opener.wav", b"definitely not audio", content_type="audio/wav")
    with pytest.raises(Unprocessable) as refused:
        opener_create(actor=carol, jurisdiction="GB", language="en-GB", text="Recorded.", upload=upload)
    assert refused.value.field == "audio"
    assert not added_by_the_test().exists()


def test_the_most_specific_opener_wins(db):
    agent, other_agent = AgentFactory(language="en-US"), AgentFactory()
    default = opener_create(actor=None, jurisdiction="", language="en-US", text="Default.")
    call = CallFactory(agent=agent, jurisdiction="US-CA")
    assert opener_for(agent=call.agent, jurisdiction=call.jurisdiction) == default
    agent_default = opener_create(
        actor=None, jurisdiction="", agent=agent, language="en-US", text="Agent default."
    )
    assert opener_for(agent=call.agent, jurisdiction=call.jurisdiction) == agent_default
    state = opener_create(actor=None, jurisdiction="US-CA", language="en-US", text="California.")
    assert opener_for(agent=call.agent, jurisdiction=call.jurisdiction) == state
    opener_create(actor=None, jurisdiction="US-CA", agent=other_agent, language="en-US", text="Not ours.")
    spanish = opener_create(actor=None, jurisdiction="US-CA", agent=agent, language="es-US", text="Grabada.")
    english = opener_create(actor=None, jurisdiction="US-CA", agent=agent, language="en-US", text="Recorded.")
    assert (
        opener_for(agent=call.agent, jurisdiction=call.jurisdiction) == english
    )  # the agent's language first
    english.delete()
    assert opener_for(agent=call.agent, jurisdiction=call.jurisdiction) == spanish
    assert opener_for(agent=other_agent, jurisdiction="GB") == default


def test_the_snapshot_is_taken_once_and_survives_later_edits(db):
    opener = opener_create(actor=None, jurisdiction="", language="en-US", text="First wording.")
    call = CallFactory()
    snapshot = call_opener_snapshot(call=call)
    assert snapshot["id"] == opener.pk
    assert snapshot["text"] == "First wording."
    ConsentOpener.objects.filter(pk=opener.pk).update(text="Second wording.")
    call.refresh_from_db()
    assert call_opener_snapshot(call=call)["text"] == "First wording."


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_a_compliance_officer_adds_an_opener_spoken_by_the_local_voice(carol):
    response = signed_in(carol).post(
        "/compliance/openers/", {"jurisdiction": "GB", "language": "en-GB", "text": "This call is recorded."}
    )
    assert response.status_code == 302
    opener = added_by_the_test().get()
    assert (opener.jurisdiction, opener.audio_source) == ("GB", OpenerAudioSource.SYNTHESIZED)
    page = signed_in(carol).get("/compliance/openers/")
    assert b"This call is recorded." in page.content
    assert f"/compliance/openers/{opener.pk}/audio.wav".encode() in page.content


def test_a_compliance_officer_uploads_a_wav_and_an_mp3(carol):
    client = signed_in(carol)
    for name, data, seconds in [("o.wav", wav_file(seconds=2), 2.0), ("o.mp3", mp3_file(seconds=1), 1.0)]:
        response = client.post(
            "/compliance/openers/",
            {
                "jurisdiction": "US",
                "language": "en-US",
                "text": "Recorded.",
                "audio": SimpleUploadedFile(name, data),
            },
        )
        assert response.status_code == 302, response.content
        opener = ConsentOpener.objects.latest("id")
        assert opener.audio_source == OpenerAudioSource.UPLOADED
        assert opener.source_filename == name
        assert opener.duration_seconds == pytest.approx(seconds, rel=0.1)


def test_a_bad_upload_is_answered_on_the_form(carol):
    response = signed_in(carol).post(
        "/compliance/openers/",
        {"language": "en-US", "text": "Recorded.", "audio": SimpleUploadedFile("x.mp3", b"hello world")},
    )
    assert response.status_code == 400
    assert b"Expected a WAV or MP3 file" in response.content
    assert not added_by_the_test().exists()


def test_the_opener_can_be_heard_in_the_browser(bob):
    opener = opener_create(actor=None, jurisdiction="", language="en-US", text="Hello.")
    response = signed_in(bob).get(f"/compliance/openers/{opener.pk}/audio.wav")
    assert response.status_code == 200
    assert response["Content-Type"] == "audio/wav"
    with wave.open(io.BytesIO(response.content), "rb") as wav:
        assert (wav.getframerate(), wav.getnchannels()) == (8000, 1)
        assert wav.getnframes() == len(opener.audio)


def test_a_viewer_sees_openers_but_may_not_change_them(bob):
    opener = opener_create(actor=None, jurisdiction="", language="en-US", text="Hello.")
    client = signed_in(bob)
    page = client.get("/compliance/openers/")
    assert page.status_code == 200
    assert b"Add an opener" not in page.content
    assert client.post("/compliance/openers/", {"language": "en-US", "text": "Mine."}).status_code == 403
    assert client.post(f"/compliance/openers/{opener.pk}/delete").status_code == 403
    assert added_by_the_test().count() == 1


def test_deleting_and_respeaking_an_opener_are_audited(carol):
    upload = SimpleUploadedFile("o.wav", wav_file(seconds=1))
    opener = opener_create(actor=carol, jurisdiction="", language="en-US", text="Recorded.", upload=upload)
    client = signed_in(carol)
    assert client.post(f"/compliance/openers/{opener.pk}/resynthesize").status_code == 302
    opener.refresh_from_db()
    assert opener.audio_source == OpenerAudioSource.SYNTHESIZED
    assert client.post(f"/compliance/openers/{opener.pk}/delete").status_code == 302
    assert not added_by_the_test().exists()
    actions = list(AuditEvent.objects.filter(object_type="consent_opener").values_list("action", flat=True))
    assert actions == ["consent_opener.deleted", "consent_opener.updated", "consent_opener.created"]


def test_the_compliance_and_audit_pages_still_work(carol, bob):
    opener_create(actor=carol, jurisdiction="", language="en-US", text="Hello.")
    assert b"2 openers" in signed_in(bob).get("/compliance/").content  # with the seeded default
    audit = signed_in(carol).get("/audit/?action=consent_opener.created")
    assert audit.status_code == 200
    assert b"consent_opener.created" in audit.content


def test_a_default_opener_added_beside_the_seeded_one_replaces_it(db):
    agent = AgentFactory(language="en-US")
    seeded = opener_for(agent=agent, jurisdiction="US-CA")
    assert seeded.text == DEFAULT_OPENER_TEXT  # a fresh deployment is never silent
    ours = opener_create(actor=None, jurisdiction="", language="en-US", text="Our own disclosure.")
    assert opener_for(agent=agent, jurisdiction="US-CA") == ours


# --- editing an opener, and the jurisdiction typed as a code or a name -----------------------------------------


def test_a_compliance_officer_edits_an_opener_in_place_and_it_is_spoken_again(carol):
    agent = AgentFactory(public_id="agent_sales", name="Sales Outreach")
    opener = opener_create(actor=carol, jurisdiction="US-CA", language="en-US", text="Recorded.")
    client = signed_in(carol)
    page = client.get(f"/compliance/openers/{opener.pk}/").content.decode()
    assert 'value="US-CA"' in page  # the form starts from the opener as it is
    assert "Recorded.</textarea>" in page
    assert f'href="/compliance/openers/{opener.pk}/"' in client.get("/compliance/openers/").content.decode()

    response = client.post(
        f"/compliance/openers/{opener.pk}/",
        {"jurisdiction": "United Kingdom", "agent": "agent_sales", "language": "en-GB", "text": "We record."},
    )
    assert response.status_code == 302
    assert response.url == f"/compliance/openers/#opener-{opener.pk}"
    before_sha = opener.audio_sha256
    opener.refresh_from_db()
    assert (opener.jurisdiction, opener.agent, opener.language, opener.text) == (
        "GB",
        agent,
        "en-GB",
        "We record.",
    )
    assert opener.audio_sha256 != before_sha  # the built-in voice speaks the new text
    event = AuditEvent.objects.get(action="consent_opener.updated")
    assert (event.before["text"], event.after["text"], event.after["agent_id"]) == (
        "Recorded.",
        "We record.",
        "agent_sales",
    )


def test_an_uploaded_opener_keeps_its_audio_when_only_its_agent_changes(carol):
    upload = SimpleUploadedFile("o.wav", wav_file(seconds=1))
    opener = opener_create(actor=carol, jurisdiction="GB", language="en-GB", text="Recorded.", upload=upload)
    AgentFactory(public_id="agent_sales")
    signed_in(carol).post(
        f"/compliance/openers/{opener.pk}/",
        {"jurisdiction": "GB", "agent": "agent_sales", "language": "en-GB", "text": "Recorded."},
    )
    sha = opener.audio_sha256
    opener.refresh_from_db()
    assert (opener.audio_source, opener.audio_sha256, opener.agent.public_id) == (
        "uploaded",
        sha,
        "agent_sales",
    )


def test_a_bad_edit_is_answered_on_the_form_with_what_was_typed(carol):
    opener = opener_create(actor=carol, jurisdiction="GB", language="en-GB", text="Recorded.")
    response = signed_in(carol).post(
        f"/compliance/openers/{opener.pk}/",
        {"jurisdiction": "Atlantis", "language": "en-GB", "text": "Changed."},
    )
    assert response.status_code == 400
    content = response.content.decode()
    assert "“Atlantis” is neither a jurisdiction code nor the name of one" in content
    assert 'value="Atlantis"' in content
    assert "Changed.</textarea>" in content
    opener.refresh_from_db()
    assert opener.text == "Recorded."


@pytest.mark.parametrize("who", ["alice", "bob"])
def test_only_compliance_officers_and_admins_edit_openers(request, carol, who):
    opener = opener_create(actor=carol, jurisdiction="GB", language="en-GB", text="Recorded.")
    client = signed_in(request.getfixturevalue(who))
    assert client.get(f"/compliance/openers/{opener.pk}/").status_code == 403
    assert (
        client.post(f"/compliance/openers/{opener.pk}/", {"language": "en", "text": "x"}).status_code == 403
    )
    opener.refresh_from_db()
    assert opener.text == "Recorded."


@pytest.mark.parametrize(
    ("typed", "code"),
    [("US-CA", "US-CA"), ("us-ca", "US-CA"), ("California", "US-CA"), (" new   york ", "US-NY"),
     ("United Kingdom", "GB"), ("uk", "GB"), ("United States", "US"), ("JP", "JP"), ("", "")],
)  # fmt: skip
def test_the_opener_form_takes_a_jurisdiction_code_or_name(carol, typed, code):
    response = signed_in(carol).post(
        "/compliance/openers/", {"jurisdiction": typed, "language": "en-US", "text": "Recorded."}
    )
    assert response.status_code == 302, response.content.decode()
    assert added_by_the_test().get().jurisdiction == code


def test_a_long_jurisdiction_is_neither_cut_by_the_browser_nor_on_the_server(carol):
    page = signed_in(carol).get("/compliance/openers/").content.decode()
    field = page[page.index('name="jurisdiction"') - 100 : page.index('name="jurisdiction"') + 100]
    assert "maxlength" not in field  # a browser would stop the typing at the limit without a word
    response = signed_in(carol).post(
        "/compliance/openers/",
        {"jurisdiction": "District of Columbia", "language": "en-US", "text": "Recorded."},
    )
    assert added_by_the_test().get().jurisdiction == "US-DC", response.content.decode()
    response = signed_in(carol).post(
        "/compliance/openers/", {"jurisdiction": "x" * 120, "language": "en-US", "text": "Recorded."}
    )
    assert response.status_code == 400
    assert "at most 100 characters" in response.content.decode()
