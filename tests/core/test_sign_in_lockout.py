"""The sign-in lockout (django-axes, wordcab_admin/kernel/auth.py): ten failures for a username, or from an
address, lock it out for a while, on the sign-in page and the Django admin alike; the right password is
refused meanwhile, with our page saying why; lockouts and failed sign-ins are audited."""

import pytest
from asgiref.sync import async_to_sync
from django.conf import settings
from django.test import AsyncClient, Client

from compliance.models import AuditEvent
from tests.factories import UserFactory
from wordcab_admin.kernel.roles import Role

PASSWORD = "correct horse battery staple"  # what tests/factories.py UserFactory sets
LIMIT = 10
LOCKED_OUT = "Too many failed sign-ins"


def sign_in(username: str, password: str, *, address: str = "10.0.0.1", path: str = "/login/", client=None):
    client = client or Client()
    response = client.post(path, {"username": username, "password": password}, REMOTE_ADDR=address)
    return response, client


def signed_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def fail(username: str, times: int, **kwargs) -> list[int]:
    return [sign_in(username, "not the password", **kwargs)[0].status_code for _ in range(times)]


def test_the_settings_lock_out_by_username_and_by_address_after_ten_failures():
    assert settings.AXES_FAILURE_LIMIT == LIMIT
    assert settings.AXES_LOCKOUT_PARAMETERS == ["username", "ip_address"]
    assert settings.AXES_COOLOFF_TIME.total_seconds() == 15 * 60
    assert settings.AXES_RESET_ON_SUCCESS is True
    assert settings.MIDDLEWARE[-1] == "axes.middleware.AxesMiddleware"


def test_ten_wrong_passwords_lock_the_user_out_and_the_right_one_is_then_refused_with_a_message(alice):
    statuses = fail("alice", LIMIT)
    assert statuses == [200] * (LIMIT - 1) + [429]  # the tenth failure locks

    response, client = sign_in("alice", PASSWORD)
    assert response.status_code == 429
    assert not signed_in(client)
    page = response.content.decode()
    assert LOCKED_OUT in page
    assert "15 minutes" in page
    assert 'name="username"' in page  # our sign-in page, not axes' plain text
    assert 'value="alice"' in page
    assert response["Retry-After"] == str(15 * 60)
    assert response["Content-Type"].startswith("text/html")
    assert client.get("/").status_code == 302  # still signed out


def test_other_users_from_other_addresses_are_unaffected(alice, bob):
    fail("alice", LIMIT, address="10.0.0.1")
    response, client = sign_in("bob", PASSWORD, address="10.0.0.2")
    assert response.status_code == 302
    assert signed_in(client)


def test_a_locked_out_username_is_refused_from_every_address(alice):
    fail("alice", LIMIT, address="10.0.0.1")
    response, client = sign_in("alice", PASSWORD, address="10.0.0.9")
    assert response.status_code == 429
    assert not signed_in(client)


def test_an_address_guessing_many_usernames_is_locked_out_for_every_username(alice, bob):
    for n in range(LIMIT):
        fail(f"nobody{n}", 1, address="10.0.0.3")
    refused, client = sign_in("bob", PASSWORD, address="10.0.0.3")
    assert refused.status_code == 429
    assert not signed_in(client)
    elsewhere, client = sign_in("bob", PASSWORD, address="10.0.0.4")  # bob himself is not locked out
    assert elsewhere.status_code == 302
    assert signed_in(client)


def test_a_success_forgets_the_users_own_failures(alice):
    fail("alice", LIMIT - 1)
    response, _ = sign_in("alice", PASSWORD)
    assert response.status_code == 302
    assert fail("alice", LIMIT - 1) == [200] * (LIMIT - 1)  # counted afresh: not locked out yet


