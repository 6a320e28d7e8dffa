"""Bad API keys: ten unknown keys from one address lock it out (429 `too_many_failures`, Retry-After), a
valid key from it too, audited once per lockout; other addresses are unaffected. Counted in the cache that
every web process shares (settings.CACHES: the Redis at REDIS_URL)."""

from collections.abc import Iterator

import pytest
from django.conf import settings
from redis.exceptions import ConnectionError as RedisConnectionError
from rest_framework.test import APIClient

from compliance.models import AuditEvent
from tests.helpers import wait_for
from wordcab_admin.kernel.accounts import api_key_create, api_key_lockout_clear

LIMIT = 10
ATTACKER, NEIGHBOUR = "10.9.0.1", "10.9.0.2"


@pytest.fixture(autouse=True)
def fresh_counts() -> Iterator[None]:
    """The cache outlives a test (the database does not): start and end with no count for our addresses."""
    for address in (ATTACKER, NEIGHBOUR):
        api_key_lockout_clear(address)
    yield
    for address in (ATTACKER, NEIGHBOUR):
        api_key_lockout_clear(address)


def me(raw: str, address: str):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client.get("/v1/me", REMOTE_ADDR=address)


def test_the_cache_is_the_redis_every_web_process_shares():
    cache = settings.CACHES["default"]
    assert cache["BACKEND"] == "django.core.cache.backends.redis.RedisCache"
    assert cache["LOCATION"] == settings.REDIS_URL


def test_ten_bad_keys_lock_the_address_out_and_then_even_a_good_key_is_refused(alice):
    _, good = api_key_create(user=alice)
    statuses = [me(f"wck_guess-{n}", ATTACKER).status_code for n in range(LIMIT)]
    assert statuses == [401] * (LIMIT - 1) + [429]

    refused = me(good, ATTACKER)
    assert refused.status_code == 429
    error = refused.json()["error"]
    assert error["code"] == "too_many_failures"
    assert error["field"] is None
    assert "Too many failed API key attempts" in error["message"]
    assert 0 < error["retry_after"] <= 15 * 60
    assert 0 < int(refused["Retry-After"]) <= 15 * 60

    assert me(good, NEIGHBOUR).status_code == 200  # another address is unaffected
    assert me("wck_guess-x", NEIGHBOUR).status_code == 401  # and its own failures are its own


def test_a_lockout_is_audited_once(db):
    for n in range(LIMIT + 5):
        me(f"wck_guess-{n}", ATTACKER)
    lockout = AuditEvent.objects.get(action="auth.api_key_locked_out")
    assert (lockout.actor_label, lockout.object_type, lockout.object_id) == ("system", "address", ATTACKER)
    assert lockout.after == {"failures": LIMIT, "lockout_seconds": 15 * 60}


def test_good_keys_do_not_count_and_the_lockout_ends(alice, settings):
    settings.API_KEY_LOCKOUT_SECONDS = 1
    _, good = api_key_create(user=alice)
    for n in range(LIMIT - 1):
        assert me(f"wck_guess-{n}", ATTACKER).status_code == 401
        assert me(good, ATTACKER).status_code == 200
    assert me("wck_guess-last", ATTACKER).status_code == 429
    assert me(good, ATTACKER).status_code == 429
    wait_for(lambda: me(good, ATTACKER).status_code == 200, timeout=5, what="the lockout to end")
    assert me("wck_guess-again", ATTACKER).status_code == 401  # counted afresh


def test_no_key_and_other_schemes_are_not_counted(db):
    for _ in range(LIMIT + 1):
        client = APIClient()
        assert client.get("/v1/me", REMOTE_ADDR=ATTACKER).status_code == 401
        client.credentials(HTTP_AUTHORIZATION="Token whatever")
        assert client.get("/v1/me", REMOTE_ADDR=ATTACKER).status_code == 401
    assert me("wck_guess", ATTACKER).status_code == 401


def test_with_the_lockout_cache_unreachable_keys_are_still_checked(alice, monkeypatch):
    def unreachable(*args, **kwargs):
        raise RedisConnectionError("Redis is down")

    _, raw = api_key_create(user=alice)
    for method in ("get", "add", "incr"):
        monkeypatch.setattr(f"wordcab_admin.kernel.accounts.cache.{method}", unreachable)
    assert me(raw, ATTACKER).status_code == 200  # not a 500: the API stays up without the lockout
    assert me("wck_not-a-key", ATTACKER).status_code == 401
