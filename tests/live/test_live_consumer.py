"""/ws/calls: who may watch, what they see, and that updates leave only after commit."""

import asyncio
import json
from contextlib import asynccontextmanager

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.db import transaction
from django.test import Client
from rest_framework.test import APIClient

from calls.announce import call_changed_on_commit
from calls.models import CallStatus
from calls.serializers import CallOutput
from calls.services import call_create
from campaigns.models import Campaign, CampaignStatus
from live import publisher as events
from live.publisher import call_update_publish
from tests.factories import AgentFactory, CallFactory, UserFactory
from wordcab_admin.asgi import application
from wordcab_admin.kernel.accounts import api_key_create
from wordcab_admin.kernel.roles import Role

pytestmark = pytest.mark.django_db(transaction=True)


def run(coroutine):
    return asyncio.run(coroutine)


def session_cookie(user) -> tuple[bytes, bytes]:
    client = Client()
    client.force_login(user)
    return (b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode())


def bearer(user) -> tuple[bytes, bytes]:
    _, raw = api_key_create(user=user, name="ws")
    return (b"authorization", f"Bearer {raw}".encode())


@asynccontextmanager
async def watching(headers=(), query=""):
    path = "/ws/calls" + (f"?{query}" if query else "")
    communicator = WebsocketCommunicator(application, path, headers=list(headers))
    connected, _ = await communicator.connect(timeout=5)
    assert connected
    try:
        yield communicator
    finally:
        await communicator.disconnect()


async def close_code(communicator) -> int | None:
    output = await communicator.receive_output(timeout=5)
    assert output["type"] == "websocket.close"
    return output.get("code")


async def messages(communicator, count: int, timeout: float = 5) -> list[dict]:
    """Read frames until `count` messages arrived, unpacking batches."""
    received: list[dict] = []
    while len(received) < count:
        frame = json.loads(await communicator.receive_from(timeout=timeout))
        received.extend(frame["messages"] if frame["type"] == "batch" else [frame])
    return received


async def publish(call) -> None:
    await database_sync_to_async(call_update_publish)(call=call)


def test_a_viewer_signed_in_by_session_cookie_receives_call_updates(bob):
    call = CallFactory(status=CallStatus.RINGING)
    bob_cookie = session_cookie(bob)

    async def scenario():
        async with watching([bob_cookie]) as ws:
            await publish(call)
            (message,) = await messages(ws, 1)
            assert message["type"] == "call.updated"
            assert message["call"]["id"] == call.public_id
            assert message["call"]["status"] == "ringing"

    run(scenario())


def test_an_api_key_in_the_authorization_header_is_accepted(alice):
    call = CallFactory()
    alice_key = bearer(alice)

    async def scenario():
        async with watching([alice_key]) as ws:
            await publish(call)
            (message,) = await messages(ws, 1)
            assert message["call"]["id"] == call.public_id

    run(scenario())


@pytest.mark.parametrize(
    "headers",
    [
        [],
        [(b"authorization", b"Bearer wck_not-a-key")],
        [(b"authorization", b"Basic YWxpY2U6c2VjcmV0")],
        [(b"cookie", b"sessionid=forged")],
    ],
    ids=["nothing", "unknown key", "basic auth", "forged session"],
)
def test_an_upgrade_without_valid_credentials_is_closed_with_4401(headers):
    async def scenario():
        async with watching(headers) as ws:
            assert await close_code(ws) == 4401

    run(scenario())


def test_a_revoked_api_key_is_closed_with_4401(alice):
    from wordcab_admin.kernel.accounts import api_key_revoke

    key, raw = api_key_create(user=alice, name="old")
    api_key_revoke(key=key)

    async def scenario():
        async with watching([(b"authorization", f"Bearer {raw}".encode())]) as ws:
            assert await close_code(ws) == 4401

    run(scenario())


def test_a_signed_in_user_without_a_role_is_closed_with_4403():
    nobody = UserFactory(username="nobody")
    nobody_cookie = session_cookie(nobody)

    async def scenario():
        async with watching([nobody_cookie]) as ws:
            assert await close_code(ws) == 4403

    run(scenario())


def test_a_session_upgrade_from_a_foreign_origin_is_refused_but_our_own_origin_is_not(bob):
    cookie = session_cookie(bob)
    call = CallFactory()

    async def scenario():
        async with watching([cookie, (b"origin", b"https://evil.example")]) as ws:
            assert await close_code(ws) == 4403
        async with watching([cookie, (b"origin", b"http://127.0.0.1:8000")]) as ws:
            await publish(call)
            assert (await messages(ws, 1))[0]["call"]["id"] == call.public_id

    run(scenario())


