"""One-time passwords: the first admin's and those of new users, and those an admin issues, must be changed
at the first sign-in (every page leads to the password change until then; API keys are not held up); an
admin deactivates and reactivates users; all of it admin-only and audited."""

import re
from datetime import timedelta
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from compliance.models import AuditEvent
from wordcab_admin.kernel.accounts import (
    AccountState,
    api_key_create,
    first_admin_ensure,
    password_change_required,
    user_create,
)
from wordcab_admin.kernel.roles import Role

NEW_PASSWORD = "a brand new long passphrase"
PAGES = ["/", "/agents/", "/numbers/", "/calls/", "/campaigns/", "/settings/", "/settings/users/", "/audit/"]


def client_for(user) -> Client:
    """A browser of its own, signed in as `user` (None: signed out)."""
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def sign_in(client, username: str, password: str):
    return client.post("/login/", {"username": username, "password": password})


def change_password(client, old: str, new: str = NEW_PASSWORD, **kwargs):
    return client.post(
        "/settings/password/",
        {"old_password": old, "new_password1": new, "new_password2": new},
        **kwargs,
    )


@pytest.fixture
def erin(db):
    """Erin, just added as an operator: her password is one-time."""
    return user_create(username="erin", role=Role.OPERATOR)


def test_new_users_and_the_first_admin_get_one_time_passwords(db, erin):
    assert password_change_required(erin[0])
    assert first_admin_ensure() is None  # erin exists: no first admin
    get_user_model().objects.all().delete()
    out = StringIO()
    call_command("ensure_first_admin", stdout=out)
    admin = get_user_model().objects.get(username="admin")
    assert password_change_required(admin)
    assert admin.check_password(out.getvalue().strip())


def test_the_first_sign_in_with_a_one_time_password_leads_to_the_password_change(client, erin):
    user, password = erin
    signed_in = sign_in(client, "erin", password)
    assert signed_in.status_code == 302
    landing = client.get(signed_in["Location"], follow=True)
    assert landing.redirect_chain[-1] == ("/settings/password/", 302)
    assert b"You signed in with a one-time password." in landing.content

    for page in PAGES:
        response = client.get(page)
        assert response.status_code == 302, page
        assert response["Location"] == "/settings/password/", page
    # A form post is not carried out either.
    assert client.post("/settings/api-keys/create", {"name": "sneaky"}).status_code == 302
    assert not user.api_keys.exists()
    # The API, with the session, answers in its error shape.
    refused = client.get("/v1/me")
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "password_change_required"

    changed = change_password(client, password, follow=True)
    assert b"Your password was changed." in changed.content
    assert not password_change_required(user)
    for page in ["/", "/agents/", "/settings/"]:
        assert client.get(page).status_code == 200, page
    assert client.get("/v1/me").json()["username"] == "erin"

    client.logout()
    assert sign_in(client, "erin", password).status_code == 200  # the one-time password is gone
    assert sign_in(client, "erin", NEW_PASSWORD)["Location"] == "/"
    assert client.get("/agents/").status_code == 200  # and nothing asks for a change any more


def test_a_wrong_current_password_keeps_the_one_time_password_and_the_redirects(client, erin):
    user, password = erin
    sign_in(client, "erin", password)
    wrong = change_password(client, "not it")
    assert wrong.status_code == 200
    assert b"Your old password was entered incorrectly" in wrong.content
    assert password_change_required(user)
    assert client.get("/agents/")["Location"] == "/settings/password/"


def test_signing_out_is_allowed_before_the_change(client, erin):
    sign_in(client, "erin", erin[1])
    assert client.post("/logout/").status_code == 302
    assert "_auth_user_id" not in client.session


def test_an_api_key_is_not_held_up_by_a_pending_password_change(client, erin):
    user, password = erin
    _, raw = api_key_create(user=user)
    sign_in(client, "erin", password)  # the same browser signed in with the one-time password
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert api.get("/v1/me").json()["username"] == "erin"
    client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {raw}"  # a key sent with the session cookie
    assert client.get("/v1/me").status_code == 200


def test_the_first_admin_must_change_the_printed_password_even_in_the_django_admin(client, db):
    _, password = first_admin_ensure()
    response = client.post("/django-admin/login/", {"username": "admin", "password": password})
    assert response.status_code == 302
    assert client.get("/django-admin/")["Location"] == "/settings/password/"
    change_password(client, password)
    assert client.get("/django-admin/").status_code == 200


# --- the users page: deactivate, reactivate, issue a one-time password ---------------------------------------


def test_an_admin_issues_a_one_time_password_shown_once_and_audited(client, ada, alice):
    _, raw = api_key_create(user=alice)
    other = client_for(alice)
    client.force_login(ada)
    asked = client.post(f"/settings/users/{alice.pk}/one-time-password")
    assert "Issue alice a new one-time password?" in asked.content.decode()
    assert "alice&#x27;s current password stops working and their open sessions end" in asked.content.decode()
    assert other.get("/agents/").status_code == 200  # nothing happened yet
    response = client.post(f"/settings/users/{alice.pk}/one-time-password", {"confirmed": "yes"}, follow=True)
    shown = response.context["new_user"]
    assert shown["username"] == "alice"
    assert shown["password"].encode() in response.content
    assert b"new one-time password" in response.content
    assert shown["password"].encode() not in client.get("/settings/users/").content  # shown once

    alice.refresh_from_db()
    assert alice.check_password(shown["password"])
    assert not alice.check_password("correct horse battery staple")
    assert password_change_required(alice)
    assert other.get("/agents/")["Location"].startswith("/login/")  # her session ended: the password changed
    bearer = APIClient()
    bearer.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert bearer.get("/v1/me").status_code == 200  # her keys are credentials of their own

    event = AuditEvent.objects.get(action="user.one_time_password_issued")
    assert (event.actor_label, event.object_type, event.object_id) == ("ada", "user", "alice")
    assert shown["password"] not in str(event.before) + str(event.after)

    fresh = client_for(None)
    assert sign_in(fresh, "alice", shown["password"]).status_code == 302
    assert fresh.get("/agents/")["Location"] == "/settings/password/"


