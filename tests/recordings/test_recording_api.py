"""GET /v1/calls/{id}/recording: who may listen, Range requests, 404s, the audit trail, and the call page's
player partial."""

import hashlib

import pytest
from django.template.loader import render_to_string
from django.test import AsyncClient, Client, RequestFactory
from django.utils import timezone

from calls.models import CallStatus
from compliance.models import AuditEvent
from recordings.api import RangeNotSatisfiable, parse_range
from recordings.models import Recording, RecordingStatus
from telephony.simulator.tasks import simulate_recording
from tests.factories import CallFactory
from tests.helpers import streamed_body
from wordcab_admin.kernel.accounts import api_key_create

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def recorded_call(recording_store, uploads_in_place):
    call = CallFactory(
        status=CallStatus.COMPLETED, record=True, answered_at=timezone.now(), ended_at=timezone.now()
    )
    simulate_recording(call_id=call.pk, talk_seconds=2)
    call.refresh_from_db()
    return call


def url(call) -> str:
    return f"/v1/calls/{call.public_id}/recording"


def body(response) -> bytes:
    return b"".join(response.streaming_content)


def test_an_operator_gets_the_whole_wav_and_the_playback_is_audited(api, alice, recorded_call):
    response = api(alice).get(url(recorded_call))
    assert response.status_code == 200
    assert response["Content-Type"] == "audio/wav"
    assert response["Accept-Ranges"] == "bytes"
    data = body(response)
    assert data[:4] == b"RIFF"
    assert hashlib.sha256(data).hexdigest() == recorded_call.recording.sha256
    assert int(response["Content-Length"]) == len(data) == recorded_call.recording.size_bytes
    event = AuditEvent.objects.get(action="recording.played")
    assert (event.actor, event.object_id) == (alice, recorded_call.public_id)


def test_a_download_is_audited_as_such_and_saved_as_a_file(api, carol, recorded_call):
    response = api(carol).get(url(recorded_call) + "?download=1")
    assert response.status_code == 200
    assert response["Content-Disposition"] == f'attachment; filename="{recorded_call.public_id}.wav"'
    body(response)
    assert AuditEvent.objects.filter(action="recording.downloaded", actor=carol).count() == 1


def test_a_range_request_gets_206_with_those_bytes(api, ada, recorded_call):
    whole = body(api(ada).get(url(recorded_call)))
    response = api(ada).get(url(recorded_call), HTTP_RANGE="bytes=100-199")
    assert response.status_code == 206
    assert response["Content-Range"] == f"bytes 100-199/{len(whole)}"
    assert response["Content-Length"] == "100"
    assert body(response) == whole[100:200]
    suffix = api(ada).get(url(recorded_call), HTTP_RANGE="bytes=-10")
    assert suffix.status_code == 206
    assert body(suffix) == whole[-10:]
    open_ended = api(ada).get(url(recorded_call), HTTP_RANGE=f"bytes={len(whole) - 5}-")
    assert body(open_ended) == whole[-5:]


def test_seeking_within_a_playback_is_not_audited_as_another_playback(api, alice, recorded_call):
    client = api(alice)
    body(client.get(url(recorded_call), HTTP_RANGE="bytes=0-"))
    body(client.get(url(recorded_call), HTTP_RANGE="bytes=5000-"))
    assert AuditEvent.objects.filter(action="recording.played").count() == 1


@pytest.mark.parametrize("header", ["bytes=999999999-", "bytes=50-10", "bytes=abc", "bytes=-0", "bytes=-"])
def test_an_unsatisfiable_range_is_416_with_the_size(api, alice, recorded_call, header):
    response = api(alice).get(url(recorded_call), HTTP_RANGE=header)
    assert response.status_code == 416
    assert response["Content-Range"] == f"bytes */{recorded_call.recording.size_bytes}"


def test_range_parsing_follows_rfc_9110():
    assert parse_range("", 100) is None
    assert parse_range("items=0-5", 100) is None  # another unit: ignored
    assert parse_range("bytes=0-5,10-20", 100) is None  # several ranges: the whole file
    assert parse_range("bytes=0-", 100) == (0, 99)
    assert parse_range("bytes=90-500", 100) == (90, 99)
    assert parse_range("bytes=-500", 100) == (0, 99)
    with pytest.raises(RangeNotSatisfiable):
        parse_range("bytes=100-", 100)


