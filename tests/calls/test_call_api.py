"""POST /v1/agents/{id}/calls, GET /v1/calls[/{id}[/events]], POST /v1/calls/{id}/hangup."""

import threading
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from agents.models import Provider
from calls.announce import calls_changed
from calls.models import Call, CallStatus, Direction
from calls.services import call_create, idempotency_keys_prune
from campaigns.models import Campaign, CampaignStatus
from tests.factories import AgentFactory, CallFactory, PhoneNumberFactory, UserFactory
from tests.helpers import apply_event
from wordcab_admin.kernel.errors import IdempotencyConflict
from wordcab_admin.kernel.roles import Role

pytestmark = pytest.mark.django_db

CALL_FIELDS = [
    "id", "agent_id", "campaign_id", "direction", "from_number", "phone_number", "status", "end_reason",
    "error", "context", "max_duration", "record", "recording_url", "consent_opener", "consent_delivered_at",
    "jurisdiction", "decision", "created_at", "answered_at", "ended_at", "duration", "analysis",
]  # fmt: skip


@pytest.fixture(autouse=True)
def no_broker(monkeypatch):
    """Placing is enqueued after commit; these tests look at the API, not the worker."""
    placed = []
    monkeypatch.setattr("calls.services.call_place_enqueue", lambda call_id: placed.append(call_id))
    return placed


def url(agent):
    return f"/v1/agents/{agent.public_id}/calls"


def test_creating_a_call_answers_201_with_the_call_object(api, alice, agent):
    body = {"phone_number": "+14155550123", "context": {"customer_name": "Jane Doe"}, "max_duration": 300}
    response = api(alice).post(url(agent), body, format="json")
    assert response.status_code == 201, response.content
    call = response.json()
    assert list(call) == CALL_FIELDS
    assert call["id"].startswith("call_")
    assert (call["agent_id"], call["phone_number"], call["status"]) == (
        "agent_abc",
        "+14155550123",
        "initiating",
    )
    assert (call["direction"], call["max_duration"], call["context"]) == (
        "outbound",
        300,
        {"customer_name": "Jane Doe"},
    )
    assert call["error"] is None
    assert call["recording_url"] is None


