"""`GET /v1/audit-events`: every audited action is in it with the id of the request that did it; its
filters, its cursor pages, and who may read it (compliance officers and admins).

The request id (wordcab_admin/kernel/request_id.py): a sane incoming `X-Request-ID` is kept, anything else
is replaced by a new one; every answer carries it and every audit event written while serving it."""

import re
from collections.abc import Callable
from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync
from django.db import connection
from django.test import AsyncClient, Client
from django.utils import timezone

from calls.models import CallStatus
from compliance.models import AuditEvent
from telephony.simulator.tasks import simulate_recording
from tests.factories import CallFactory, PhoneNumberFactory
from wordcab_admin.celery import app as celery_app
from wordcab_admin.kernel.accounts import api_key_create
from wordcab_admin.kernel.audit import audit_record

pytestmark = pytest.mark.django_db

EVENT_FIELDS = [
    "id", "created_at", "actor", "action", "object_type", "object_id", "before", "after", "request_id",
]  # fmt: skip
GENERATED_ID = re.compile(r"[0-9a-f]{32}")


def sent(request_id: str) -> dict:
    return {"HTTP_X_REQUEST_ID": request_id}


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def audit_log(api, carol) -> Callable[..., list[dict]]:
    """`audit_log(action=…)`: the events a compliance officer reads, newest first."""

    def read(**filters) -> list[dict]:
        response = api(carol).get("/v1/audit-events", filters)
        assert response.status_code == 200, response.content
        return response.json()["results"]

    return read


@pytest.fixture
def cast(ada, alice, bob, carol) -> dict:
    return {"ada": ada, "alice": alice, "bob": bob, "carol": carol}


# --- every audited action, with its request id --------------------------------------------------------------
# Each scenario does one thing the way a person or their key does it, sending `request_id`, and answers
# (the response, the action, the object id, who did it) that the log must then show.


def number_added(api, cast, agent, request_id):
    response = api(cast["alice"]).post(
        "/v1/numbers", {"number": "+14155550199"}, format="json", **sent(request_id)
    )
    return response, "number.added", response.json()["id"], "alice"


def number_assigned(api, cast, agent, request_id):
    number = PhoneNumberFactory(number="+14155550198")
    body = {"phone_numbers": ["+14155550198"]}
    response = api(cast["alice"]).patch(
        f"/v1/agents/{agent.public_id}", body, format="json", **sent(request_id)
    )
    return response, "number.assigned", number.public_id, "alice"


def number_released(api, cast, agent, request_id):
    number = PhoneNumberFactory(number="+14155550197")
    response = api(cast["alice"]).delete(f"/v1/numbers/{number.public_id}", **sent(request_id))
    return response, "number.released", number.public_id, "alice"


def opener_created(api, cast, agent, request_id):
    body = {"jurisdiction": "US-CA", "language": "en-US", "text": "This call is recorded."}
    response = api(cast["carol"]).post("/v1/consent-openers", body, format="json", **sent(request_id))
    return response, "consent_opener.created", str(response.json()["id"]), "carol"


def user_created(api, cast, agent, request_id):
    body = {"username": "erin", "role": "operator"}
    response = signed_in(cast["ada"]).post("/settings/users/create", body, **sent(request_id))
    return response, "user.created", "erin", "ada"


def role_changed(api, cast, agent, request_id):
    url = f"/settings/users/{cast['bob'].pk}/role"
    response = signed_in(cast["ada"]).post(url, {"role": "compliance"}, **sent(request_id))
    return response, "user.role_changed", "bob", "ada"


def api_key_created_by_api(api, cast, agent, request_id):
    response = api(cast["bob"]).post("/v1/api-keys", {"name": "ci"}, format="json", **sent(request_id))
    return response, "api_key.created", str(response.json()["id"]), "bob"


def api_key_revoked_by_api(api, cast, agent, request_id):
    key, _ = api_key_create(user=cast["bob"], name="old")
    response = api(cast["bob"]).delete(f"/v1/api-keys/{key.pk}", **sent(request_id))
    return response, "api_key.revoked", str(key.pk), "bob"


def api_key_created_on_the_page(api, cast, agent, request_id):
    response = signed_in(cast["bob"]).post(
        "/settings/api-keys/create", {"name": "laptop"}, **sent(request_id)
    )
    return response, "api_key.created", str(cast["bob"].api_keys.get(name="laptop").pk), "bob"


