"""Roles are checked in one place (wordcab_admin/kernel/roles.py) by pages and endpoints alike."""

import pytest
from django.contrib.auth import get_user_model
from django.urls import include, path
from rest_framework.response import Response
from rest_framework.views import APIView

from wordcab_admin.kernel.roles import Capability, Role, role_of


def test_signed_out_visitors_are_sent_to_the_login_page(client, db):
    response = client.get("/settings/users/")
    assert response.status_code == 302
    assert response["Location"] == "/login/?next=/settings/users/"


@pytest.mark.parametrize("who", ["alice", "bob", "carol"])
def test_only_an_admin_may_open_the_users_page(client, request, who):
    client.force_login(request.getfixturevalue(who))
    response = client.get("/settings/users/")
    assert response.status_code == 403
    assert b"You do not have access to this page." in response.content
    assert b"Your role may not administer." in response.content
    assert b"Users and roles" not in client.get("/settings/").content  # and the link is hidden


def test_an_admin_sees_every_user_with_their_role(client, ada, alice, bob, carol):
    client.force_login(ada)
    assert b"Users and roles" in client.get("/settings/").content
    response = client.get("/settings/users/")
    assert response.status_code == 200
    rows = {user.username: role for user, role in response.context["rows"]}
    assert rows == {"ada": "admin", "alice": "operator", "bob": "viewer", "carol": "compliance"}


def test_an_admin_adds_a_user_who_signs_in_with_the_one_time_password(client, ada):
    client.force_login(ada)
    response = client.post("/settings/users/create", {"username": "erin", "role": "operator"}, follow=True)
    shown = response.context["new_user"]
    assert shown["username"] == "erin"
    assert shown["password"].encode() in response.content
    assert shown["password"].encode() not in client.get("/settings/users/").content  # shown once
    erin = get_user_model().objects.get(username="erin")
    assert role_of(erin) == Role.OPERATOR
    client.logout()
    signed_in = client.post("/login/", {"username": "erin", "password": shown["password"]})
    assert signed_in.status_code == 302
    assert signed_in["Location"] == "/"


def test_a_taken_username_is_refused_with_a_message_and_what_was_typed_kept(client, ada, alice):
    client.force_login(ada)
    response = client.post("/settings/users/create", {"username": "Alice", "role": "compliance"})
    assert response.status_code == 400
    content = response.content.decode()
    assert "There is already a user named Alice." in content
    assert 'value="Alice"' in content
    assert '<option value="compliance" selected>' in content
    assert get_user_model().objects.filter(username__iexact="alice").count() == 1


def test_an_admin_changes_someones_role_but_not_their_own(client, ada, bob):
    client.force_login(ada)
    client.post(f"/settings/users/{bob.pk}/role", {"role": "compliance"})
    bob = get_user_model().objects.get(pk=bob.pk)
    assert role_of(bob) == Role.COMPLIANCE
    response = client.post(f"/settings/users/{ada.pk}/role", {"role": "viewer"}, follow=True)
    assert b"You cannot change your own role" in response.content
    assert role_of(get_user_model().objects.get(pk=ada.pk)) == Role.ADMIN


def test_an_operator_cannot_change_roles(client, alice, bob):
    client.force_login(alice)
    assert client.post(f"/settings/users/{bob.pk}/role", {"role": "admin"}).status_code == 403
    assert role_of(get_user_model().objects.get(pk=bob.pk)) == Role.VIEWER


class RetentionKnob(APIView):
    """A stand-in endpoint whose writes need COMPLIANCE, as the compliance API's do."""

    write_capability = Capability.COMPLIANCE

    def get(self, request):
        return Response({"ok": True})

    def post(self, request):
        return Response({"ok": True}, status=201)


urlpatterns = [path("v1/knob", RetentionKnob.as_view()), path("", include("wordcab_admin.urls"))]


@pytest.mark.urls("tests.core.test_roles")
@pytest.mark.parametrize(
    ("who", "read", "write"),
    [("ada", 200, 201), ("carol", 200, 201), ("alice", 200, 403), ("bob", 200, 403)],
)
def test_an_endpoint_asks_the_same_role_table(api, request, who, read, write):
    client = api(request.getfixturevalue(who))
    assert client.get("/v1/knob").status_code == read
    response = client.post("/v1/knob", {}, format="json")
    assert response.status_code == write
    if write == 403:
        assert response.json()["error"]["code"] == "permission_denied"


def test_a_viewer_may_read_agents_but_not_create_one(api, bob):
    client = api(bob)
    assert client.get("/v1/agents").status_code == 200
    response = client.post("/v1/agents", {"name": "Sneaky"}, format="json")
    assert response.status_code == 403
    assert response.json()["error"] == {
        "code": "permission_denied",
        "message": "Your role does not allow this.",
        "field": None,
    }


def test_anyone_signed_in_changes_their_own_password(client, bob):
    client.force_login(bob)
    wrong = client.post(
        "/settings/password/",
        {
            "old_password": "nope",
            "new_password1": "a new long passphrase",
            "new_password2": "a new long passphrase",
        },
    )
    assert wrong.status_code == 200
    assert b"Your old password was entered incorrectly" in wrong.content
    response = client.post(
        "/settings/password/",
        {
            "old_password": "correct horse battery staple",
            "new_password1": "a new long passphrase",
            "new_password2": "a new long passphrase",
        },
        follow=True,
    )
    assert b"Your password was changed." in response.content
    client.logout()
    assert client.login(username="bob", password="a new long passphrase")
