"""/ws/calls outlives no credential: a revoked key, a sign-out, a deactivated user or a changed role closes
that principal's open sockets within seconds (4401), and every socket's principal is re-checked on a
timer, which catches what no signal announces (a session deleted or expired, a bulk UPDATE).

The sockets are real (the ASGI application, the channel layer on the real Redis): a revocation travels
from the signal's process through Redis to the hub, as it does between web processes."""

import asyncio
import json
from contextlib import AsyncExitStack

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.sessions.models import Session
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from live import consumers
from live.publisher import call_update_publish
from tests.factories import CallFactory
from wordcab_admin.asgi import application
from wordcab_admin.kernel.accounts import ApiKey, api_key_create, api_key_revoke, user_change_role
from wordcab_admin.kernel.roles import Role

pytestmark = pytest.mark.django_db(transaction=True)

PROMPTLY = 3.0  # seconds: a revocation reaches the socket well within this


def run(coroutine):
    return asyncio.run(coroutine)


@pytest.fixture
def recheck_every(monkeypatch):
    """Set the periodic re-check's interval: long when a test is about the signals (so that only they can
    close the socket in time), short when it is about the re-check."""

    def set_interval(seconds: float) -> None:
        monkeypatch.setattr(consumers, "PRINCIPAL_RECHECK_SECONDS", seconds)

    set_interval(60)
    return set_interval


def signed_in(user) -> tuple[Client, tuple[bytes, bytes]]:
    """A browser's session: the test client (to sign out with) and its cookie header for the socket."""
    client = Client()
    client.force_login(user)
    return client, (b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode())


def with_key(user) -> tuple[ApiKey, str, tuple[bytes, bytes]]:
    key, raw = api_key_create(user=user, name="ws")
    return key, raw, (b"authorization", f"Bearer {raw}".encode())


async def open_socket(stack: AsyncExitStack, header) -> WebsocketCommunicator:
    communicator = WebsocketCommunicator(application, "/ws/calls", headers=[header])
    connected, _ = await communicator.connect(timeout=5)
    assert connected
    stack.push_async_callback(communicator.disconnect)
    return communicator