def api_key_revoked_on_the_page(api, cast, agent, request_id):
    key, _ = api_key_create(user=cast["bob"], name="old")
    response = signed_in(cast["bob"]).post(
        f"/settings/api-keys/{key.pk}/revoke", {"confirmed": "yes"}, **sent(request_id)
    )
    return response, "api_key.revoked", str(key.pk), "bob"


def call_placed_by_api(api, cast, agent, request_id):
    body = {"phone_number": "+14155550123", "idempotency_key": "placed-once"}
    client = api(cast["alice"])
    response = client.post(f"/v1/agents/{agent.public_id}/calls", body, format="json", **sent(request_id))
    again = client.post(f"/v1/agents/{agent.public_id}/calls", body, format="json")  # the same call
    assert again.status_code == 200
    return response, "call.placed", response.json()["id"], "alice"


def call_placed_on_the_page(api, cast, agent, request_id):
    body = {"phone_number": "+14155550123"}
    response = signed_in(cast["alice"]).post(f"/calls/place/{agent.public_id}", body, **sent(request_id))
    return response, "call.placed", response["Location"].split("/")[2], "alice"


def call_hung_up_by_api(api, cast, agent, request_id):
    call = CallFactory(agent=agent, status=CallStatus.IN_PROGRESS)
    response = api(cast["alice"]).post(f"/v1/calls/{call.public_id}/hangup", **sent(request_id))
    return response, "call.hung_up", call.public_id, "alice"


def call_hung_up_on_the_page(api, cast, agent, request_id):
    call = CallFactory(agent=agent, status=CallStatus.RINGING)
    response = signed_in(cast["alice"]).post(f"/calls/{call.public_id}/hangup", **sent(request_id))
    return response, "call.hung_up", call.public_id, "alice"


@pytest.mark.parametrize(
    "scenario",
    [
        number_added, number_assigned, number_released, opener_created, user_created, role_changed,
        api_key_created_by_api, api_key_revoked_by_api, api_key_created_on_the_page,
        api_key_revoked_on_the_page, call_placed_by_api, call_placed_on_the_page, call_hung_up_by_api,
        call_hung_up_on_the_page,
    ],
    ids=lambda scenario: scenario.__name__,
)  # fmt: skip
def test_every_audited_action_is_in_the_log_with_its_request_id(api, cast, agent, audit_log, scenario):
    request_id = f"req-{scenario.__name__}"
    response, action, object_id, actor = scenario(api, cast, agent, request_id)
    assert response.status_code < 400, response.content
    assert response["X-Request-ID"] == request_id
    events = audit_log(request_id=request_id)
    assert (action, object_id, actor) in [(e["action"], e["object_id"], e["actor"]) for e in events]
    assert {e["request_id"] for e in events} == {request_id}
    assert len(audit_log(action=action, object_id=object_id)) == 1  # once, whatever else it did


def test_a_hang_up_records_the_status_before_and_after(api, alice, agent, audit_log):
    call = CallFactory(agent=agent, status=CallStatus.RINGING)
    api(alice).post(f"/v1/calls/{call.public_id}/hangup")
    (event,) = audit_log(action="call.hung_up")
    assert (event["before"], event["after"]) == (
        {"status": "ringing"},
        {"status": "failed", "end_reason": "canceled"},
    )


def test_a_placed_call_is_logged_without_its_context(api, alice, agent, audit_log):
    body = {"phone_number": "+14155550123", "context": {"customer_name": "Jane Doe"}, "record": True}
    call_id = api(alice).post(f"/v1/agents/{agent.public_id}/calls", body, format="json").json()["id"]
    (event,) = audit_log(action="call.placed")
    assert event["object_id"] == call_id
    assert event["after"]["phone_number"] == "+14155550123"
    assert event["after"]["record"] is True
    assert "Jane Doe" not in str(event)


def test_a_role_change_records_the_roles_before_and_after(ada, bob, audit_log):
    signed_in(ada).post(f"/settings/users/{bob.pk}/role", {"role": "operator"})
    (event,) = audit_log(action="user.role_changed")
    assert (event["before"], event["after"]) == ({"role": "viewer"}, {"role": "operator"})


