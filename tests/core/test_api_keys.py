"""API keys: the command, the API and the UI; only hashes stored; good, bad and revoked keys."""

import hashlib
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from compliance.models import AuditEvent
from tests.factories import UserFactory
from wordcab_admin.kernel.accounts import ApiKey, api_key_create, api_key_lockout_clear, api_key_revoke


@pytest.fixture(autouse=True)
def no_failures_counted_before():
    """Bad keys from the test client's address are counted in the cache, which outlives each test
    (tests/core/test_api_key_lockout.py tests the lockout): no test here starts near it or leaves a count."""
    api_key_lockout_clear("127.0.0.1")
    yield
    api_key_lockout_clear("127.0.0.1")


def bearer(raw: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


def test_create_api_key_prints_the_key_once_and_stores_only_its_hash(alice):
    out, err = StringIO(), StringIO()
    call_command("create_api_key", "alice", stdout=out, stderr=err)
    raw = out.getvalue().strip()
    assert raw.startswith("wck_")
    assert len(raw) > 40
    assert "not be shown again" in err.getvalue()
    key = ApiKey.objects.get(user=alice)
    assert key.key_hash == hashlib.sha256(raw.encode()).hexdigest()
    stored = [str(v) for v in ApiKey.objects.filter(pk=key.pk).values().get().values()]
    assert raw not in stored  # nowhere in the row
    assert bearer(raw).get("/v1/me").json() == {
        "username": "alice",
        "role": "operator",
        "capabilities": ["operate", "playback", "view"],
    }


def test_create_api_key_for_an_unknown_user_fails_saying_how_to_create_one(db):
    with pytest.raises(CommandError, match="createsuperuser"):
        call_command("create_api_key", "nobody", stdout=StringIO(), stderr=StringIO())


def test_a_good_key_authenticates_as_its_user_and_records_its_use(alice):
    key, raw = api_key_create(user=alice, name="crm")
    assert key.last_used_at is None
    response = bearer(raw).get("/v1/me")
    assert response.status_code == 200
    assert response.json()["username"] == "alice"
    key.refresh_from_db()
    assert key.last_used_at is not None


@pytest.mark.parametrize(
    ("header", "code"),
    [
        (None, "not_authenticated"),
        ("Bearer wck_not-a-real-key", "authentication_failed"),
        ("Bearer ", "authentication_failed"),
        ("Token wck_whatever", "not_authenticated"),  # another scheme: not ours, so no credentials
    ],
)
def test_no_key_or_a_bad_key_is_a_401_in_the_error_shape(db, header, code):
    client = APIClient()
    if header is not None:
        client.credentials(HTTP_AUTHORIZATION=header)
    response = client.get("/v1/me")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == code
    assert response.json()["error"]["message"]
    assert response["WWW-Authenticate"] == "Bearer"


def test_a_revoked_key_is_refused_at_once(alice):
    key, raw = api_key_create(user=alice)
    assert bearer(raw).get("/v1/me").status_code == 200
    api_key_revoke(key=key)
    response = bearer(raw).get("/v1/me")
    assert response.status_code == 401
    assert response.json()["error"] == {
        "code": "authentication_failed",
        "message": "Invalid or revoked API key.",
        "field": None,
    }


def test_the_key_of_a_deactivated_user_is_refused(alice):
    _, raw = api_key_create(user=alice)
    alice.is_active = False
    alice.save()
    assert bearer(raw).get("/v1/me").status_code == 401


def test_keys_are_listed_created_and_revoked_through_the_api(api, bob):
    client = api(bob)  # a viewer may manage their own keys: a key carries the viewer's role, no more
    created = client.post("/v1/api-keys", {"name": "reporting"}, format="json")
    assert created.status_code == 201
    body = created.json()
    assert body["key"].startswith("wck_")
    assert body["prefix"] == body["key"][:12]
    assert body["active"] is True

    listed = client.get("/v1/api-keys").json()
    assert set(listed) == {"next", "previous", "results"}
    assert [k["name"] for k in listed["results"]] == ["reporting", "test"]  # newest first
    assert all("key" not in k and "key_hash" not in k for k in listed["results"])

    assert bearer(body["key"]).get("/v1/me").json()["username"] == "bob"
    assert client.delete(f"/v1/api-keys/{body['id']}").status_code == 204
    assert client.delete(f"/v1/api-keys/{body['id']}").status_code == 204  # twice is harmless
    assert bearer(body["key"]).get("/v1/me").status_code == 401
    revoked = next(k for k in client.get("/v1/api-keys").json()["results"] if k["id"] == body["id"])
    assert revoked["active"] is False
    assert revoked["revoked_at"] is not None


def test_someone_elses_key_is_absent_not_forbidden(api, alice, bob):
    key, raw = api_key_create(user=alice)
    response = api(bob).delete(f"/v1/api-keys/{key.pk}")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert bearer(raw).get("/v1/me").status_code == 200
    assert key.pk not in [k["id"] for k in api(bob).get("/v1/api-keys").json()["results"]]


def test_a_key_name_longer_than_100_characters_is_a_400_naming_the_field(api, alice):
    response = api(alice).post("/v1/api-keys", {"name": "x" * 101}, format="json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert (error["code"], error["field"]) == ("max_length", "name")
    assert "100" in error["message"]
    assert ApiKey.objects.filter(user=alice).count() == 1  # only the test client's own


def test_keys_are_created_shown_once_and_revoked_in_the_ui(client, alice):
    client.force_login(alice)
    response = client.post("/settings/api-keys/create", {"name": "zapier"}, follow=True)
    raw = response.context["new_key"]
    assert raw.encode() in response.content
    assert bearer(raw).get("/v1/me").status_code == 200
    again = client.get("/settings/")
    assert raw.encode() not in again.content  # shown once
    assert b"zapier" in again.content
    key = ApiKey.objects.get(user=alice, name="zapier")
    client.post(f"/settings/api-keys/{key.pk}/revoke", {"confirmed": "yes"})
    assert bearer(raw).get("/v1/me").status_code == 401
    assert b"revoked" in client.get("/settings/").content


def test_revoking_a_key_in_the_ui_asks_first_and_the_page_asks_too_without_javascript(client, alice):
    key, raw = api_key_create(user=alice, name="zapier")
    client.force_login(alice)
    settings_page = client.get("/settings/").content.decode()
    assert 'data-confirm="Revoke the API key “zapier” (' in settings_page  # the browser's dialog

    asked = client.post(f"/settings/api-keys/{key.pk}/revoke")
    assert asked.status_code == 200
    page = asked.content.decode()
    assert f"Revoke the API key “zapier” ({key.prefix}…)?" in page
    assert "Every program and script using it stops working at once" in page
    assert '<input type="hidden" name="confirmed" value="yes">' in page
    assert bearer(raw).get("/v1/me").status_code == 200  # not revoked by the question
    assert not AuditEvent.objects.filter(action="api_key.revoked").exists()

    done = client.post(f"/settings/api-keys/{key.pk}/revoke", {"confirmed": "yes"}, follow=True)
    assert f"Key “zapier” ({key.prefix}…) revoked: it no longer works." in done.content.decode()
    assert bearer(raw).get("/v1/me").status_code == 401


@pytest.mark.parametrize(
    ("name", "message"),
    [("k" * 101, "at most 100 characters"), ("bad\x00name", "Null characters are not allowed")],
)
def test_a_bad_key_name_in_the_ui_is_a_readable_message_and_no_key(client, alice, name, message):
    """A NUL in the name was a 500 on PostgreSQL, which cannot store one."""
    client.force_login(alice)
    response = client.post("/settings/api-keys/create", {"name": name}, follow=True)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert f'value="{name.replace(chr(0), "")}"' in response.content.decode()  # what was typed stays
    assert not ApiKey.objects.filter(user=alice).exists()


def test_nobody_revokes_another_users_key_in_the_ui(client, alice, bob):
    key, raw = api_key_create(user=alice)
    client.force_login(bob)
    assert client.post(f"/settings/api-keys/{key.pk}/revoke").status_code == 404
    assert bearer(raw).get("/v1/me").status_code == 200


def test_session_auth_works_for_the_api_too(client, carol):
    client.force_login(carol)
    response = client.get("/v1/me")
    assert response.status_code == 200
    assert response.json()["role"] == "compliance"


def test_a_user_without_a_role_learns_who_they_are_and_nothing_else(api, db):
    dora = UserFactory(username="dora")  # signed up, no role given yet
    client = api(dora)
    assert client.get("/v1/me").json() == {"username": "dora", "role": None, "capabilities": []}
    response = client.get("/v1/api-keys")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"