def test_a_viewer_may_not_listen(api, bob, recorded_call):
    response = api(bob).get(url(recorded_call))
    assert response.status_code == 403
    assert response.json()["error"]["code"]
    assert not AuditEvent.objects.filter(action__startswith="recording.").exists()


def test_without_credentials_the_recording_is_401(api, recorded_call):
    assert api().get(url(recorded_call)).status_code == 401


def test_no_recording_unknown_call_and_deleted_recording_are_404(api, alice, recorded_call, recording_store):
    unrecorded = CallFactory()
    assert api(alice).get(url(unrecorded)).status_code == 404
    assert api(alice).get("/v1/calls/call_nope/recording").status_code == 404
    Recording.objects.filter(call=recorded_call).update(
        status=RecordingStatus.DELETED, deleted_at=timezone.now()
    )
    response = api(alice).get(url(recorded_call))
    assert response.status_code == 404
    assert response.json()["error"]["code"]


def test_a_recording_still_uploading_is_404(api, alice, recording_store):
    call = CallFactory(record=True)
    Recording.objects.create(call=call, status=RecordingStatus.PENDING_UPLOAD, local_path="/nowhere.wav")
    assert api(alice).get(url(call)).status_code == 404


def test_the_browser_player_uses_the_session(alice, recorded_call):
    client = Client()
    client.force_login(alice)
    response = client.get(url(recorded_call), HTTP_RANGE="bytes=0-1")
    assert response.status_code == 206
    assert body(response) == b"RI"


def test_the_call_url_of_a_stored_recording_points_at_it(api, alice, recorded_call):
    payload = api(alice).get(f"/v1/calls/{recorded_call.public_id}").json()
    assert payload["recording_url"] == url(recorded_call)


def render_partial(call, user) -> str:
    request = RequestFactory().get("/")
    request.user = user
    from wordcab_admin.kernel.roles import role_context

    return render_to_string("calls/_recording.html", {"call": call, **role_context(request)}, request=request)


def test_the_call_page_shows_player_waveform_download_and_facts(alice, recorded_call):
    html = render_partial(recorded_call, alice)
    recording = recorded_call.recording
    assert f'src="{url(recorded_call)}"' in html
    assert f'href="{url(recorded_call)}?download=1"' in html
    assert html.count("<rect ") == len(recording.peaks) + 1  # one bar per peak, plus the progress overlay
    assert recording.sha256 in html
    assert f"{recording.size_bytes} bytes" in html
    assert "2.0 s" in html
    assert recording.expires_at.strftime("%Y-%m-%d") in html


def test_a_viewer_sees_the_facts_but_no_player(bob, recorded_call):
    html = render_partial(recorded_call, bob)
    assert "<audio" not in html
    assert "may not play recordings" in html
    assert recorded_call.recording.sha256 in html


def test_the_call_page_warns_when_the_opener_was_not_heard_in_full(alice, db):
    call = CallFactory(
        status=CallStatus.COMPLETED,
        consent_opener={"id": 1, "text": "This call is recorded.", "language": "en-US"},
        ended_at=timezone.now(),
    )
    assert "No proof of consent" in render_partial(call, alice)
    call.consent_delivered_at = timezone.now()
    html = render_partial(call, alice)
    assert "No proof of consent" not in html
    assert "played in full" in html


def test_a_recording_streams_through_the_asgi_handler_byte_for_byte(alice, recorded_call):
    """Under ASGI (the product's server) the body is pulled in chunks, not read whole before the first byte."""
    _, key = api_key_create(user=alice, name="player")

    async def play():
        return await AsyncClient().get(url(recorded_call), headers={"Authorization": f"Bearer {key}"})

    data = streamed_body(play)
    assert data[:4] == b"RIFF"
    assert hashlib.sha256(data).hexdigest() == recorded_call.recording.sha256
