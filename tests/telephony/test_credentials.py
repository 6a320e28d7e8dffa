"""Provider credentials (issue #19): stored from /settings/providers/ encrypted or as an environment variable's
name, read by `telephony.credentials.credential` (kept in process a few seconds, dropped on save), with the
setting <PROVIDER>_<KEY> behind them; the page is for admins, shows a secret once, and every change is
audited without the secret."""

import asyncio
import json
import logging
import re

import pytest
from django.db import connection
from django.test import Client
from twilio.request_validator import RequestValidator

from calls.providers import provider_for
from compliance.audit_sentences import audit_names, audit_sentence_text
from compliance.models import AuditEvent
from telephony import credentials
from telephony.credentials import (
    credential,
    credentials_cache_clear,
    provider_credential_clear,
    provider_credential_store,
)
from telephony.models import ProviderCredential
from telephony.twilio.signature import twilio_signature_valid
from tests.helpers import wait_for

pytestmark = pytest.mark.django_db

TOKEN = "f3a9c2d1e0b8a7965432abcd1234wxyz"  # noqa: S105 -- a made-up Twilio auth token
PAGE = "/settings/providers/"
SET_TOKEN = "/settings/providers/twilio/auth_token/set"
CLEAR_TOKEN = "/settings/providers/twilio/auth_token/clear"


@pytest.fixture(autouse=True)
def fresh_cache():
    """The process's copy of the stored rows outlives a test's rolled-back rows: start and end without it."""
    credentials_cache_clear()
    yield
    credentials_cache_clear()


@pytest.fixture
def twilio_unset(settings):
    settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN = "", ""


@pytest.fixture
def twilio():
    provider = provider_for("twilio")
    return provider, {f.key: f for f in provider.credentials}


def store_token(actor, value: str = TOKEN, **kwargs):
    provider, fields = provider_for("twilio"), {f.key: f for f in provider_for("twilio").credentials}
    return provider_credential_store(
        provider=provider, field=fields["auth_token"], value=value, actor=actor, **kwargs
    )


def page_text(response) -> str:
    """The page as a reader sees it: tags removed, white space collapsed."""
    return " ".join(re.sub(r"<[^>]+>", " ", response.content.decode()).split())


def provider_status(response, provider: str) -> str:
    """The status line of one provider's section ("Ready", "Missing: …", "Set in the environment")."""
    found = re.search(rf'<p id="provider-{provider}-status">(.*?)</p>', response.content.decode(), re.S)
    assert found, f"no status line for {provider}"
    return " ".join(re.sub(r"<[^>]+>", " ", found.group(1)).split())


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


# --- reading: stored, environment, setting ------------------------------------------------------------------


def test_a_stored_value_reads_back_and_the_database_holds_it_only_encrypted(ada, twilio_unset):
    store_token(ada)
    assert credential("twilio", "auth_token") == TOKEN
    with connection.cursor() as cursor:
        cursor.execute("SELECT encrypted_value, env_name FROM telephony_provider_credential")
        rows = cursor.fetchall()
    assert len(rows) == 1
    encrypted, env_name = rows[0]
    assert TOKEN not in encrypted
    assert TOKEN[-8:] not in encrypted
    assert encrypted.startswith("gAAAAA")  # a Fernet token
    assert env_name == ""


def test_a_stored_environment_variable_name_reads_that_variables_value(
    ada, twilio, twilio_unset, monkeypatch
):
    provider, fields = twilio
    monkeypatch.setenv("OUR_TWILIO_TOKEN", "from-the-environment")
    provider_credential_store(
        provider=provider, field=fields["auth_token"], env_name="OUR_TWILIO_TOKEN", actor=ada
    )
    assert credential("twilio", "auth_token") == "from-the-environment"
    assert ProviderCredential.objects.get().encrypted_value == ""


def test_without_anything_stored_the_setting_applies_else_nothing(settings):
    settings.TELNYX_API_KEY = "KEY-from-settings"
    assert credential("telnyx", "api_key") == "KEY-from-settings"
    settings.TELNYX_API_KEY = ""
    assert credential("telnyx", "api_key") == ""
    assert credential("nobody", "anything") == ""


def test_a_named_environment_variable_that_is_unset_falls_back_to_the_setting(
    ada, twilio, settings, monkeypatch
):
    provider, fields = twilio
    monkeypatch.delenv("NOT_SET_ANYWHERE", raising=False)
    settings.TWILIO_AUTH_TOKEN = "setting-token"
    provider_credential_store(
        provider=provider, field=fields["auth_token"], env_name="NOT_SET_ANYWHERE", actor=ada
    )
    assert credential("twilio", "auth_token") == "setting-token"


