"""WS /v1/media/twilio: Twilio's Media Streams protocol with real μ-law frames, the consent opener and its
mark proof, the recording, and that bad input stays harmless."""

import base64
import hashlib
import json
import logging
import math
import secrets
import wave

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator

from calls.lifecycle import EventIn, EventSource, call_events_apply
from calls.models import Call, CallStatus
from calls.services import call_place
from compliance.models import ConsentOpener
from compliance.openers import CONSENT_MARK, opener_create
from recordings.models import Recording, RecordingStatus
from recordings.services import recordings_storage
from telephony.twilio.inbound import inbound_call_route
from telephony.twilio.signature import twilio_sign
from tests.factories import AgentFactory, PhoneNumberFactory
from tests.shared_fixtures import TWILIO_ACCOUNT
from tests.telephony.fake_media_stream import FakeMediaStream, media_call, run, stored_recording
from tests.telephony.fake_twilio import FakeTwilio as FakeTwilioApi
from tests.telephony.streams import stream_parameters, twiml_parameters
from wordcab_admin.asgi import application
from wordcab_admin.kernel.audio import FRAME_BYTES, tone_ulaw, ulaw_frames, ulaw_to_pcm16
from wordcab_admin.kernel.public_url import public_url

pytestmark = pytest.mark.django_db(transaction=True)

try:
    import audioop
except ImportError:  # Python 3.13+
    import audioop_lts as audioop


def signed_headers(path: str) -> list[tuple[bytes, bytes]]:
    return [(b"x-twilio-signature", twilio_sign(public_url(path, scheme="ws"), {}).encode())]


def start_message(parameters: dict, *, stream_sid: str = "MZ0001") -> dict:
    """Twilio's `start`, carrying back the custom parameters of the TwiML we handed it."""
    return {
        "event": "start",
        "sequenceNumber": "1",
        "streamSid": stream_sid,
        "start": {
            "accountSid": "AC123",
            "streamSid": stream_sid,
            "callSid": "CA123",
            "tracks": ["inbound"],
            "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1},
            "customParameters": parameters,
        },
    }


class FakeTwilio(FakeMediaStream):
    """Twilio's side of a bidirectional stream (fake_media_stream.py): our media/mark/clear collected, each
    mark echoed once the audio queued before it has played by the caller's clock."""

    def __init__(self, agent_id: str, *, signed: bool = True):
        path = f"/v1/media/twilio?agent_id={agent_id}"
        super().__init__(path, headers=signed_headers(path) if signed else [])
        self.stream_sid = ""

    async def start(self, call: Call, stream_sid: str = "MZ0001", *, parameters: dict | None = None) -> None:
        """Start the stream of `call` with `parameters`, by default those of the TwiML the product renders
        for it now (as if Twilio had just been handed it)."""
        if parameters is None:
            parameters = await sync_to_async(stream_parameters)(call)
        self.stream_sid = stream_sid
        await self.send({"event": "connected", "protocol": "Call", "version": "1.0.0"})
        await self.send(start_message(parameters, stream_sid=stream_sid))

    def media_message(self, frame: bytes, track: str) -> dict:
        """With Twilio's chunk and timestamp."""
        return {
            "event": "media",
            "streamSid": self.stream_sid,
            "media": {
                "track": track,
                "chunk": str(self.chunk),
                "timestamp": str((self.chunk - 1) * 20),
                "payload": base64.b64encode(frame).decode(),
            },
        }

    def mark_echo_message(self, name: str) -> dict:
        return {"event": "mark", "streamSid": self.stream_sid, "mark": {"name": name}}

    def stop_message(self) -> dict:
        return {
            "event": "stop",
            "streamSid": self.stream_sid,
            "stop": {"accountSid": "AC123", "callSid": "CA123"},
        }


@pytest.fixture
def streaming(twilio_token, recording_store, uploads_in_place):
    """Everything a stream needs: Twilio's token, a private recording store, uploads run in place."""


def a_call(**fields) -> Call:
    return media_call(
        provider="twilio",
        agent_id="agent_media",
        agent_name="Media bot",
        default_status=CallStatus.RINGING,
        **fields,
    )