def test_signing_in_to_ones_own_account_does_not_forget_the_guesses_at_anothers(ada, bob):
    """axes' own reset would drop every failure of the address: nine guesses, one sign-in of one's own,
    and nine more, forever."""
    fail("ada", LIMIT - 1, address="10.0.0.5")
    own, _ = sign_in("bob", PASSWORD, address="10.0.0.5")
    assert own.status_code == 302
    assert fail("ada", 1, address="10.0.0.5") == [429]
    refused, client = sign_in("ada", PASSWORD, address="10.0.0.6")
    assert refused.status_code == 429


def test_the_django_admin_sign_in_is_locked_out_too(ada):
    statuses = fail("ada", LIMIT, path="/django-admin/login/")
    assert statuses == [200] * (LIMIT - 1) + [429]
    response, client = sign_in("ada", PASSWORD, path="/django-admin/login/")
    assert response.status_code == 429
    assert LOCKED_OUT in response.content.decode()
    assert not signed_in(client)
    response, client = sign_in("ada", PASSWORD)  # and so is our sign-in page, for the same username
    assert response.status_code == 429


def test_a_lockout_is_audited_once_and_each_wrong_password_too(alice):
    fail("alice", LIMIT, address="10.0.0.7")
    fail("alice", 3, address="10.0.0.7")  # refused while locked out: no password was tried
    sign_in("alice", PASSWORD, address="10.0.0.7")

    lockouts = AuditEvent.objects.filter(action="auth.locked_out")
    assert lockouts.count() == 1
    lockout = lockouts.get()
    assert (lockout.actor_label, lockout.object_type, lockout.object_id) == ("system", "user", "alice")
    assert lockout.after["username"] == "alice"
    assert lockout.after["ip_address"] == "10.0.0.7"
    assert lockout.after["path"] == "/login/"
    assert lockout.after["failures"] == LIMIT
    assert lockout.after["cool_off_seconds"] == 15 * 60

    failures = AuditEvent.objects.filter(action="auth.sign_in_failed", object_id="alice")
    assert failures.count() == LIMIT
    assert {event.after["ip_address"] for event in failures} == {"10.0.0.7"}
    assert all("not the password" not in str(event.after) for event in failures)  # no password stored


def test_an_unknown_username_is_audited_as_a_failed_sign_in(db):
    sign_in("mallory", "guess")
    event = AuditEvent.objects.get(action="auth.sign_in_failed")
    assert event.object_id == "mallory"


@pytest.mark.django_db(transaction=True)
def test_the_lockout_page_through_the_async_chain():
    """Under ASGI axes' middleware takes its async path (which passes its arguments to the lockout
    callable shifted in axes 8): the page is still ours, and the lockout is audited once."""
    UserFactory(username="gil", role=Role.OPERATOR)
    client = AsyncClient()

    def post(password: str):
        return async_to_sync(client.post)("/login/", {"username": "gil", "password": password})

    statuses = [post("wrong").status_code for _ in range(LIMIT)]
    assert statuses == [200] * (LIMIT - 1) + [429]
    response = post(PASSWORD)
    assert response.status_code == 429
    assert LOCKED_OUT in response.content.decode()
    assert 'value="gil"' in response.content.decode()
    assert response["Retry-After"] == str(15 * 60)
    assert async_to_sync(client.get)("/agents/").status_code == 302  # not signed in
    assert AuditEvent.objects.filter(action="auth.locked_out").count() == 1


def test_an_admin_unlocks_a_username_by_issuing_a_one_time_password(ada, alice):
    fail("alice", LIMIT, address="10.0.0.8")
    admin = Client()
    admin.force_login(ada)
    issued = admin.post(f"/settings/users/{alice.pk}/one-time-password", {"confirmed": "yes"}, follow=True)
    one_time = issued.context["new_user"]["password"]
    response, client = sign_in("alice", one_time, address="10.0.0.9")
    assert response.status_code == 302
    assert signed_in(client)
    event = AuditEvent.objects.get(action="user.one_time_password_issued")
    assert event.after == {"sign_in_failures_cleared": 1}
