"""A provider's credentials: what an admin stored on the providers' settings page, else the setting.

`credential("telnyx", "api_key")` answers, in this order:
1. the value stored on /settings/providers/ (encrypted at rest), or the value of the environment variable
   whose name was stored there instead;
2. the setting `<PROVIDER>_<KEY>` (settings.TELNYX_API_KEY, read from the environment at start-up);
3. "".

Stored values are encrypted with Fernet under a key derived from SECRET_KEY (HKDF-SHA256 with a fixed info
label), so the database alone never holds a usable secret. Rotating SECRET_KEY makes them unreadable: such a
value reads as missing (logged once, never an error) until it is entered again.

`credential()` is on hot paths (every Twilio status callback checks its signature with the auth token), and
some of them run on the event loop (async views, websocket consumers): the stored rows are read in one query
and kept in this process for CACHE_SECONDS. A save or clear in this process drops that copy at once; another
process sees it within CACHE_SECONDS. On the event loop the (rare) reload runs on a helper thread, since
Django refuses the ORM there."""

from __future__ import annotations

import asyncio
import base64
import logging
import os
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.signals import setting_changed
from django.db import DatabaseError, connections, transaction

from calls.providers import CredentialField, TelephonyProvider
from telephony.models import ProviderCredential
from wordcab_admin.kernel.audit import audit_record
from wordcab_admin.kernel.errors import DomainError
from wordcab_admin.kernel.public_url import public_url

log = logging.getLogger(__name__)

CACHE_SECONDS = 5.0  # how stale another process's save may be seen here; a save here is seen at once
KEY_DERIVATION_INFO = (
    b"wordcab-admin provider credentials v1"  # changing it makes every stored value unreadable
)
MAX_VALUE_LENGTH = 4096
ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}")
# Environment variables of the deployment itself: a credential may not point at them (its masked form and
# the carrier would both see a piece of them).
RESERVED_ENV_NAMES = frozenset({"SECRET_KEY", "DATABASE_URL", "REDIS_URL"})
SHOWN_LAST = 4  # a secret is shown as ••••<its last 4 characters>, when it is long enough to spare them
SHOWN_LAST_MIN_LENGTH = 12


class CredentialError(DomainError):
    code = "invalid_credential"


# --- encryption -------------------------------------------------------------------------------------------


@lru_cache(maxsize=4)
def _fernet(secret_key: str) -> Fernet:
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=KEY_DERIVATION_INFO).derive(
        secret_key.encode()
    )
    return Fernet(base64.urlsafe_b64encode(derived))


def credential_encrypt(value: str) -> str:
    return _fernet(settings.SECRET_KEY).encrypt(value.encode()).decode("ascii")


def credential_decrypt(token: str) -> str | None:
    """The value, or None when it no longer decrypts (SECRET_KEY rotated, or the row was tampered with)."""
    try:
        return _fernet(settings.SECRET_KEY).decrypt(token.encode("ascii")).decode()
    except (InvalidToken, UnicodeError):
        return None


# --- the stored rows, kept in this process for a few seconds -------------------------------------------------


@dataclass(frozen=True)
class Stored:
    value: str | None  # the decrypted value; None for an environment variable's name, or when unreadable
    env_name: str = ""
    unreadable: bool = False


_lock = threading.Lock()
_cached: tuple[float, dict[tuple[str, str], Stored]] | None = None  # (monotonic time loaded, rows)
_generation = 0  # bumped by every drop, so that a load which raced a save does not keep the old rows
_warned_unreadable: set[str] = set()
_loader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="credentials")


def credentials_cache_clear() -> None:
    """Forget the rows kept in this process: the next `credential()` reads the database."""
    global _cached, _generation
    with _lock:
        _cached = None
        _generation += 1


def _setting_changed(*, setting: str, **kwargs: Any) -> None:
    """Tests change settings (SECRET_KEY, a provider's own): what was decrypted or read before is stale."""
    credentials_cache_clear()


setting_changed.connect(_setting_changed)


def _read_rows() -> dict[tuple[str, str], Stored]:
    try:
        rows = list(ProviderCredential.objects.values_list("provider", "key", "encrypted_value", "env_name"))
    except DatabaseError:  # the table is not there yet (a command run before `migrate`)
        log.warning("provider credentials could not be read; using the settings only", exc_info=True)
        return {}
    entries = {}
    for provider, key, token, env_name in rows:
        if env_name:
            entries[(provider, key)] = Stored(value=None, env_name=env_name)
            continue
        value = credential_decrypt(token)
        if value is None and token not in _warned_unreadable:
            _warned_unreadable.add(token)
            log.warning(
                "The stored %s %s no longer decrypts (SECRET_KEY changed?): it reads as missing until it "
                "is entered again on /settings/providers/",
                provider,
                key,
            )
        entries[(provider, key)] = Stored(value=value, unreadable=value is None)
    return entries