def test_an_upgrade_without_a_valid_twilio_signature_is_refused(streaming):
    call = a_call()

    async def scenario():
        unsigned = FakeTwilio(call.agent.public_id, signed=False)
        connected, _ = await unsigned.connect()
        forged = WebsocketCommunicator(
            application,
            f"/v1/media/twilio?agent_id={call.agent.public_id}",
            headers=signed_headers("/v1/media/twilio?agent_id=agent_other"),  # signed for another URL
        )
        forged_connected, _ = await forged.connect(timeout=5)
        return connected, forged_connected

    assert run(scenario()) == (False, False)


def test_the_stream_plays_the_opener_then_its_mark_and_the_echo_proves_delivery(streaming, opener):
    call = a_call()

    async def scenario():
        twilio = FakeTwilio(call.agent.public_id)
        assert (await twilio.connect())[0]
        await twilio.start(call)
        await twilio.until_mark(CONSENT_MARK)
        opener_played = twilio.media_audio()
        status_while_streaming = (await Call.objects.aget(pk=call.pk)).status
        delivered_before_echo = (await Call.objects.aget(pk=call.pk)).consent_delivered_at
        echoed_at_frame = await twilio.talk_until_echoed(CONSENT_MARK)
        await twilio.talk_until_echoed("greeting")
        await twilio.stop()
        return opener_played, status_while_streaming, delivered_before_echo, echoed_at_frame, twilio.outbound

    opener_played, status_while_streaming, delivered_before_echo, echoed_at_frame, outbound = run(scenario())
    # The opener's audio, frame-padded, is exactly what was sent before the mark, in 160-byte frames.
    expected = b"".join(ulaw_frames(bytes(opener.audio)))
    assert opener_played == expected
    assert echoed_at_frame == len(expected) // FRAME_BYTES
    media = [m for m in outbound if m["event"] == "media"]
    assert all(len(base64.b64decode(m["media"]["payload"])) == FRAME_BYTES for m in media)
    assert all(m["streamSid"] == "MZ0001" for m in outbound)
    assert status_while_streaming == CallStatus.IN_PROGRESS
    assert delivered_before_echo is None
    call.refresh_from_db()
    assert call.consent_delivered_at is not None
    assert call.consent_opener["id"] == opener.pk
    assert call.consent_opener["text"] == opener.text
    assert call.status == CallStatus.COMPLETED
    assert call.stream_started_at is not None
    assert call.stream_token_hash == ""  # the token was consumed


def test_a_call_that_ends_before_the_mark_echo_has_no_proof_of_consent(streaming, opener):
    call = a_call()

    async def scenario():
        twilio = FakeTwilio(call.agent.public_id)
        await twilio.connect()
        await twilio.start(call)
        await twilio.until_mark(CONSENT_MARK)
        await twilio.speak(b"\xff" * 4000)  # half a second in, the caller hangs up
        assert CONSENT_MARK not in twilio.echoed_marks
        await twilio.stop()

    run(scenario())
    call.refresh_from_db()
    assert call.consent_opener is not None
    assert call.consent_delivered_at is None
    assert call.status == CallStatus.COMPLETED


def test_a_mark_echo_with_another_name_is_no_proof_of_consent(streaming, opener):
    call = a_call()

    async def scenario():
        twilio = FakeTwilio(call.agent.public_id)
        await twilio.connect()
        await twilio.start(call)
        await twilio.until_mark(CONSENT_MARK)
        await twilio.echo_mark("greeting")
        await twilio.echo_mark("consent_opener_2")
        await twilio.stop()

    run(scenario())
    call.refresh_from_db()
    assert call.consent_delivered_at is None


def test_a_recorded_stream_becomes_an_8khz_stereo_wav_as_long_as_the_talk(streaming, opener):
    call = a_call(record=True)
    talk_seconds = 12
    caller = tone_ulaw(frequency=440, seconds=talk_seconds)

    async def scenario():
        twilio = FakeTwilio(call.agent.public_id)
        await twilio.connect()
        await twilio.start(call)
        await twilio.until_mark("greeting")
        await twilio.speak(caller)
        await twilio.pump(wait=0.2)
        await twilio.stop()
        return twilio

    twilio = run(scenario())
    assert twilio.echoed_marks == [CONSENT_MARK, "greeting"]
    # After the greeting the demo runtime echoes: the caller's own frames come back.
    agent_audio = twilio.media_audio()
    assert agent_audio.endswith(caller[-FRAME_BYTES * 20 :])
    recording, data, frames, pcm = stored_recording(call)
    assert abs(frames - talk_seconds * 8000) <= 0.02 * talk_seconds * 8000
    left, right = audioop.tomono(pcm, 2, 1, 0), audioop.tomono(pcm, 2, 0, 1)
    # Left is the caller: the 440 Hz tone throughout. Right is the agent: the opener first, in time.
    assert audioop.rms(left[: 2 * 8000], 2) > 5000
    opener_pcm = ulaw_to_pcm16(bytes(opener.audio))
    assert right[: len(opener_pcm)] == opener_pcm
    assert audioop.rms(right[-2 * 8000 :], 2) > 5000  # the echo at the end
    assert recording.size_bytes == len(data)
    assert recording.sha256 == hashlib.sha256(data).hexdigest()
    assert recording.duration_seconds == pytest.approx(frames / 8000, abs=0.001)
    assert len(recording.peaks) > 50