def test_an_api_key_is_logged_by_its_prefix_never_the_key(api, bob, audit_log):
    created = api(bob).post("/v1/api-keys", {"name": "ci"}, format="json").json()
    (event,) = audit_log(action="api_key.created")
    assert event["after"] == {"user": "bob", "name": "ci", "prefix": created["prefix"]}
    assert created["key"] not in str(event)


@pytest.mark.django_db(transaction=True)  # the simulated recording is stored by tasks run at once
@pytest.mark.parametrize(
    ("query", "action"), [("", "recording.played"), ("?download=1", "recording.downloaded")]
)
def test_recording_playback_and_download_are_in_the_log_with_their_request_id(
    api, alice, carol, recording_store, uploads_in_place, query, action
):
    call = CallFactory(
        status=CallStatus.COMPLETED, record=True, answered_at=timezone.now(), ended_at=timezone.now()
    )
    simulate_recording(call_id=call.pk, talk_seconds=1)
    response = api(alice).get(f"/v1/calls/{call.public_id}/recording{query}", **sent("req-listen"))
    assert response.status_code == 200
    b"".join(response.streaming_content)
    (event,) = api(carol).get("/v1/audit-events", {"request_id": "req-listen"}).json()["results"]
    assert (event["action"], event["object_id"], event["actor"]) == (action, call.public_id, "alice")


# --- the request id -----------------------------------------------------------------------------------------


def test_a_request_without_an_id_gets_one_and_its_events_carry_it(api, alice, audit_log):
    response = api(alice).post("/v1/numbers", {"number": "+14155550199"}, format="json")
    request_id = response["X-Request-ID"]
    assert GENERATED_ID.fullmatch(request_id)
    (event,) = audit_log(action="number.added")
    assert event["request_id"] == request_id


@pytest.mark.parametrize(
    "incoming",
    ["two words", "x" * 65, "<script>", "", "id\u00e9"],
    ids=["space", "too long", "markup", "empty", "accent"],
)
def test_an_odd_incoming_request_id_is_replaced(client, db, incoming):
    response = client.get("/healthz", HTTP_X_REQUEST_ID=incoming)
    assert GENERATED_ID.fullmatch(response["X-Request-ID"])


@pytest.mark.parametrize("incoming", ["req-2026.04:abc_1", "0f8fad5b-d9cb-469f-a165-70867728950e", "x" * 64])
def test_a_sane_incoming_request_id_is_kept(client, db, incoming):
    assert client.get("/healthz", HTTP_X_REQUEST_ID=incoming)["X-Request-ID"] == incoming


def test_refusals_and_errors_carry_the_request_id_too(api, bob, client, db):
    assert api(bob).get("/v1/audit-events", **sent("req-refused"))["X-Request-ID"] == "req-refused"
    assert client.get("/v1/no-such-thing", **sent("req-404"))["X-Request-ID"] == "req-404"
    assert client.get("/audit/", **sent("req-page"))["X-Request-ID"] == "req-page"  # the sign-in redirect


def test_under_asgi_the_request_id_reaches_the_view_on_its_thread(alice, audit_log):
    _, raw = api_key_create(user=alice)
    headers = {"Authorization": f"Bearer {raw}", "X-Request-ID": "req-asgi"}

    async def add_number():
        body = '{"number": "+14155550196"}'
        return await AsyncClient().post("/v1/numbers", body, content_type="application/json", headers=headers)

    response = async_to_sync(add_number)()
    assert (response.status_code, response["X-Request-ID"]) == (201, "req-asgi")
    (event,) = audit_log(action="number.added")
    assert event["request_id"] == "req-asgi"


def test_an_event_written_outside_any_request_or_task_has_no_request_id(db):
    assert audit_record(actor=None, action="test.done", object_type="test", object_id="x").request_id == ""


@celery_app.task(name="tests.audit_probe")
def audit_probe() -> int:
    return audit_record(actor=None, action="test.task", object_type="test", object_id="x").pk


def test_an_event_written_by_a_celery_task_carries_the_task_id(db):
    pk = audit_probe.apply(task_id="task-7f3a").get()
    assert AuditEvent.objects.get(pk=pk).request_id == "task-7f3a"


# --- filters, pages, shape ----------------------------------------------------------------------------------