def test_every_role_may_watch():
    keys = [bearer(UserFactory(username=role.value, role=role)) for role in Role]
    call = CallFactory()

    async def scenario():
        for key in keys:
            async with watching([key]) as ws:
                await publish(call)
                assert (await messages(ws, 1))[0]["call"]["id"] == call.public_id

    run(scenario())


def test_the_agent_filter_passes_only_that_agents_calls(bob):
    mine, other = AgentFactory(public_id="agent_mine"), AgentFactory(public_id="agent_other")
    theirs_call, my_call = CallFactory(agent=other), CallFactory(agent=mine)
    bob_key = bearer(bob)

    async def scenario():
        async with watching([bob_key], query="agent_id=agent_mine") as ws:
            await publish(theirs_call)
            await publish(my_call)
            (message,) = await messages(ws, 1)
            assert message["call"]["id"] == my_call.public_id
            assert await ws.receive_nothing(timeout=0.3)

    run(scenario())


def test_the_campaign_filter_passes_that_campaigns_calls_and_counts(bob):
    agent = AgentFactory()
    campaign = Campaign.objects.create(name="Reminders", agent=agent, status=CampaignStatus.RUNNING)
    other = Campaign.objects.create(name="Other", agent=agent, status=CampaignStatus.RUNNING)
    CallFactory(agent=agent, campaign=campaign, status=CallStatus.COMPLETED)
    in_campaign = CallFactory(agent=agent, campaign=campaign, status=CallStatus.RINGING)
    elsewhere = CallFactory(agent=agent, campaign=other)
    loose = CallFactory(agent=agent)
    bob_key = bearer(bob)

    async def scenario():
        async with watching([bob_key], query=f"campaign_id={campaign.public_id}") as ws:
            await publish(elsewhere)
            await publish(loose)
            await publish(in_campaign)
            call_message, campaign_message = await messages(ws, 2)
            assert await ws.receive_nothing(timeout=0.3)
        return call_message, campaign_message

    call_message, campaign_message = run(scenario())
    assert call_message["type"] == "call.updated"
    assert call_message["call"]["id"] == in_campaign.public_id
    assert campaign_message["type"] == "campaign.updated"
    summary = campaign_message["campaign"]
    assert (summary["id"], summary["name"], summary["status"]) == (campaign.public_id, "Reminders", "running")
    assert summary["agent_id"] == agent.public_id
    assert set(summary) == {"id", "name", "agent_id", "status", "counts", "calls", "rejected", "updated_at"}
    assert summary["calls"]["ringing"] == 1
    assert summary["calls"]["completed"] == 1
    assert summary["calls"]["total"] == 2


def test_call_updated_carries_the_whole_public_call_object(bob):
    call = CallFactory(
        status=CallStatus.FAILED, error_code="carrier_rejected", error_message="Rejected", context={"n": 1}
    )
    bob_key = bearer(bob)

    async def scenario():
        async with watching([bob_key]) as ws:
            await publish(call)
            return (await messages(ws, 1))[0]

    message = run(scenario())
    assert set(message) == {"type", "call", "outcome"}
    expected = json.loads(json.dumps(CallOutput(call).data))
    assert message["call"] == expected
    assert message["call"]["error"] == {"code": "carrier_rejected", "message": "Rejected"}
    assert message["outcome"] == "Failed: carrier rejected"  # the label the pages show (calls/outcomes.py)


def test_an_update_is_broadcast_after_commit_and_never_for_a_rolled_back_change(bob):
    call = CallFactory()

    class Rollback(Exception):
        """Raised to roll the change back."""

    def change(status, *, commit: bool):
        try:
            with transaction.atomic():
                call.status = status
                call.save()
                call_changed_on_commit(call)
                if not commit:
                    raise Rollback
        except Rollback:
            pass

    bob_key = bearer(bob)

    async def scenario():
        async with watching([bob_key]) as ws:
            await database_sync_to_async(change)(CallStatus.FAILED, commit=False)
            assert await ws.receive_nothing(timeout=0.3)
            await database_sync_to_async(change)(CallStatus.RINGING, commit=True)
            (message,) = await messages(ws, 1)
            assert message["call"]["status"] == "ringing"

    run(scenario())