def test_frames_lost_by_the_carrier_are_kept_as_silence_in_time(streaming, settings):
    settings.AGENT_RUNTIME = "telephony.runtime.AgentRuntime"  # the base runtime: a silent agent
    call = a_call(record=True)

    async def scenario():
        twilio = FakeTwilio(call.agent.public_id)
        await twilio.connect()
        await twilio.start(call)
        tone = tone_ulaw(frequency=300, seconds=1)
        await twilio.speak(tone)  # 0–1 s
        twilio.chunk += 25  # half a second never arrives
        await twilio.speak(tone)  # 1.5–2.5 s
        await twilio.stop()

    run(scenario())
    recording = Recording.objects.get(call=call)
    with recordings_storage().open(recording.storage_key, "rb") as stored, wave.open(stored, "rb") as wav:
        assert wav.getnframes() == int(2.5 * 8000)
        pcm = wav.readframes(wav.getnframes())
    left = audioop.tomono(pcm, 2, 1, 0)
    gap = left[2 * 8200 : 2 * 11800]
    assert audioop.max(gap, 2) == 0


def test_malformed_and_unknown_messages_are_ignored_and_the_stream_goes_on(streaming):
    call = a_call(record=True)

    async def scenario():
        twilio = FakeTwilio(call.agent.public_id)
        await twilio.connect()
        await twilio.send({"event": "media", "media": {"payload": "AAAA"}})  # before start
        await twilio.start(call)
        await twilio.ws.send_to(text_data="{not json")
        await twilio.ws.send_to(text_data="[1, 2, 3]")
        await twilio.ws.send_to(bytes_data=b"\x00\x01")
        await twilio.send({"event": "teleport", "streamSid": "MZ0001"})
        await twilio.send({"event": "media", "streamSid": "MZ0001", "media": {"payload": "%%%not-base64"}})
        await twilio.send({"event": "media", "streamSid": "MZ0001", "media": "oops"})
        await twilio.send({"event": "mark", "streamSid": "MZ0001", "mark": {}})
        await twilio.send({"event": "dtmf", "streamSid": "MZ0001"})
        await twilio.send({"event": "start", "start": {}})  # a second start
        await twilio.speak(tone_ulaw(frequency=500, seconds=1))
        await twilio.stop()

    run(scenario())
    call.refresh_from_db()
    assert call.status == CallStatus.COMPLETED
    recording = Recording.objects.get(call=call)
    assert recording.status == RecordingStatus.STORED
    assert recording.duration_seconds >= 1.0


def test_one_broken_stream_does_not_disturb_another(streaming, opener):
    good_call = a_call()
    bad_call = a_call(agent=good_call.agent)

    async def scenario():
        good, bad = FakeTwilio(good_call.agent.public_id), FakeTwilio(bad_call.agent.public_id)
        await good.connect()
        await bad.connect()
        await good.start(good_call, stream_sid="MZgood")
        await bad.start(bad_call, stream_sid="MZbad")
        for junk in ["{", "null", '{"event": "media", "media": {"payload": 7}}', '{"event": 42}']:
            await bad.ws.send_to(text_data=junk)
        await bad.ws.disconnect()  # and the bad one drops without a stop
        await good.until_mark(CONSENT_MARK)
        await good.talk_until_echoed("greeting")
        await good.stop()

    run(scenario())
    good_call.refresh_from_db()
    bad_call.refresh_from_db()
    assert good_call.status == CallStatus.COMPLETED
    assert good_call.consent_delivered_at is not None
    assert bad_call.status == CallStatus.IN_PROGRESS  # Twilio's status callback will end it