def test_placing_is_enqueued_once_the_call_is_committed(
    api, alice, agent, no_broker, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = api(alice).post(url(agent), {"phone_number": "+14155550123"}, format="json")
    assert no_broker == [Call.objects.get(public_id=response.json()["id"]).pk]


def test_max_duration_and_record_default_to_the_agents(api, alice):
    agent = AgentFactory(max_duration=120, record=True)
    call = api(alice).post(url(agent), {"phone_number": "+14155550123"}, format="json").json()
    assert (call["max_duration"], call["record"]) == (120, True)


def test_a_second_create_with_the_same_idempotency_key_returns_the_first_call(api, alice, agent):
    body = {"phone_number": "+14155550123", "idempotency_key": "reminder-55123"}
    client = api(alice)
    first = client.post(url(agent), body, format="json")
    again = client.post(url(agent), body, format="json")
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"]
    assert Call.objects.count() == 1


def test_the_same_key_with_a_different_body_is_a_409_idempotency_conflict(api, alice, agent):
    client = api(alice)
    client.post(url(agent), {"phone_number": "+14155550123", "idempotency_key": "k1"}, format="json")
    response = client.post(
        url(agent), {"phone_number": "+14155550124", "idempotency_key": "k1"}, format="json"
    )
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "idempotency_conflict"
    assert response.json()["error"]["field"] == "idempotency_key"


def test_the_idempotency_key_header_works_like_the_field(api, alice, agent):
    client = api(alice)
    body = {"phone_number": "+14155550123"}
    first = client.post(url(agent), body, format="json", HTTP_IDEMPOTENCY_KEY="hdr-1")
    again = client.post(url(agent), {**body, "idempotency_key": "hdr-1"}, format="json")
    assert (first.status_code, again.status_code) == (201, 200)


def test_idempotency_keys_are_scoped_to_the_key_owner(api, alice, ada, agent):
    body = {"phone_number": "+14155550123", "idempotency_key": "shared"}
    assert api(alice).post(url(agent), body, format="json").status_code == 201
    assert api(ada).post(url(agent), body, format="json").status_code == 201
    assert Call.objects.count() == 2


def test_an_unknown_agent_is_a_404(api, alice):
    response = api(alice).post("/v1/agents/agent_nope/calls", {"phone_number": "+14155550123"}, format="json")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "agent_not_found"


def test_a_disabled_agent_places_no_calls(api, alice):
    agent = AgentFactory(is_active=False)
    response = api(alice).post(url(agent), {"phone_number": "+14155550123"}, format="json")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "agent_disabled"
    assert not Call.objects.exists()


def test_a_viewer_may_not_place_calls(api, bob, agent):
    response = api(bob).post(url(agent), {"phone_number": "+14155550123"}, format="json")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"


def test_the_call_goes_out_from_the_agents_first_number_through_its_provider(api, alice, agent, settings):
    settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN = "AC" + "0" * 32, "token"
    PhoneNumberFactory(number="+14155559999", provider=Provider.TWILIO, agent=agent)
    PhoneNumberFactory(number="+14155559998", provider=Provider.SIMULATOR, agent=agent)
    call = api(alice).post(url(agent), {"phone_number": "+14155550123"}, format="json").json()
    assert call["from_number"] == "+14155559999"
    assert Call.objects.get(public_id=call["id"]).provider == Provider.TWILIO


def test_an_agent_without_numbers_calls_through_the_simulator(api, alice, agent):
    call = api(alice).post(url(agent), {"phone_number": "+14155550123"}, format="json").json()
    assert Call.objects.get(public_id=call["id"]).provider == Provider.SIMULATOR


def test_a_twilio_number_without_twilio_credentials_is_a_422(api, alice, agent, settings):
    settings.TWILIO_ACCOUNT_SID = ""
    PhoneNumberFactory(number="+14155559999", provider=Provider.TWILIO, agent=agent)
    response = api(alice).post(url(agent), {"phone_number": "+14155550123"}, format="json")
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "provider_not_configured"


BAD_BODIES = [
    ({}, "phone_number"),
    ({"phone_number": ""}, "phone_number"),
    ({"phone_number": "555-01"}, "phone_number"),
    ({"phone_number": "call me maybe"}, "phone_number"),
    ({"phone_number": "+10005550123"}, "phone_number"),
    ({"phone_number": 14155550123}, "phone_number"),
    ({"phone_number": None}, "phone_number"),
    ({"phone_number": ["+14155550123"]}, "phone_number"),
    ({"phone_number": "+1415555012345678901"}, "phone_number"),
    ({"context": "plain text"}, "context"),
    ({"context": [1, 2]}, "context"),
    ({"context": None}, "context"),
    ({"context": {"blob": "x" * 17_000}}, "context"),
    ({"context": {"note": "a\x00b"}}, "context"),  # PostgreSQL's jsonb cannot store U+0000
    ({"context": {"k\x00": "v"}}, "context"),
    ({"context": {"list": [{"deep": "\x00"}]}}, "context"),
    ({"max_duration": 0}, "max_duration"),
    ({"max_duration": 14_401}, "max_duration"),
    ({"max_duration": -5}, "max_duration"),
    ({"max_duration": "five"}, "max_duration"),
    ({"max_duration": 12.5}, "max_duration"),
    ({"max_duration": True}, "max_duration"),
    ({"max_duration": None}, "max_duration"),
    ({"max_duration": "9" * 40}, "max_duration"),
    ({"record": "yes"}, "record"),
    ({"record": 1}, "record"),
    ({"record": None}, "record"),
    ({"idempotency_key": ""}, "idempotency_key"),
    ({"idempotency_key": "k" * 256}, "idempotency_key"),
    ({"idempotency_key": 42}, "idempotency_key"),
    ({"idempotency_key": None}, "idempotency_key"),
    ({"phone_numbr": "+14155550123"}, "phone_numbr"),
]


@pytest.mark.parametrize(("patch", "field"), BAD_BODIES)
def test_bad_input_is_a_400_in_the_error_shape_naming_the_field(api, alice, agent, patch, field):
    body = {"phone_number": "+14155550123", **patch} if patch else {}
    response = api(alice).post(url(agent), body, format="json")
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["field"] == field
    assert error["code"]
    assert error["message"]
    assert not Call.objects.exists()


@pytest.mark.parametrize("raw", [b"not json", b"[1, 2]", b'"text"', b"null", b"{"])
def test_a_body_that_is_not_a_json_object_is_a_400(api, alice, agent, raw):
    response = api(alice).generic("POST", url(agent), raw, content_type="application/json")
    assert response.status_code == 400
    assert "error" in response.json()


def test_the_header_and_the_field_must_agree_on_the_key(api, alice, agent):
    response = api(alice).post(
        url(agent),
        {"phone_number": "+14155550123", "idempotency_key": "a"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="b",
    )
    assert response.status_code == 400
    assert response.json()["error"]["field"] == "idempotency_key"


def test_the_service_raises_on_a_reused_key_with_another_body(alice, agent):
    call_create(agent=agent, to_number="+14155550123", idempotency_key="svc", actor=alice)
    with pytest.raises(IdempotencyConflict):
        call_create(agent=agent, to_number="+14155550123", record=True, idempotency_key="svc", actor=alice)


@pytest.fixture
def timeline(monkeypatch) -> list[tuple]:
    """What leaves after commit, in order: announcements (`calls.announce.calls_changed`) and placings."""
    events: list[tuple] = []

    def heard(sender, *, calls, campaign_ids, **_):
        events.append(("announced", [(c["id"], c["status"], c["campaign_id"]) for c in calls], campaign_ids))

    calls_changed.connect(heard, weak=False, dispatch_uid="test.timeline")
    monkeypatch.setattr(
        "calls.services.call_place_enqueue", lambda call_id: events.append(("placed", call_id))
    )
    yield events
    calls_changed.disconnect(dispatch_uid="test.timeline")


def test_a_created_call_is_announced_as_initiating_after_commit_and_before_it_is_placed(
    alice, agent, timeline, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        call, created = call_create(agent=agent, to_number="+14155550123", idempotency_key="k", actor=alice)
        assert timeline == []  # nothing leaves before the commit
    assert created
    for callback in callbacks:
        callback()
    assert timeline == [
        ("announced", [(call.public_id, CallStatus.INITIATING, None)], frozenset()),
        ("placed", call.pk),
    ]
    with django_capture_on_commit_callbacks(execute=True) as again:
        assert call_create(agent=agent, to_number="+14155550123", idempotency_key="k", actor=alice) == (
            call,
            False,
        )
    assert again == []  # the same call again: announced once, placed once


def test_a_call_created_in_a_campaign_is_announced_with_its_campaign(
    alice, agent, timeline, django_capture_on_commit_callbacks
):
    campaign = Campaign.objects.create(name="Renewals", agent=agent, status=CampaignStatus.RUNNING)
    with django_capture_on_commit_callbacks(execute=True):
        call, _ = call_create(agent=agent, to_number="+14155550123", campaign=campaign)
    assert timeline[0] == (
        "announced",
        [(call.public_id, CallStatus.INITIATING, campaign.public_id)],
        frozenset({campaign.pk}),
    )


def test_a_rolled_back_create_announces_and_places_nothing(
    agent, timeline, django_capture_on_commit_callbacks
):
    class Rollback(Exception):
        """Raised to roll the create back."""

    def create_then_fail() -> None:
        with transaction.atomic():
            call_create(agent=agent, to_number="+14155550123")
            raise Rollback

    with django_capture_on_commit_callbacks(execute=True) as callbacks, pytest.raises(Rollback):
        create_then_fail()
    assert (callbacks, timeline, Call.objects.count()) == ([], [], 0)


def test_old_idempotency_keys_are_pruned_and_recent_ones_kept(alice, agent, settings):
    settings.IDEMPOTENCY_KEY_TTL_DAYS = 7
    old, _ = call_create(agent=agent, to_number="+14155550123", idempotency_key="old", actor=alice)
    new, _ = call_create(agent=agent, to_number="+14155550123", idempotency_key="new", actor=alice)
    Call.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=8))
    assert idempotency_keys_prune() == 1
    assert Call.objects.get(pk=old.pk).idempotency_key is None
    assert Call.objects.get(pk=new.pk).idempotency_key == "new"


def test_fifty_concurrent_requests_with_one_key_make_exactly_one_call(
    transactional_db, on_postgres, no_broker
):
    owner = UserFactory(username="racer", role=Role.OPERATOR)
    agent = AgentFactory()
    barrier = threading.Barrier(50)
    results, errors = [], []

    def create():
        try:
            barrier.wait(timeout=10)
            call, created = call_create(
                agent=agent, to_number="+14155550123", idempotency_key="one-key", actor=owner
            )
            results.append((call.pk, created))
        except Exception as exc:  # noqa: BLE001 -- collected and asserted below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=create) for _ in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    assert Call.objects.filter(idempotency_key="one-key").count() == 1
    assert len({pk for pk, _ in results}) == 1
    assert sum(created for _, created in results) == 1


def test_calls_are_listed_newest_first_with_a_cursor(api, bob):
    calls = CallFactory.create_batch(3)
    client = api(bob)
    page = client.get("/v1/calls?limit=2").json()
    assert [c["id"] for c in page["results"]] == [calls[2].public_id, calls[1].public_id]
    rest = client.get(page["next"]).json()
    assert [c["id"] for c in rest["results"]] == [calls[0].public_id]


def test_the_call_list_filters_by_status_agent_direction_and_time(api, bob):
    agent = AgentFactory(public_id="agent_f")
    ringing = CallFactory(agent=agent, status=CallStatus.RINGING)
    done = CallFactory(status=CallStatus.COMPLETED)
    inbound = CallFactory(direction=Direction.INBOUND)
    client = api(bob)

    def ids(query):
        response = client.get(f"/v1/calls?{query}")
        assert response.status_code == 200, response.content
        return {c["id"] for c in response.json()["results"]}

    assert ids("status=ringing") == {ringing.public_id}
    assert ids("status=ringing,completed") == {ringing.public_id, done.public_id}
    assert ids("agent_id=agent_f") == {ringing.public_id}
    assert ids("direction=inbound") == {inbound.public_id}
    assert ids("created_after=2000-01-01T00:00:00Z&created_before=2000-01-02T00:00:00Z") == set()
    assert len(ids("created_after=2000-01-01T00:00:00Z")) == 3
    # Any UTC offset Python accepts works on every database (PostgreSQL's own stop at ±15:59).
    assert len(ids("created_after=2000-01-01T00:00:00-22:38")) == 3
    assert ids("created_before=2000-01-01T00:00:00%2B23:59") == set()


@pytest.mark.parametrize(
    "query",
    [
        "status=ringing_hard",
        "direction=sideways",
        "created_after=yesterday",
        "created_after=0001-01-01T00:00:00%2B05:00",  # before year 1 once in UTC
        "created_before=9999-12-31T23:59:59-05:00",  # after year 9999 once in UTC
        "limit=abc",
    ],
)
def test_bad_filters_are_a_400_not_a_500(api, bob, query):
    response = api(bob).get(f"/v1/calls?{query}")
    assert response.status_code in (200, 400)  # DRF ignores a bad limit; filters are refused
    if "limit" not in query:
        assert response.status_code == 400
        assert response.json()["error"]["field"]


@pytest.mark.parametrize("value", ["%", "%s", "%(x)s", "%%", "ringing,%"])
@pytest.mark.parametrize("field", ["status", "direction"])
def test_a_percent_sign_in_a_choice_filter_is_a_400_naming_the_field(api, bob, field, value):
    response = api(bob).get("/v1/calls", {field: value})
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert (error["code"], error["field"]) == ("invalid_choice", field)
    assert value.removeprefix("ringing,") in error["message"]  # the refused value, quoted as given


def test_the_call_list_does_not_grow_queries_with_rows(api, bob):
    client = api(bob)
    CallFactory.create_batch(3)
    client.get("/v1/calls")  # the first request of a key also records its use
    with CaptureQueriesContext(connection) as few:
        assert client.get("/v1/calls").status_code == 200
    CallFactory.create_batch(40, agent=AgentFactory())
    with CaptureQueriesContext(connection) as many:
        assert client.get("/v1/calls").status_code == 200
    assert len(many) == len(few)


def test_reading_a_call_and_its_timeline(api, bob):
    call = CallFactory()
    apply_event(call=call, status=CallStatus.RINGING, sequence=1, source="twilio")
    apply_event(call=call, status=CallStatus.INITIATING, sequence=0, source="twilio")
    client = api(bob)
    assert client.get(f"/v1/calls/{call.public_id}").json()["status"] == "ringing"
    events = client.get(f"/v1/calls/{call.public_id}/events").json()["results"]
    assert [(e["status"], e["applied"]) for e in events] == [("ringing", True), ("initiating", False)]
    assert "out of order" in events[1]["ignored_reason"]


def test_an_unknown_call_is_a_404_in_the_error_shape(api, bob):
    response = api(bob).get("/v1/calls/call_nope")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "call_not_found"


def test_hanging_up_through_the_api(api, alice):
    call = CallFactory()
    apply_event(call=call, status=CallStatus.IN_PROGRESS, source="test")
    client = api(alice)
    response = client.post(f"/v1/calls/{call.public_id}/hangup")
    assert response.status_code == 200
    assert (response.json()["status"], response.json()["end_reason"]) == ("completed", "hangup")
    again = client.post(f"/v1/calls/{call.public_id}/hangup")
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "invalid_state"


def test_a_viewer_may_not_hang_up(api, bob):
    call = CallFactory()
    assert api(bob).post(f"/v1/calls/{call.public_id}/hangup").status_code == 403


@pytest.mark.parametrize(
    ("phone_number", "jurisdiction"),
    [("+14155550123", "US-CA"), ("+12125550123", "US-NY"), ("+442071234567", "GB")],
)
def test_an_outbound_call_carries_the_callees_jurisdiction(api, alice, agent, phone_number, jurisdiction):
    response = api(alice).post(
        f"/v1/agents/{agent.public_id}/calls", {"phone_number": phone_number}, format="json"
    )
    assert response.status_code == 201
    assert response.json()["jurisdiction"] == jurisdiction