def backdate(event: AuditEvent, days: int) -> None:
    """Audit events are append-only through the ORM; a test moves one back in time with plain SQL."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {AuditEvent._meta.db_table} SET created_at = %s WHERE id = %s",  # noqa: S608 -- our table name
            [timezone.now() - timedelta(days=days), event.pk],
        )


@pytest.fixture
def history(alice, carol) -> dict[str, AuditEvent]:
    old = audit_record(actor=carol, action="number.added", object_type="phone_number", object_id="num_old",
                       after={"number": "+14155550100"})  # fmt: skip
    backdate(old, days=10)
    agent = audit_record(actor=alice, action="agent.created", object_type="agent", object_id="agent_a",
                         after={"name": "Reminders", "record": False})  # fmt: skip
    played = audit_record(actor=None, action="recording.played", object_type="call", object_id="call_x")
    return {"old": old, "agent": agent, "played": played}


def test_an_event_has_the_documented_fields(history, audit_log):
    event = audit_log(object_id="agent_a")[0]
    assert list(event) == EVENT_FIELDS
    assert event["id"] == history["agent"].pk
    assert (event["actor"], event["action"], event["object_type"]) == ("alice", "agent.created", "agent")
    assert (event["before"], event["after"]) == (None, {"name": "Reminders", "record": False})
    assert event["created_at"].endswith("Z")  # ISO 8601 UTC
    assert event["request_id"] == ""  # written outside a request


@pytest.mark.parametrize(
    ("filters", "objects"),
    [
        ({}, ["call_x", "agent_a", "num_old"]),  # newest first
        ({"action": "agent.created"}, ["agent_a"]),
        ({"actor": "carol"}, ["num_old"]),
        ({"actor": "system"}, ["call_x"]),
        ({"object_id": "num_old"}, ["num_old"]),
        ({"object_type": "call"}, ["call_x"]),
        ({"object_type": "agent", "actor": "carol"}, []),
        ({"created_after": (timezone.now() - timedelta(days=1)).isoformat()}, ["call_x", "agent_a"]),
        ({"created_before": (timezone.now() - timedelta(days=5)).isoformat()}, ["num_old"]),
        ({"created_after": "2000-01-01T00:00:00+14:00", "created_before": "2100-01-01T00:00:00Z"},
         ["call_x", "agent_a", "num_old"]),
        ({"action": "%"}, []),  # literal, never a pattern
    ],
)  # fmt: skip
def test_the_log_filters(history, audit_log, filters, objects):
    assert [e["object_id"] for e in audit_log(**filters)] == objects


@pytest.mark.parametrize("field", ["created_after", "created_before"])
def test_a_bad_time_is_a_400_naming_the_filter(api, carol, history, field):
    response = api(carol).get("/v1/audit-events", {field: "yesterday"})
    assert response.status_code == 400
    assert response.json()["error"]["field"] == field


def test_the_log_pages_with_a_cursor_newest_first(api, carol):
    made = [
        audit_record(actor=None, action="test.step", object_type="test", object_id=f"step_{n}").pk
        for n in range(5)
    ]
    client = api(carol)
    page = client.get("/v1/audit-events", {"limit": 2}).json()
    seen = [e["id"] for e in page["results"]]
    while page["next"]:
        page = client.get(page["next"]).json()
        seen += [e["id"] for e in page["results"]]
    assert seen == sorted(made, reverse=True)
    assert client.get(page["previous"]).json()["results"][0]["id"] == made[2]
    bad = client.get("/v1/audit-events", {"cursor": "not-ours"})
    assert (bad.status_code, bad.json()["error"]["code"]) == (400, "invalid_cursor")


# --- who may read it ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["ada", "carol"])
def test_compliance_officers_and_admins_read_the_log(api, request, history, who):
    response = api(request.getfixturevalue(who)).get("/v1/audit-events")
    assert response.status_code == 200
    assert len(response.json()["results"]) == 3


@pytest.mark.parametrize("who", ["alice", "bob"])
def test_operators_and_viewers_are_refused_in_the_error_shape(api, request, history, who):
    response = api(request.getfixturevalue(who)).get("/v1/audit-events")
    assert response.status_code == 403
    assert response.json() == {
        "error": {"code": "permission_denied", "message": "Your role does not allow this.", "field": None}
    }


def test_without_a_key_the_log_is_a_401(client, history):
    response = client.get("/v1/audit-events")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


def test_nobody_writes_to_the_log_through_the_api(api, ada, history):
    for method in ("post", "patch", "put", "delete"):
        assert getattr(api(ada), method)("/v1/audit-events", {}, format="json").status_code == 405
    assert AuditEvent.objects.count() == 3