def test_a_stream_for_a_call_of_another_agent_is_refused_and_writes_nothing(streaming, opener, refusals):
    call = a_call()
    other = AgentFactory(public_id="agent_other")
    parameters = stream_parameters(call)  # even with the call's own valid token
    token_hash = Call.objects.get(pk=call.pk).stream_token_hash

    outputs = run(attempt_stream(other.public_id, parameters))
    assert outputs == ["close"]
    assert_untouched(call, status=CallStatus.RINGING)
    assert Call.objects.get(pk=call.pk).stream_token_hash == token_hash  # not consumed by the refusal
    assert "belongs to another agent" in refusals.text


def test_a_key_press_clears_the_queue_and_the_demo_agent_answers(streaming):
    call = a_call()

    async def scenario():
        twilio = FakeTwilio(call.agent.public_id)
        await twilio.connect()
        await twilio.start(call)
        await twilio.until_mark("greeting")
        await twilio.send(
            {"event": "dtmf", "streamSid": "MZ0001", "dtmf": {"track": "inbound_track", "digit": "5"}}
        )
        await twilio.until(lambda m: m["event"] == "clear")
        spoken = len(twilio.media_audio())
        await twilio.until_mark("greeting")
        await twilio.stop()
        return len(twilio.media_audio()) - spoken

    assert run(scenario()) > 8000 * 0.5  # "You pressed 5." spoken after the clear


def test_a_call_without_any_opener_gets_no_consent_mark(streaming):
    ConsentOpener.objects.all().delete()  # the seeded deployment default too: someone deleted every opener
    call = a_call()

    async def scenario():
        twilio = FakeTwilio(call.agent.public_id)
        await twilio.connect()
        await twilio.start(call)
        await twilio.until_mark("greeting")
        await twilio.stop()
        return twilio.outbound

    outbound = run(scenario())
    assert not [m for m in outbound if m["event"] == "mark" and m["mark"]["name"] == CONSENT_MARK]
    call.refresh_from_db()
    assert call.consent_opener is None


def test_the_opener_already_snapshotted_on_the_call_is_the_one_played(streaming, opener):
    other = opener_create(actor=None, jurisdiction="", language="en-US", text="A different default opener.")
    call = a_call(
        consent_opener={
            "id": other.pk,
            "text": other.text,
            "language": "en-US",
            "audio_sha256": other.audio_sha256,
        }
    )

    async def scenario():
        twilio = FakeTwilio(call.agent.public_id)
        await twilio.connect()
        await twilio.start(call)
        await twilio.until_mark(CONSENT_MARK)
        played = twilio.media_audio()
        await twilio.stop()
        return played

    played = run(scenario())
    assert played == b"".join(ulaw_frames(bytes(other.audio)))
    call.refresh_from_db()
    assert call.consent_opener["id"] == other.pk


def test_the_tone_helper_makes_real_mulaw_audio():
    ulaw = tone_ulaw(frequency=1000, seconds=0.02)
    pcm = ulaw_to_pcm16(ulaw)
    assert len(ulaw) == FRAME_BYTES
    # a 1 kHz tone has 8 samples per period at 8 kHz: sample 2 is the peak
    assert pcm[4:6] != b"\x00\x00"
    assert abs(int.from_bytes(pcm[4:6], "little", signed=True)) == pytest.approx(
        0.4 * 32767 * math.sin(math.pi / 2), rel=0.05
    )


def test_a_spool_that_cannot_be_written_marks_the_recording_failed_but_streams_on(
    streaming, settings, tmp_path
):
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where the spool directory should be")
    settings.RECORDINGS_SPOOL_DIR = blocker / "spool"
    call = a_call(record=True)

    async def scenario():
        twilio = FakeTwilio(call.agent.public_id)
        await twilio.connect()
        await twilio.start(call)
        await twilio.until_mark("greeting")
        await twilio.speak(tone_ulaw(frequency=440, seconds=0.2))
        await twilio.stop()

    run(scenario())
    call.refresh_from_db()
    assert call.status == CallStatus.COMPLETED
    recording = Recording.objects.get(call=call)
    assert recording.status == RecordingStatus.FAILED
    assert "Not a directory" in recording.failure_reason


# --- Who may open a stream: an active call of the URL's agent, once, with the token of the latest TwiML ------