def _read_rows_on_own_connection() -> dict[tuple[str, str], Stored]:
    """On the helper thread: read, then close that thread's connection (it is used once every few seconds,
    and an idle one left open would keep a test database from being dropped)."""
    try:
        return _read_rows()
    finally:
        connections.close_all()


def _on_event_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def _stored_rows() -> dict[tuple[str, str], Stored]:
    global _cached
    cached = _cached
    if cached is not None and time.monotonic() - cached[0] < CACHE_SECONDS:
        return cached[1]
    generation = _generation
    if _on_event_loop():
        rows = _loader.submit(_read_rows_on_own_connection).result(timeout=10)
    else:
        rows = _read_rows()
    with _lock:
        if generation == _generation:
            _cached = (time.monotonic(), rows)
    return rows


def setting_name(provider: str, key: str) -> str:
    return f"{provider}_{key}".upper()


def credential(provider: str, key: str) -> str:
    """The credential `key` of `provider`: stored on the settings page (its value, or its environment
    variable's), else the setting <PROVIDER>_<KEY>, else ""."""
    stored = _stored_rows().get((provider, key))
    if stored is not None:
        value = os.environ.get(stored.env_name, "") if stored.env_name else stored.value
        if value:
            return value
    return getattr(settings, setting_name(provider, key), "") or ""


# --- storing and clearing (the settings page) -------------------------------------------------------------


def _clean_value(value: str, *, label: str) -> str:
    value = value.strip()
    if not value:
        raise CredentialError(f"Enter the {label}.", field="value")
    if len(value) > MAX_VALUE_LENGTH:
        raise CredentialError(f"The {label} can be at most {MAX_VALUE_LENGTH} characters.", field="value")
    if "\x00" in value:
        raise CredentialError(f"The {label} cannot contain a NUL character.", field="value")
    return value


def _clean_env_name(env_name: str) -> str:
    env_name = env_name.strip()
    if not ENV_NAME.fullmatch(env_name):
        raise CredentialError(
            "An environment variable's name is letters, digits and underscores, not starting with a digit "
            "(TWILIO_AUTH_TOKEN).",
            field="value",
        )
    if env_name.upper() in RESERVED_ENV_NAMES:
        raise CredentialError(
            f"{env_name} is the deployment's own secret: name another variable.", field="value"
        )
    return env_name


def _source(row: ProviderCredential | None) -> str | None:
    if row is None:
        return None
    return "environment" if row.env_name else "value"


def _audit_view(provider: TelephonyProvider, field: CredentialField, row: ProviderCredential | None) -> dict:
    """What the audit trail keeps of a credential: where it comes from, never its value."""
    return {
        "provider": provider.name,
        "provider_label": provider.label or provider.name,
        "key": field.key,
        "label": field.label,
        "source": _source(row),
        "env_name": row.env_name if row is not None else "",
    }


def _drop_cache_now_and_on_commit() -> None:
    credentials_cache_clear()
    transaction.on_commit(credentials_cache_clear)  # a read between the save and its commit kept the old row


def provider_credential_store(
    *, provider: TelephonyProvider, field: CredentialField, value: str = "", env_name: str = "", actor: Any
) -> ProviderCredential:
    """Store `value` (encrypted) or the name of the environment variable that holds it, replacing what was
    stored; audited without the value."""
    if env_name:
        fields = {"encrypted_value": "", "env_name": _clean_env_name(env_name)}
    else:
        fields = {
            "encrypted_value": credential_encrypt(_clean_value(value, label=field.label)),
            "env_name": "",
        }
    with transaction.atomic():
        before = (
            ProviderCredential.objects.select_for_update()
            .filter(provider=provider.name, key=field.key)
            .first()
        )
        before_view = _audit_view(provider, field, before) if before is not None else None
        row, _ = ProviderCredential.objects.update_or_create(
            provider=provider.name, key=field.key, defaults={**fields, "updated_by": _user_or_none(actor)}
        )
        audit_record(
            actor=actor, action="provider_credential.set", object_type="provider_credential",
            object_id=f"{provider.name}.{field.key}", before=before_view, after=_audit_view(provider, field, row),
        )  # fmt: skip
        _drop_cache_now_and_on_commit()
    return row