def test_an_admin_deactivates_and_reactivates_a_user(client, ada, alice):
    _, raw = api_key_create(user=alice)
    bearer = APIClient()
    bearer.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    alices_browser = client_for(alice)
    client.force_login(ada)

    asked = client.post(f"/settings/users/{alice.pk}/active", {"active": "false"})
    assert "Deactivate alice?" in asked.content.decode()
    assert "their sessions end, their API keys and live views stop working" in asked.content.decode()
    assert '<input type="hidden" name="active" value="false">' in asked.content.decode()
    assert bearer.get("/v1/me").status_code == 200  # nothing happened yet

    response = client.post(
        f"/settings/users/{alice.pk}/active", {"active": "false", "confirmed": "yes"}, follow=True
    )
    assert b"alice is deactivated: they are signed out everywhere" in response.content
    assert b"deactivated" in response.content
    alice.refresh_from_db()
    assert not alice.is_active
    assert sign_in(client_for(None), "alice", "correct horse battery staple").status_code == 200  # refused
    assert alices_browser.get("/agents/")["Location"].startswith("/login/")  # her session ended
    assert bearer.get("/v1/me").status_code == 401  # her keys stop working

    response = client.post(f"/settings/users/{alice.pk}/active", {"active": "true"}, follow=True)
    assert b"alice is reactivated" in response.content
    alice.refresh_from_db()
    assert alice.is_active
    assert bearer.get("/v1/me").status_code == 200
    assert sign_in(client_for(None), "alice", "correct horse battery staple").status_code == 302

    events = AuditEvent.objects.filter(action__startswith="user.", object_id="alice").order_by("id")
    assert [(e.action, e.actor_label, e.before, e.after) for e in events] == [
        ("user.deactivated", "ada", {"is_active": True}, {"is_active": False}),
        ("user.reactivated", "ada", {"is_active": False}, {"is_active": True}),
    ]


def test_the_users_page_offers_the_actions_for_others_but_not_oneself(client, ada, alice):
    client.force_login(ada)
    page = client.get("/settings/users/").content.decode()
    assert f'action="/settings/users/{alice.pk}/one-time-password"' in page
    assert f'action="/settings/users/{alice.pk}/active"' in page
    assert f'action="/settings/users/{ada.pk}/active"' not in page
    assert "Deactivate" in page
    assert "Issue a one-time password" in page
    assert 'data-confirm="Deactivate alice? They are signed out everywhere at once' in page
    assert 'data-confirm="Issue alice a new one-time password?' in page


def test_the_users_page_shows_when_each_user_last_signed_in(client, ada, alice, bob):
    alice.last_login = timezone.now() - timedelta(days=3, minutes=5)
    alice.save(update_fields=["last_login"])
    client.force_login(ada)  # signing in sets ada's own last sign-in to now
    page = client.get("/settings/users/").content.decode()
    row_of = {
        name: re.search(rf">{name}</a>.*?</tr>", page, re.S).group(0) for name in ("alice", "bob", "ada")
    }
    assert "3\xa0days ago" in row_of["alice"]
    assert "never" in row_of["bob"]
    assert "0\xa0minutes ago" in row_of["ada"]
    assert '<a href="/audit/?actor=alice"' in page  # what each person did, one click away


def test_an_admin_cannot_deactivate_or_reissue_themselves(client, ada):
    client.force_login(ada)
    response = client.post(
        f"/settings/users/{ada.pk}/active", {"active": "false", "confirmed": "yes"}, follow=True
    )
    assert b"You cannot deactivate yourself" in response.content
    response = client.post(f"/settings/users/{ada.pk}/one-time-password", follow=True)
    assert b"You cannot issue yourself a one-time password" in response.content
    ada.refresh_from_db()
    assert ada.is_active
    assert ada.check_password("correct horse battery staple")
    assert not AuditEvent.objects.filter(action__startswith="user.").exists()


@pytest.mark.parametrize("who", ["alice", "bob", "carol"])
def test_only_an_admin_may_deactivate_or_reissue(client, request, who, erin):
    target, password = erin
    client.force_login(request.getfixturevalue(who))
    assert client.post(f"/settings/users/{target.pk}/active", {"active": "false"}).status_code == 403
    assert client.post(f"/settings/users/{target.pk}/one-time-password").status_code == 403
    target.refresh_from_db()
    assert target.is_active
    assert target.check_password(password)
    assert not AuditEvent.objects.filter(action__startswith="user.").exists()


def test_the_user_actions_need_a_post_with_the_csrf_token(ada, alice):
    client = Client(enforce_csrf_checks=True)
    client.force_login(ada)
    assert client.post(f"/settings/users/{alice.pk}/active", {"active": "false"}).status_code == 403
    assert client.post(f"/settings/users/{alice.pk}/one-time-password").status_code == 403
    assert client.get(f"/settings/users/{alice.pk}/active").status_code == 405
    alice.refresh_from_db()
    assert alice.is_active


def test_a_user_deleted_takes_the_account_state_along(erin):
    user, _ = erin
    user.delete()
    assert not AccountState.objects.exists()
