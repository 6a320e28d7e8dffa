"""/v1/consent-openers: the contract in docs/contract.md (jurisdiction, optional agent_id, language, text)."""

import io
import math
import wave

from compliance.models import AuditEvent, ConsentOpener, OpenerAudioSource
from compliance.openers import opener_create


def wav_bytes(seconds: float) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(8000)
        wav.writeframes(
            b"".join(
                int(9000 * math.sin(2 * math.pi * 300 * i / 8000)).to_bytes(2, "little", signed=True)
                for i in range(int(seconds * 8000))
            )
        )
    out.name = "opener.wav"
    out.seek(0)
    return out


def test_a_compliance_officer_creates_an_opener_spoken_from_its_text(api, carol, agent):
    response = api(carol).post(
        "/v1/consent-openers",
        {
            "jurisdiction": "US-CA",
            "agent_id": agent.public_id,
            "language": "en-US",
            "text": "This call is recorded.",
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["jurisdiction"] == "US-CA"
    assert body["agent_id"] == agent.public_id
    assert body["audio_source"] == "synthesized"
    assert body["duration_seconds"] > 0.5
    assert len(body["audio_sha256"]) == 64
    assert AuditEvent.objects.filter(action="consent_opener.created", actor=carol).exists()


def test_an_opener_can_come_with_its_own_recording(api, carol):
    response = api(carol).post(
        "/v1/consent-openers",
        {"jurisdiction": "GB", "language": "en-GB", "text": "Recorded.", "audio": wav_bytes(2)},
        format="multipart",
    )
    assert response.status_code == 201, response.content
    assert response.json()["audio_source"] == "uploaded"
    assert response.json()["duration_seconds"] == 2.0


def test_bad_input_is_answered_in_the_error_shape(api, carol):
    openers_before = ConsentOpener.objects.count()  # the seeded deployment default
    client = api(carol)
    missing_text = client.post("/v1/consent-openers", {"jurisdiction": "GB"}, format="json")
    assert missing_text.status_code == 400
    assert missing_text.json()["error"]["field"] == "text"
    bad_agent = client.post("/v1/consent-openers", {"text": "Hi.", "agent_id": "agent_nope"}, format="json")
    assert bad_agent.status_code == 400
    assert bad_agent.json()["error"]["field"] == "agent_id"
    bad_jurisdiction = client.post(
        "/v1/consent-openers", {"text": "Hi.", "jurisdiction": "???"}, format="json"
    )
    assert bad_jurisdiction.status_code == 400
    not_audio = io.BytesIO(b"not audio at all")
    not_audio.name = "x.wav"
    bad_audio = client.post("/v1/consent-openers", {"text": "Hi.", "audio": not_audio}, format="multipart")
    assert bad_audio.status_code == 422
    assert bad_audio.json()["error"]["field"] == "audio"
    assert ConsentOpener.objects.count() == openers_before


def test_everyone_reads_openers_but_only_compliance_and_admins_change_them(api, alice, bob, ada):
    opener = opener_create(actor=None, jurisdiction="", language="en-US", text="Recorded.")
    listed = api(bob).get("/v1/consent-openers")
    assert listed.status_code == 200
    assert [o["id"] for o in listed.json()["results"]][0] == opener.pk  # newest first
    assert api(bob).get(f"/v1/consent-openers/{opener.pk}").json()["text"] == "Recorded."
    for user in (alice, bob):
        assert api(user).post("/v1/consent-openers", {"text": "Mine."}, format="json").status_code == 403
        assert api(user).delete(f"/v1/consent-openers/{opener.pk}").status_code == 403
    assert (
        api(ada).patch(f"/v1/consent-openers/{opener.pk}", {"jurisdiction": "us"}, format="json").status_code
        == 200
    )


def test_changing_the_text_speaks_it_again_and_is_audited(api, carol):
    opener = opener_create(actor=None, jurisdiction="", language="en-US", text="Short.")
    before = opener.audio_sha256
    response = api(carol).patch(
        f"/v1/consent-openers/{opener.pk}",
        {"text": "A much longer opener, which takes a lot more time to say."},
        format="json",
    )
    assert response.status_code == 200
    opener.refresh_from_db()
    assert opener.audio_sha256 != before
    assert opener.audio_source == OpenerAudioSource.SYNTHESIZED
    event = AuditEvent.objects.get(action="consent_opener.updated")
    assert (event.before["text"], event.after["text"]) == ("Short.", opener.text)


def test_changing_only_the_jurisdiction_keeps_an_uploaded_recording(api, carol):
    response = api(carol).post(
        "/v1/consent-openers", {"text": "Recorded.", "audio": wav_bytes(1)}, format="multipart"
    )
    opener_id = response.json()["id"]
    sha = response.json()["audio_sha256"]
    patched = api(carol).patch(f"/v1/consent-openers/{opener_id}", {"jurisdiction": "FR"}, format="json")
    assert patched.json()["audio_sha256"] == sha
    assert patched.json()["jurisdiction"] == "FR"


def test_deleting_an_opener_is_204_then_404(api, carol):
    opener = opener_create(actor=None, jurisdiction="", language="en-US", text="Recorded.")
    assert api(carol).delete(f"/v1/consent-openers/{opener.pk}").status_code == 204
    assert api(carol).get(f"/v1/consent-openers/{opener.pk}").status_code == 404
    assert AuditEvent.objects.filter(action="consent_opener.deleted").count() == 1