def provider_credential_clear(*, provider: TelephonyProvider, field: CredentialField, actor: Any) -> bool:
    """Remove what was stored for this credential (the setting, if any, applies again). False if nothing was."""
    with transaction.atomic():
        row = (
            ProviderCredential.objects.select_for_update()
            .filter(provider=provider.name, key=field.key)
            .first()
        )
        if row is None:
            return False
        before = _audit_view(provider, field, row)
        row.delete()
        audit_record(
            actor=actor, action="provider_credential.cleared", object_type="provider_credential",
            object_id=f"{provider.name}.{field.key}", before=before, after=_audit_view(provider, field, None),
        )  # fmt: skip
        _drop_cache_now_and_on_commit()
    return True


def _user_or_none(actor: Any) -> Any:
    return actor if getattr(actor, "is_authenticated", False) else None


# --- what the settings page shows ---------------------------------------------------------------------------


def masked(value: str) -> str:
    """A secret as the page shows it: its last characters when it is long enough to spare them, else "set"."""
    if len(value) >= SHOWN_LAST_MIN_LENGTH:
        return "••••" + value[-SHOWN_LAST:]
    return "set"


@dataclass(frozen=True)
class FieldStatus:
    field: CredentialField
    source: str  # "stored", "environment" (a stored variable name), "setting", or "missing"
    shown: str  # the value (not secret), masked (secret), or "" when there is none
    setting_name: str
    env_name: str = ""
    unreadable: bool = False  # a stored value that no longer decrypts
    updated_at: datetime | None = None
    updated_by: str = ""
    stored: bool = False  # a row exists (something to clear)

    @property
    def present(self) -> bool:
        return self.source != "missing"


@dataclass(frozen=True)
class ProviderStatus:
    provider: TelephonyProvider
    fields: list[FieldStatus]
    console_urls: list[tuple[str, str]]  # (label, full URL)

    @property
    def missing(self) -> list[str]:
        return [f.field.label for f in self.fields if not f.present]

    @property
    def state(self) -> str:
        """ "ready", "missing" or "environment" (everything comes from the deployment's settings)."""
        if self.missing:
            return "missing"
        return "environment" if all(f.source == "setting" for f in self.fields) else "ready"

    @property
    def summary(self) -> str:
        if self.missing:
            return "Missing: " + ", ".join(self.missing)
        return "Set in the environment" if self.state == "environment" else "Ready"


def _shown(field: CredentialField, value: str, *, from_environment: bool) -> str:
    if not field.secret:
        return value
    return "set" if from_environment else masked(value)


def _field_status(provider: str, field: CredentialField, row: ProviderCredential | None) -> FieldStatus:
    name = setting_name(provider, field.key)
    setting_value = getattr(settings, name, "") or ""
    stored = {
        "setting_name": name,
        "stored": row is not None,
        "updated_at": row.updated_at if row else None,
        "updated_by": row.updated_by.get_username() if row and row.updated_by else "",
    }
    if row is not None and row.env_name:
        env_value = os.environ.get(row.env_name, "")
        if env_value:
            shown = _shown(field, env_value, from_environment=True)
            return FieldStatus(field, "environment", shown, env_name=row.env_name, **stored)
        source = "setting" if setting_value else "missing"
        shown = _shown(field, setting_value, from_environment=False) if setting_value else ""
        return FieldStatus(field, source, shown, env_name=row.env_name, **stored)
    if row is not None:
        value = credential_decrypt(row.encrypted_value)
        if value:
            return FieldStatus(field, "stored", _shown(field, value, from_environment=False), **stored)
        if setting_value:
            shown = _shown(field, setting_value, from_environment=False)
            return FieldStatus(field, "setting", shown, unreadable=True, **stored)
        return FieldStatus(field, "missing", "", unreadable=True, **stored)
    if setting_value:
        return FieldStatus(field, "setting", _shown(field, setting_value, from_environment=False), **stored)
    return FieldStatus(field, "missing", "", **stored)


def provider_statuses(providers: list[TelephonyProvider]) -> list[ProviderStatus]:
    """Each provider that needs credentials (in the order given), with where each one comes from now: read
    from the database, not the process's copy, so the page is never a few seconds behind."""
    rows = {
        (row.provider, row.key): row
        for row in ProviderCredential.objects.select_related("updated_by").filter(
            provider__in=[p.name for p in providers]
        )
    }
    return [
        ProviderStatus(
            provider=provider,
            fields=[
                _field_status(provider.name, f, rows.get((provider.name, f.key)))
                for f in provider.credentials
            ],
            console_urls=[(label, public_url(path)) for label, path in provider.console_urls],
        )
        for provider in providers
        if provider.credentials
    ]