def test_a_new_outbound_call_is_broadcast_as_initiating_before_anything_else_for_it(
    celery_worker_thread, settings, alice, bob
):
    """The real path: POST /v1/agents/{id}/calls, placed by a real worker through the simulator."""
    settings.SIMULATOR_SPEED = 20
    settings.SIMULATOR_DISORDER = False
    agent = AgentFactory()  # no numbers: it calls through the simulator
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=bearer(alice)[1].decode())
    bob_key = bearer(bob)

    def place() -> str:
        response = client.post(
            f"/v1/agents/{agent.public_id}/calls", {"phone_number": "+14155550123"}, format="json"
        )
        assert response.status_code == 201, response.content
        return response.json()["id"]

    async def scenario():
        async with watching([bob_key], query=f"agent_id={agent.public_id}") as ws:
            call_id = await database_sync_to_async(place)()
            statuses: list[str] = []
            while not statuses or statuses[-1] not in CallStatus.terminal():
                for message in await messages(ws, 1, timeout=20):
                    assert message["type"] == "call.updated"
                    assert message["call"]["id"] == call_id
                    statuses.append(message["call"]["status"])
            return statuses

    statuses = run(scenario())
    assert statuses[0] == "initiating", statuses  # the dial attempt, before it rings
    assert statuses.count("initiating") == 1
    assert statuses[-1] == "completed"


def test_a_call_created_in_a_campaign_is_broadcast_with_the_campaigns_counts(bob, monkeypatch):
    monkeypatch.setattr("calls.services.call_place_enqueue", lambda call_id: None)  # not placed here
    agent = AgentFactory()
    campaign = Campaign.objects.create(name="Renewals", agent=agent, status=CampaignStatus.RUNNING)
    bob_key = bearer(bob)

    def create() -> str:
        call, _ = call_create(agent=agent, to_number="+14155550123", campaign=campaign)
        return call.public_id

    async def scenario():
        async with watching([bob_key], query=f"campaign_id={campaign.public_id}") as ws:
            call_id = await database_sync_to_async(create)()
            return call_id, await messages(ws, 2)

    call_id, (call_message, campaign_message) = run(scenario())
    assert call_message["type"] == "call.updated"
    assert (call_message["call"]["id"], call_message["call"]["status"]) == (call_id, "initiating")
    assert campaign_message["type"] == "campaign.updated"
    calls = campaign_message["campaign"]["calls"]  # its calls per status; `counts` has its contacts per state
    assert (calls["initiating"], calls["total"]) == (1, 1)
    assert campaign_message["campaign"]["counts"]["total"] == 0


def test_updates_that_arrive_together_are_all_delivered_in_order(bob):
    calls = CallFactory.create_batch(30)

    def burst():
        for call in calls:
            call_update_publish(call=call)

    bob_key = bearer(bob)

    async def scenario():
        async with watching([bob_key]) as ws:
            await database_sync_to_async(burst)()
            received = await messages(ws, 30)
            assert await ws.receive_nothing(timeout=0.2)
            return received

    received = run(scenario())
    assert [m["call"]["id"] for m in received] == [c.public_id for c in calls]


def test_an_update_is_serialized_once_however_many_clients_watch(bob, monkeypatch):
    call = CallFactory()
    encoded = []
    original = events.encode
    monkeypatch.setattr(events, "encode", lambda message: encoded.append(message) or original(message))
    key = bearer(bob)

    async def scenario():
        sockets = [WebsocketCommunicator(application, "/ws/calls", headers=[key]) for _ in range(5)]
        for ws in sockets:
            assert (await ws.connect(timeout=5))[0]
        await publish(call)
        for ws in sockets:
            assert (await messages(ws, 1))[0]["call"]["id"] == call.public_id
            await ws.disconnect()

    run(scenario())
    assert len(encoded) == 1


def test_a_frame_is_one_message_or_a_batch_of_them_built_without_re_encoding():
    from live.consumers import frame_text

    one = events.encode({"type": "call.updated", "call": {"id": "call_1"}})
    two = events.encode({"type": "campaign.updated", "campaign": {"id": "camp_1"}})
    assert frame_text([one]) == one
    assert json.loads(frame_text([one, two])) == {
        "type": "batch",
        "messages": [json.loads(one), json.loads(two)],
    }


def test_a_burst_of_updates_reaches_a_watcher_in_fewer_frames_than_updates(bob):
    calls = CallFactory.create_batch(40)
    key = bearer(bob)

    def burst():
        for call in calls:
            call_update_publish(call=call)

    async def scenario():
        async with watching([key]) as ws:
            await database_sync_to_async(burst)()
            frames, received = 0, []
            while len(received) < len(calls):
                frame = json.loads(await ws.receive_from(timeout=5))
                frames += 1
                received.extend(frame["messages"] if frame["type"] == "batch" else [frame])
            return frames, received

    frames, received = run(scenario())
    assert [m["call"]["id"] for m in received] == [c.public_id for c in calls]
    assert frames < len(calls)


def test_while_redis_is_unreachable_an_upgrade_is_closed_with_4503_to_reconnect_and_resync(bob, settings):
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": ["redis://127.0.0.1:9/0"]},  # the discard port: nothing listens
        }
    }
    key = bearer(bob)

    async def scenario():
        async with watching([key]) as ws:
            assert await close_code(ws) == 4503

    run(scenario())