async def closed_with(communicator, within: float = PROMPTLY) -> int:
    """The close code the socket gets within `within` seconds (call updates before it are skipped)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while loop.time() < deadline:
        if await communicator.receive_nothing(timeout=0.05, interval=0.01):
            continue
        output = await communicator.receive_output(timeout=1)
        if output["type"] == "websocket.close":
            return output.get("code")
    raise AssertionError(f"the socket was not closed within {within} s")


async def receives_the_update(communicator, call) -> None:
    while True:
        frame = json.loads(await communicator.receive_from(timeout=5))
        messages = frame["messages"] if frame["type"] == "batch" else [frame]
        if any(m["type"] == "call.updated" and m["call"]["id"] == call.public_id for m in messages):
            return


async def publish(call) -> None:
    await database_sync_to_async(call_update_publish)(call=call)


async def still_open_and_fed(*communicators, call) -> None:
    await publish(call)
    for communicator in communicators:
        await receives_the_update(communicator, call)


async def hears_nothing_more(communicator, call) -> None:
    await publish(call)
    assert await communicator.receive_nothing(timeout=0.5)


def delete_key_through_the_api(user, key: ApiKey, raw: str) -> None:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert client.delete(f"/v1/api-keys/{key.pk}").status_code == 204


@pytest.mark.parametrize("how", ["DELETE /v1/api-keys/{id}", "api_key_revoke"])
def test_a_socket_opened_with_an_api_key_is_closed_with_4401_once_the_key_is_revoked(
    how, recheck_every, alice, bob
):
    key, raw, alice_key = with_key(alice)
    _, _, alices_other_key = with_key(alice)
    _, bob_session = signed_in(bob)
    call = CallFactory()

    def revoke() -> None:
        if how == "api_key_revoke":
            api_key_revoke(key=key)
        else:
            delete_key_through_the_api(alice, key, raw)

    async def scenario():
        async with AsyncExitStack() as stack:
            revoked = await open_socket(stack, alice_key)
            others = [await open_socket(stack, alices_other_key), await open_socket(stack, bob_session)]
            await still_open_and_fed(revoked, *others, call=call)
            await database_sync_to_async(revoke)()
            assert await closed_with(revoked) == 4401
            await hears_nothing_more(revoked, call)
            await still_open_and_fed(*others, call=call)  # bob's, and alice's other key's

    run(scenario())


def test_a_session_socket_is_closed_with_4401_when_the_user_signs_out(recheck_every, alice, bob):
    browser, alice_session = signed_in(alice)
    _, alices_other_browser = signed_in(alice)
    _, bob_session = signed_in(bob)
    call = CallFactory()

    async def scenario():
        async with AsyncExitStack() as stack:
            signing_out = await open_socket(stack, alice_session)
            others = [await open_socket(stack, alices_other_browser), await open_socket(stack, bob_session)]
            response = await database_sync_to_async(browser.post)("/logout/")
            assert response.status_code == 302
            assert await closed_with(signing_out) == 4401
            await hears_nothing_more(signing_out, call)
            await still_open_and_fed(*others, call=call)  # only that browser signed out

    run(scenario())


def test_every_socket_of_a_deactivated_user_is_closed_with_4401(recheck_every, alice, bob):
    _, alice_session = signed_in(alice)
    _, _, alice_key = with_key(alice)
    _, _, bob_key = with_key(bob)
    call = CallFactory()

    def deactivate() -> None:
        alice.is_active = False
        alice.save()

    async def scenario():
        async with AsyncExitStack() as stack:
            alices = [await open_socket(stack, alice_session), await open_socket(stack, alice_key)]
            bobs = await open_socket(stack, bob_key)
            await database_sync_to_async(deactivate)()
            for socket in alices:
                assert await closed_with(socket) == 4401
            await still_open_and_fed(bobs, call=call)

    run(scenario())


@pytest.mark.parametrize("to", [Role.VIEWER, Role.ADMIN], ids=["to viewer", "to admin"])
def test_changing_a_role_closes_that_users_sockets_with_4401_so_they_reconnect_with_their_new_rights(
    to, recheck_every, ada, alice, bob
):
    _, alice_session = signed_in(alice)
    _, _, alice_key = with_key(alice)
    _, bob_session = signed_in(bob)
    call = CallFactory()

    async def scenario():
        async with AsyncExitStack() as stack:
            alices = [await open_socket(stack, alice_session), await open_socket(stack, alice_key)]
            bobs = await open_socket(stack, bob_session)
            await database_sync_to_async(user_change_role)(user=alice, role=to, actor=ada)
            for socket in alices:
                assert await closed_with(socket) == 4401
            await still_open_and_fed(bobs, call=call)
        async with AsyncExitStack() as stack:  # and she reconnects, with her new role
            await still_open_and_fed(await open_socket(stack, alice_session), call=call)

    run(scenario())


def groups_cleared(user) -> None:
    user.groups.clear()


def removed_from_the_group(user) -> None:
    Group.objects.get(name=Role.OPERATOR.value).user_set.remove(user)


def group_emptied(user) -> None:
    Group.objects.get(name=Role.OPERATOR.value).user_set.clear()


@pytest.mark.parametrize(
    "change", [groups_cleared, removed_from_the_group, group_emptied], ids=lambda f: f.__name__
)
def test_taking_the_role_away_closes_the_socket_and_a_reconnect_is_forbidden(
    change, recheck_every, alice, bob
):
    _, alice_session = signed_in(alice)
    _, bob_session = signed_in(bob)
    call = CallFactory()

    async def scenario():
        async with AsyncExitStack() as stack:
            socket = await open_socket(stack, alice_session)
            bobs = await open_socket(stack, bob_session)  # a viewer: another group
            await database_sync_to_async(change)(alice)
            assert await closed_with(socket) == 4401
            await still_open_and_fed(bobs, call=call)
        async with AsyncExitStack() as stack:  # reconnecting without a role: forbidden
            assert await closed_with(await open_socket(stack, alice_session)) == 4403

    run(scenario())


def test_a_password_change_closes_the_sessions_it_signed_out_but_not_the_users_keys(recheck_every, alice):
    _, alice_session = signed_in(alice)
    _, _, alice_key = with_key(alice)
    call = CallFactory()

    def password_changed() -> None:
        alice.set_password("another horse battery staple")
        alice.save()  # the session's hash no longer matches: Django signs that session out

    async def scenario():
        async with AsyncExitStack() as stack:
            session_socket = await open_socket(stack, alice_session)
            key_socket = await open_socket(stack, alice_key)
            await database_sync_to_async(password_changed)()
            assert await closed_with(session_socket) == 4401
            await still_open_and_fed(key_socket, call=call)

    run(scenario())


User = get_user_model()


def session_deleted(user, session_key, key) -> None:
    Session.objects.filter(session_key=session_key).delete()


def session_expired(user, session_key, key) -> None:
    Session.objects.filter(session_key=session_key).update(expire_date=timezone.now())


def user_deactivated_in_bulk(user, session_key, key) -> None:
    User.objects.filter(pk=user.pk).update(is_active=False)  # no post_save


def key_revoked_in_bulk(user, session_key, key) -> None:
    ApiKey.objects.filter(pk=key.pk).update(revoked_at=timezone.now())  # no post_save


def password_changed_in_bulk(user, session_key, key) -> None:
    user.set_password("another horse battery staple")
    User.objects.filter(pk=user.pk).update(password=user.password)  # the session's hash no longer matches


@pytest.mark.parametrize(
    ("change", "via", "code"),
    [
        (session_deleted, "session", 4401),
        (session_expired, "session", 4401),
        (password_changed_in_bulk, "session", 4401),
        (user_deactivated_in_bulk, "session", 4401),
        (user_deactivated_in_bulk, "key", 4401),
        (key_revoked_in_bulk, "key", 4401),
    ],
    ids=lambda value: getattr(value, "__name__", str(value)),
)
def test_the_periodic_re_check_catches_what_no_signal_announces(change, via, code, recheck_every, alice, bob):
    recheck_every(0.3)
    client, alice_session = signed_in(alice)
    key, _, alice_key = with_key(alice)
    _, bob_session = signed_in(bob)
    session_key = client.session.session_key
    call = CallFactory()

    async def scenario():
        async with AsyncExitStack() as stack:
            socket = await open_socket(stack, alice_session if via == "session" else alice_key)
            bobs = await open_socket(stack, bob_session)
            await asyncio.sleep(0.8)  # a few re-checks pass: a valid principal stays
            await still_open_and_fed(socket, bobs, call=call)
            await database_sync_to_async(change)(alice, session_key, key)
            assert await closed_with(socket, within=2) == code
            await hears_nothing_more(socket, call)
            await still_open_and_fed(bobs, call=call)

    run(scenario())


def test_the_periodic_re_check_closes_with_4403_a_user_left_without_a_role(recheck_every, alice):
    recheck_every(0.3)
    _, alice_session = signed_in(alice)

    def roles_removed_in_bulk() -> None:
        User.groups.through.objects.filter(user_id=alice.pk).delete()  # no m2m_changed

    async def scenario():
        async with AsyncExitStack() as stack:
            socket = await open_socket(stack, alice_session)
            await database_sync_to_async(roles_removed_in_bulk)()
            assert await closed_with(socket, within=2) == 4403

    run(scenario())


def test_a_role_changed_behind_the_signals_back_is_caught_by_the_re_check_with_4401(recheck_every, alice):
    recheck_every(0.3)
    _, _, alice_key = with_key(alice)

    def made_viewer_in_bulk() -> None:
        through = User.groups.through
        through.objects.filter(user_id=alice.pk).delete()
        viewer, _ = Group.objects.get_or_create(name=Role.VIEWER.value)
        through.objects.create(user_id=alice.pk, group_id=viewer.pk)

    async def scenario():
        async with AsyncExitStack() as stack:
            socket = await open_socket(stack, alice_key)
            await database_sync_to_async(made_viewer_in_bulk)()
            assert await closed_with(socket, within=2) == 4401

    run(scenario())