async def attempt_stream(agent_id: str, parameters: dict, *, stream_sid: str = "MZattempt") -> list[str]:
    """A stream opened with a valid signature for `agent_id`'s URL (it never changes, so anybody who
    captured it has one) and started with `parameters`. Returns what we answered ("close" once we closed
    it), then echoes the consent mark anyway, as a forger would, and hangs up."""
    twilio = FakeTwilio(agent_id)
    connected, _ = await twilio.connect()
    assert connected  # the signature is valid: a stream is judged at its `start`
    twilio.stream_sid = stream_sid
    await twilio.send({"event": "connected", "protocol": "Call", "version": "1.0.0"})
    await twilio.send(start_message(parameters, stream_sid=stream_sid))
    answered = []
    while not await twilio.ws.receive_nothing(timeout=1):
        output = await twilio.ws.receive_output(timeout=5)
        if output["type"] == "websocket.close":
            answered.append("close")
            break
        answered.append(json.loads(output["text"])["event"])
    await twilio.echo_mark(CONSENT_MARK)
    await twilio.ws.receive_nothing(timeout=0.2)
    await twilio.ws.disconnect()
    return answered


def assert_untouched(call: Call, *, status: str) -> None:
    """Nothing a stream writes was written to `call`."""
    stored = Call.objects.get(pk=call.pk)
    assert stored.status == status
    assert stored.consent_opener is None
    assert stored.consent_delivered_at is None
    assert stored.stream_started_at is None
    assert not stored.events.filter(source="media_stream").exists()
    assert not Recording.objects.filter(call=call).exists()


async def stream_through(call: Call, parameters: dict) -> list[str]:
    """A whole stream as Twilio runs it: start, the opener played and its mark echoed, stop."""
    twilio = FakeTwilio(call.agent.public_id)
    assert (await twilio.connect())[0]
    await twilio.start(call, "MZreal", parameters=parameters)
    await twilio.until_mark(CONSENT_MARK)
    await twilio.talk_until_echoed(CONSENT_MARK)
    await twilio.stop()
    return twilio.echoed_marks


def assert_streamed_with_proof(call: Call) -> None:
    stored = Call.objects.get(pk=call.pk)
    assert stored.status == CallStatus.COMPLETED
    assert stored.consent_opener is not None
    assert stored.consent_delivered_at is not None
    assert stored.stream_started_at is not None


@pytest.fixture
def refusals(caplog):
    with caplog.at_level(logging.WARNING, logger="telephony.twilio.media"):
        yield caplog


@pytest.mark.parametrize("token", ["issued", "absent"])
def test_a_replayed_signature_naming_an_ended_call_is_refused_and_writes_nothing(
    streaming, opener, refusals, token
):
    call = a_call(record=True)
    parameters = stream_parameters(call)  # the TwiML handed to Twilio; then nobody answered
    call_events_apply([EventIn(call_id=call.pk, status=CallStatus.NO_ANSWER, source=EventSource.TWILIO)])
    if token == "absent":
        del parameters["stream_token"]

    assert run(attempt_stream(call.agent.public_id, parameters)) == ["close"]
    assert_untouched(call, status=CallStatus.NO_ANSWER)
    assert "the call has ended (no_answer)" in refusals.text
    assert parameters.get("stream_token", "!") not in refusals.text  # a token is never logged


def test_a_replay_of_a_finished_streams_start_is_refused_and_changes_nothing(streaming, opener, refusals):
    call = a_call()
    parameters = stream_parameters(call)
    run(stream_through(call, parameters))
    call.refresh_from_db()
    evidence = (call.consent_opener, call.consent_delivered_at, call.stream_started_at, call.updated_at)

    assert run(attempt_stream(call.agent.public_id, parameters, stream_sid="MZreplay")) == ["close"]
    call.refresh_from_db()
    assert (
        call.consent_opener,
        call.consent_delivered_at,
        call.stream_started_at,
        call.updated_at,
    ) == evidence
    assert not call.events.filter(payload__stream_sid="MZreplay").exists()
    assert "the call has ended (completed)" in refusals.text


def test_a_second_stream_with_the_same_token_is_refused(streaming, opener, refusals):
    call = a_call()
    parameters = stream_parameters(call)

    async def scenario():
        first = FakeTwilio(call.agent.public_id)
        assert (await first.connect())[0]
        await first.start(call, "MZfirst", parameters=parameters)
        await first.until_mark(CONSENT_MARK)
        second = await attempt_stream(call.agent.public_id, parameters, stream_sid="MZsecond")
        await first.talk_until_echoed(CONSENT_MARK)
        await first.stop()
        return second

    assert run(scenario()) == ["close"]
    assert_streamed_with_proof(call)
    starts = call.events.filter(provider_status="stream-start")
    assert [event.payload["stream_sid"] for event in starts] == ["MZfirst"]
    assert "the call already has a stream" in refusals.text


