"""Status callbacks applied on the long-lived database threads that production uses (HOT_DB_THREADS > 0)."""

import pytest
from django.db import connection

from calls.models import CallEvent, CallStatus
from tests.telephony.test_twilio import post_status, twilio_call
from wordcab_admin.kernel.fastpath.db_threads import db_threads_stop


@pytest.fixture
def hot_threads(transactional_db, twilio_settings):
    twilio_settings.HOT_DB_THREADS = 2
    yield
    db_threads_stop()  # their connections close, so the test database can be dropped


@pytest.mark.usefixtures("hot_threads")
def test_status_callbacks_applied_on_the_database_threads_move_the_call_and_keep_its_timeline(
    client,
):
    call = twilio_call(provider_call_id="CA" + "1" * 32)
    for sequence, status in enumerate(["initiated", "ringing", "in-progress", "completed"]):
        params = {"CallSid": call.provider_call_id, "CallStatus": status, "SequenceNumber": str(sequence)}
        assert post_status(client, params, call=call).status_code == 204
    call.refresh_from_db()
    assert call.status == CallStatus.COMPLETED
    applied = CallEvent.objects.filter(call=call, applied=True).values_list("provider_status", flat=True)
    assert list(applied) == ["ringing", "in-progress", "completed"]  # "initiated": it already was
    assert CallEvent.objects.filter(call=call).count() == 4


@pytest.mark.usefixtures("hot_threads")
def test_a_bad_event_on_the_database_threads_answers_in_the_error_shape_and_the_next_one_still_lands(
    client,
):
    call = twilio_call(provider_call_id="CA" + "2" * 32)
    unknown = post_status(client, {"CallSid": "CA" + "9" * 32, "CallStatus": "ringing"})
    assert unknown.status_code == 404
    assert unknown.json()["error"]["code"] == "call_not_found"
    ringing = post_status(client, {"CallSid": call.provider_call_id, "CallStatus": "ringing"}, call=call)
    assert ringing.status_code == 204
    call.refresh_from_db()
    assert call.status == CallStatus.RINGING
    assert connection.vendor in {"sqlite", "postgresql"}