def test_an_environment_variable_name_is_checked_and_the_deployments_own_secrets_are_refused(ada, twilio):
    provider, fields = twilio
    for bad in ["1TOKEN", "TOKEN-WITH-DASH", "", "SECRET_KEY", "database_url"]:
        with pytest.raises(credentials.CredentialError):
            provider_credential_store(
                provider=provider, field=fields["auth_token"], env_name=bad or " ", actor=ada
            )
    assert not ProviderCredential.objects.exists()


# --- the process's copy: a few seconds, dropped on save ---------------------------------------------------


def test_the_stored_rows_are_read_once_then_kept_for_a_few_seconds(
    ada, twilio_unset, django_assert_num_queries
):
    store_token(ada)
    assert credential("twilio", "auth_token") == TOKEN  # reads the table once
    with django_assert_num_queries(0):  # the status callback's hot path: no query while the copy is fresh
        for _ in range(100):
            assert credential("twilio", "auth_token") == TOKEN
            assert credential("twilio", "account_sid") == ""


def test_a_change_made_by_another_process_is_seen_once_the_copy_expires(ada, twilio_unset, monkeypatch):
    store_token(ada)
    assert credential("twilio", "auth_token") == TOKEN
    # Another process stores a new value: no cache drop reaches this one.
    ProviderCredential.objects.filter(key="auth_token").update(
        encrypted_value=credentials.credential_encrypt("rotated-elsewhere")
    )
    assert credential("twilio", "auth_token") == TOKEN  # still the copy, within CACHE_SECONDS
    monkeypatch.setattr(credentials, "CACHE_SECONDS", 0.2)
    wait_for(
        lambda: credential("twilio", "auth_token") == "rotated-elsewhere",
        timeout=5,
        what="the copy to expire",
    )


def test_a_save_or_clear_in_this_process_is_seen_at_once(ada, twilio, twilio_unset):
    provider, fields = twilio
    store_token(ada, value="first-token-value")
    assert credential("twilio", "auth_token") == "first-token-value"
    store_token(ada, value="second-token-value")
    assert credential("twilio", "auth_token") == "second-token-value"
    provider_credential_clear(provider=provider, field=fields["auth_token"], actor=ada)
    assert credential("twilio", "auth_token") == ""


@pytest.mark.django_db(transaction=True)
def test_on_the_event_loop_the_stored_rows_are_read_on_a_helper_thread(settings):
    """Async views (Twilio's status callback) and media consumers call credential() on the event loop, where
    Django refuses the ORM: the reload runs on a helper thread instead of raising."""
    settings.TWILIO_AUTH_TOKEN = ""
    ProviderCredential.objects.create(
        provider="twilio", key="auth_token", encrypted_value=credentials.credential_encrypt(TOKEN)
    )
    credentials_cache_clear()

    async def on_the_loop() -> str:
        return credential("twilio", "auth_token")

    assert asyncio.run(on_the_loop()) == TOKEN


def test_a_stored_value_that_no_longer_decrypts_reads_as_missing_with_a_log_line(
    ada, twilio_unset, settings, caplog
):
    store_token(ada)
    settings.SECRET_KEY = "a-rotated-secret-key-" + "x" * 40
    with caplog.at_level(logging.WARNING, logger="telephony.credentials"):
        assert credential("twilio", "auth_token") == ""
    assert "no longer decrypts" in caplog.text
    assert TOKEN not in caplog.text
    page = signed_in(ada).get(PAGE)
    assert page.status_code == 200
    assert "no longer decrypts" in page_text(page)
    assert provider_status(page, "twilio") == "Missing: Account SID, Auth token"


def test_twilio_signatures_are_checked_with_the_stored_auth_token(ada, twilio_unset):
    url, params = "https://example.test/v1/twilio/status", {"CallSid": "CA1", "CallStatus": "ringing"}
    signature = RequestValidator(TOKEN).compute_signature(url, params)
    assert not twilio_signature_valid(url, params, signature)  # no token anywhere: nothing is trusted
    store_token(ada)
    assert twilio_signature_valid(url, params, signature)


def test_twilio_is_configured_by_stored_credentials(ada, twilio, twilio_unset):
    provider, fields = twilio
    assert provider.not_configured()
    store_token(ada)
    provider_credential_store(
        provider=provider, field=fields["account_sid"], value="AC" + "7" * 32, actor=ada
    )
    assert provider.not_configured() == ""