@pytest.mark.parametrize("presented", ["absent", "empty", "wrong", "another call's", "not a string"])
def test_a_stream_without_a_token_or_with_a_wrong_one_is_refused(streaming, opener, refusals, presented):
    call = a_call()
    parameters = stream_parameters(call)
    forged = dict(parameters)
    if presented == "absent":
        del forged["stream_token"]
    elif presented == "empty":
        forged["stream_token"] = ""
    elif presented == "wrong":
        forged["stream_token"] = secrets.token_urlsafe(32)
    elif presented == "another call's":
        forged["stream_token"] = stream_parameters(a_call(agent=call.agent))["stream_token"]
    else:
        forged["stream_token"] = [parameters["stream_token"]]

    assert run(attempt_stream(call.agent.public_id, forged)) == ["close"]
    assert_untouched(call, status=CallStatus.RINGING)
    assert "stream token" in refusals.text
    # A bad guess does not burn the call's token: Twilio's own stream still starts.
    assert run(stream_through(call, parameters)) == [CONSENT_MARK]
    assert_streamed_with_proof(call)


def test_after_a_resent_twiml_only_the_latest_token_opens_the_stream(streaming, opener):
    call = a_call()
    earlier = stream_parameters(call)  # our answer to a webhook that Twilio then retried
    latest = stream_parameters(call)
    assert earlier["stream_token"] != latest["stream_token"]

    assert run(attempt_stream(call.agent.public_id, earlier)) == ["close"]
    assert_untouched(call, status=CallStatus.RINGING)
    run(stream_through(call, latest))
    assert_streamed_with_proof(call)


def test_a_mark_echo_after_the_call_ended_is_no_proof_of_consent(streaming, opener):
    call = a_call()

    async def scenario():
        twilio = FakeTwilio(call.agent.public_id)
        await twilio.connect()
        await twilio.start(call)
        await twilio.until_mark(CONSENT_MARK)
        # Twilio's `completed` callback is applied before the opener's mark comes back.
        await sync_to_async(call_events_apply)(
            [EventIn(call_id=call.pk, status=CallStatus.COMPLETED, source=EventSource.TWILIO)]
        )
        await twilio.talk_until_echoed(CONSENT_MARK)
        await twilio.stop()

    run(scenario())
    call.refresh_from_db()
    assert call.status == CallStatus.COMPLETED
    assert call.consent_opener is not None  # snapshotted while the call was in progress
    assert call.consent_delivered_at is None


def test_an_inbound_call_streams_with_the_token_of_its_voice_webhook_answer(streaming):
    # Inbound calls stay `initiating` until their stream starts: no status callback moves them first.
    opener_create(actor=None, jurisdiction="", language="en-US", text="This call is recorded.")
    agent = AgentFactory(public_id="agent_media")
    PhoneNumberFactory(number="+14155550111", agent=agent, provider="twilio")
    answer = inbound_call_route(
        call_sid="CA" + "e" * 32, to_number="+14155550111", from_number="+12125550100"
    )
    call = Call.objects.select_related("agent").get(provider_call_id="CA" + "e" * 32)
    assert call.status == CallStatus.INITIATING

    run(stream_through(call, twiml_parameters(answer)))
    assert_streamed_with_proof(call)


def test_an_outbound_call_streams_with_the_token_of_the_twiml_sent_to_calls_create(
    streaming, opener, settings
):
    # The stream may connect before Twilio's `ringing` callback is applied: the call is still `initiating`.
    api = FakeTwilioApi().start()
    settings.TWILIO_ACCOUNT_SID, settings.TWILIO_API_BASE_URL = TWILIO_ACCOUNT, api.base_url
    try:
        call = a_call(status=CallStatus.INITIATING, from_number="+14155559999")
        call_place(call_id=call.pk)
        (create,) = api.creates()
    finally:
        api.stop()
    parameters = twiml_parameters(create["form"]["Twiml"][0])
    assert parameters["call_id"] == call.public_id
    assert Call.objects.get(pk=call.pk).status == CallStatus.INITIATING

    run(stream_through(call, parameters))
    assert_streamed_with_proof(call)