# --- the page -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["alice", "bob", "carol"])
def test_only_admins_may_see_or_change_provider_credentials(request, who, twilio_unset):
    client = signed_in(request.getfixturevalue(who))
    assert client.get(PAGE).status_code == 403
    assert client.post(SET_TOKEN, {"source": "value", "value": TOKEN}).status_code == 403
    assert client.post(CLEAR_TOKEN, {"confirmed": "yes"}).status_code == 403
    assert not ProviderCredential.objects.exists()


def test_the_page_shows_each_provider_with_credentials_its_status_and_its_console_urls(ada, settings):
    settings.PUBLIC_BASE_URL = "https://admin.example.com"
    settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN = "", ""
    body = signed_in(ada).get(PAGE).content.decode()
    assert 'id="provider-twilio"' in body
    assert 'id="provider-simulator"' not in body  # no credentials, no section
    assert provider_status(signed_in(ada).get(PAGE), "twilio") == "Missing: Account SID, Auth token"
    assert "https://admin.example.com/v1/twilio/voice" in body
    assert "https://admin.example.com/v1/twilio/status" in body

    settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN = "AC" + "1" * 32, "token-from-the-environment"
    body = signed_in(ada).get(PAGE).content.decode()
    assert provider_status(signed_in(ada).get(PAGE), "twilio") == "Set in the environment"
    assert "AC" + "1" * 32 in body  # not a secret: shown
    assert "token-from-the-environment" not in body
    assert "••••ment" in body

    store_token(ada)
    assert provider_status(signed_in(ada).get(PAGE), "twilio") == "Ready"


def test_a_stored_secret_is_shown_once_then_only_masked(ada, twilio_unset):
    client = signed_in(ada)
    saved = client.post(SET_TOKEN, {"source": "value", "value": TOKEN})
    assert saved.status_code == 302
    first = client.get(PAGE).content.decode()
    assert f'<p class="secret" id="new-credential">{TOKEN}</p>' in first
    again = client.get(PAGE).content.decode()
    assert TOKEN not in again
    assert "••••wxyz" in again
    assert "stored here, encrypted" in again
    assert all(TOKEN not in str(value) for value in client.session.values())  # not kept in the session


def test_a_refused_value_is_answered_on_the_page_without_echoing_it(ada, twilio_unset):
    response = signed_in(ada).post(SET_TOKEN, {"source": "environment", "value": "not a name!"})
    assert response.status_code == 400
    assert "letters, digits and underscores" in response.content.decode()
    assert "not a name!" not in response.content.decode()
    assert not ProviderCredential.objects.exists()


def test_an_unknown_provider_or_credential_is_a_404(ada):
    client = signed_in(ada)
    assert client.post("/settings/providers/nobody/auth_token/set", {"value": "x"}).status_code == 404
    assert client.post("/settings/providers/twilio/nothing/set", {"value": "x"}).status_code == 404


def test_clearing_asks_first_then_the_setting_applies_again(ada, settings):
    settings.TWILIO_AUTH_TOKEN = "setting-token"
    store_token(ada)
    client = signed_in(ada)
    asked = client.post(CLEAR_TOKEN)
    assert asked.status_code == 200
    assert "Clear the stored Twilio Auth token?" in asked.content.decode()
    assert ProviderCredential.objects.exists()
    assert client.post(CLEAR_TOKEN, {"confirmed": "yes"}).status_code == 302
    assert not ProviderCredential.objects.exists()
    assert credential("twilio", "auth_token") == "setting-token"


# --- the audit trail ------------------------------------------------------------------------------------


def test_storing_and_clearing_are_audited_without_the_secret(ada, twilio_unset, monkeypatch):
    client = signed_in(ada)
    client.post(SET_TOKEN, {"source": "value", "value": TOKEN})
    monkeypatch.setenv("TWILIO_TOKEN_FROM_VAULT", "vault-token-value")
    client.post(SET_TOKEN, {"source": "environment", "value": "TWILIO_TOKEN_FROM_VAULT"})
    client.post(CLEAR_TOKEN, {"confirmed": "yes"})
    events = list(AuditEvent.objects.filter(object_type="provider_credential").order_by("pk"))
    assert [e.action for e in events] == [
        "provider_credential.set",
        "provider_credential.set",
        "provider_credential.cleared",
    ]
    assert all(e.object_id == "twilio.auth_token" and e.actor_label == "ada" for e in events)
    for event in events:
        recorded = json.dumps([event.before, event.after])
        assert TOKEN not in recorded
        assert "vault-token-value" not in recorded
    names = audit_names(events)
    assert [audit_sentence_text(e, names) for e in events] == [
        "ada stored a new Twilio Auth token (encrypted).",
        "ada set the Twilio Auth token to be read from the environment variable TWILIO_TOKEN_FROM_VAULT.",
        "ada cleared the stored Twilio Auth token.",
    ]
