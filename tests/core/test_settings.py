"""Settings come from the environment: safe embedded defaults, and a bad value stops start-up naming it."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.checks import run_checks
from django.core.exceptions import ImproperlyConfigured

from wordcab_admin.kernel.env import (
    database_from_url,
    env_bool,
    env_float,
    env_int,
    env_list,
    env_str,
    parallel_test_worker_isolate,
    sqlite_url,
)

BASE_DIR = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(("raw", "expected"), [("1", True), ("TRUE", True), (" yes ", True), ("off", False)])
def test_env_bool_reads_the_usual_spellings(monkeypatch, raw, expected):
    monkeypatch.setenv("FLAG", raw)
    assert env_bool("FLAG", not expected) is expected


def test_unset_or_empty_variables_take_the_default(monkeypatch):
    monkeypatch.delenv("FLAG", raising=False)
    monkeypatch.setenv("EMPTY", "  ")
    assert env_bool("FLAG", True) is True
    assert env_int("EMPTY", 7) == 7
    assert env_float("EMPTY", 1.5) == 1.5
    assert env_str("EMPTY", "x") == "x"
    assert env_list("EMPTY", ["a"]) == ["a"]


def test_env_list_splits_on_commas_and_drops_blanks(monkeypatch):
    monkeypatch.setenv("HOSTS", " a.example.com, ,b.example.com ")
    assert env_list("HOSTS", []) == ["a.example.com", "b.example.com"]


@pytest.mark.parametrize(
    ("reader", "raw", "message"),
    [
        (lambda: env_bool("WC_VALUE", False), "maybe", "WC_VALUE='maybe': expected true or false"),
        (lambda: env_int("WC_VALUE", 1), "8k", "WC_VALUE='8k': expected a whole number"),
        (lambda: env_int("WC_VALUE", 1, minimum=1), "0", "WC_VALUE=0: must be at least 1"),
        (lambda: env_float("WC_VALUE", 1.0), "fast", "WC_VALUE='fast': expected a number"),
        (lambda: env_float("WC_VALUE", 1.0), "-2", "WC_VALUE=-2.0: must be positive"),
    ],
)
def test_a_bad_value_raises_naming_the_variable(monkeypatch, reader, raw, message):
    monkeypatch.setenv("WC_VALUE", raw)
    with pytest.raises(ImproperlyConfigured) as excinfo:
        reader()
    assert str(excinfo.value) == message


def test_database_from_url_reads_a_postgres_url():
    config = database_from_url("postgres://wc:p%40ss@db.internal:6543/wordcab?sslmode=require")
    assert config["ENGINE"] == "django.db.backends.postgresql"
    assert (config["NAME"], config["USER"], config["PASSWORD"]) == ("wordcab", "wc", "p@ss")
    assert (config["HOST"], config["PORT"]) == ("db.internal", "6543")
    assert config["OPTIONS"] == {"sslmode": "require"}
    assert database_from_url("postgresql://postgres@127.0.0.1/wc")["PORT"] == ""


def test_database_from_url_reads_sqlite_urls_and_turns_on_wal(tmp_path):
    config = database_from_url(sqlite_url(tmp_path))
    assert config["ENGINE"] == "django.db.backends.sqlite3"
    assert config["NAME"] == str(tmp_path / "wordcab.sqlite3")
    assert "journal_mode=WAL" in config["OPTIONS"]["init_command"]
    assert database_from_url("sqlite:///relative.db")["NAME"] == "relative.db"
    assert database_from_url("sqlite:////abs/wc.db")["NAME"] == "/abs/wc.db"


@pytest.mark.parametrize("url", ["mysql://root@localhost/wc", "sqlite://", "postgres://"])
def test_database_from_url_refuses_what_it_cannot_use_naming_database_url(url):
    with pytest.raises(ImproperlyConfigured, match="DATABASE_URL"):
        database_from_url(url)


def settings_in_a_fresh_process(tmp_path, **env: str) -> subprocess.CompletedProcess:
    """Import the settings module with exactly this environment (plus DATA_DIR), as start-up does."""
    clean = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "SECRET_KEY", "DATABASE_URL"}}
    clean.update({"DATA_DIR": str(tmp_path), **env})
    code = (
        "import json, wordcab_admin.settings as s; "
        "print(json.dumps({'DEBUG': s.DEBUG, 'ENGINE': s.DATABASES['default']['ENGINE'], "
        "'NAME': str(s.DATABASES['default']['NAME']), 'ALLOWED_HOSTS': s.ALLOWED_HOSTS, "
        "'CSRF': s.CSRF_TRUSTED_ORIGINS, 'PUBLIC': s.PUBLIC_BASE_URL, 'BROKER': s.CELERY_BROKER_URL, "
        "'SECURE': getattr(s, 'SESSION_COOKIE_SECURE', False), 'CSRF_SECURE': getattr(s, 'CSRF_COOKIE_SECURE', False), "
        "'SSL_REDIRECT': getattr(s, 'SECURE_SSL_REDIRECT', False), 'HSTS': getattr(s, 'SECURE_HSTS_SECONDS', 0), "
        "'KEY': s.SECRET_KEY, 'STATIC': s.STORAGES['staticfiles']['BACKEND']}))"
    )
    return subprocess.run(
        [sys.executable, "-c", code], env=clean, cwd=BASE_DIR, capture_output=True, text=True, timeout=60
    )


def test_the_embedded_defaults_need_no_environment_at_all(tmp_path):
    import json

    result = settings_in_a_fresh_process(tmp_path, PORT="8123", REDIS_URL="redis://127.0.0.1:6390/3")
    assert result.returncode == 0, result.stderr
    values = json.loads(result.stdout)
    assert values["DEBUG"] is False  # Django's debug pages show source and settings: only when asked for
    assert values["ENGINE"] == "django.db.backends.sqlite3"
    assert values["NAME"] == str(tmp_path / "wordcab.sqlite3")
    assert values["PUBLIC"] == "http://127.0.0.1:8123"
    assert values["CSRF"] == ["http://127.0.0.1:8123"]
    assert values["BROKER"] == "redis://127.0.0.1:6390/3"
    # Plain http on 127.0.0.1: no HTTPS redirect, HSTS or secure-only cookies, which would lock the browser out.
    secure = [values[name] for name in ("SECURE", "CSRF_SECURE", "SSL_REDIRECT", "HSTS")]
    assert secure == [False, False, False, 0]
    # DEBUG off: WhiteNoise's storage, serving static/ through the finders without collectstatic.
    assert values["STATIC"] == "whitenoise.storage.CompressedStaticFilesStorage"
    # The key is made once in DATA_DIR, readable by its owner only, and kept.
    key_file = tmp_path / "secret_key"
    assert values["KEY"] == key_file.read_text().strip()
    assert len(values["KEY"]) >= 50
    assert key_file.stat().st_mode & 0o777 == 0o600
    again = settings_in_a_fresh_process(tmp_path, PORT="8123", REDIS_URL="redis://127.0.0.1:6390/3")
    assert json.loads(again.stdout)["KEY"] == values["KEY"]


def test_debug_is_turned_on_only_when_asked_for_and_keeps_the_embedded_key(tmp_path):
    import json

    result = settings_in_a_fresh_process(tmp_path, DEBUG="true", REDIS_URL="redis://127.0.0.1:6390/3")
    assert result.returncode == 0, result.stderr
    values = json.loads(result.stdout)
    assert values["DEBUG"] is True
    assert values["KEY"] == (tmp_path / "secret_key").read_text().strip()
    assert values["SSL_REDIRECT"] is False


def test_processes_starting_together_share_one_embedded_key(tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    from wordcab_admin.kernel.env import embedded_secret_key

    with ThreadPoolExecutor(8) as pool:
        keys = set(pool.map(lambda _: embedded_secret_key(tmp_path), range(32)))
    assert keys == {(tmp_path / "secret_key").read_text().strip()}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["secret_key"]  # no draft left behind


def test_a_broken_embedded_key_file_stops_start_up_naming_it(tmp_path):
    (tmp_path / "secret_key").write_text("\n")
    result = settings_in_a_fresh_process(tmp_path)
    assert result.returncode != 0
    assert f"{tmp_path / 'secret_key'} holds no usable key: delete it" in result.stderr


def test_production_values_are_read_from_the_environment(tmp_path):
    import json

    result = settings_in_a_fresh_process(
        tmp_path,
        DEBUG="false",
        SECRET_KEY=secrets.token_urlsafe(50),
        DATABASE_URL="postgres://wc@db.internal:5432/wordcab",
        ALLOWED_HOSTS="admin.example.com",
        CSRF_TRUSTED_ORIGINS="https://admin.example.com",
        PUBLIC_BASE_URL="https://admin.example.com/",
    )
    assert result.returncode == 0, result.stderr
    values = json.loads(result.stdout)
    assert values["DEBUG"] is False
    assert values["ENGINE"] == "django.db.backends.postgresql"
    assert values["ALLOWED_HOSTS"] == ["admin.example.com"]
    assert values["CSRF"] == ["https://admin.example.com"]
    assert values["PUBLIC"] == "https://admin.example.com"
    assert (values["SECURE"], values["CSRF_SECURE"], values["SSL_REDIRECT"]) == (True, True, True)
    assert values["HSTS"] == 31536000
    assert not (tmp_path / "secret_key").exists()  # production's key is its own SECRET_KEY


def test_https_turns_on_the_redirect_hsts_and_secure_cookies_whether_or_not_debug_is_on(tmp_path):
    import json

    result = settings_in_a_fresh_process(
        tmp_path,
        DEBUG="true",
        SECRET_KEY=secrets.token_urlsafe(50),
        PUBLIC_BASE_URL="https://admin.example.com",
    )
    assert result.returncode == 0, result.stderr
    values = json.loads(result.stdout)
    assert (values["SECURE"], values["SSL_REDIRECT"], values["HSTS"]) == (True, True, 31536000)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"PUBLIC_BASE_URL": "https://admin.example.com"}, "Set SECRET_KEY (a long random string)"),
        ({"DEBUG": "nope"}, "DEBUG='nope': expected true or false"),
        ({"PORT": "http"}, "PORT='http': expected a whole number"),
        ({"DATABASE_URL": "mysql://x/y"}, "DATABASE_URL scheme 'mysql' is not supported"),
        ({"REDIS_URL": "localhost:6379"}, "REDIS_URL='localhost:6379': expected redis://"),
        ({"PUBLIC_BASE_URL": "wordcab.example.com"}, "PUBLIC_BASE_URL='wordcab.example.com'"),
        ({"SIMULATOR_SPEED": "0"}, "SIMULATOR_SPEED=0.0: must be positive"),
    ],
)
def test_a_bad_setting_stops_start_up_naming_the_variable(tmp_path, env, message):
    result = settings_in_a_fresh_process(tmp_path, **env)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert message in result.stderr


def test_check_deploy_is_clean_with_production_values(tmp_path):
    env = {
        **{k: v for k, v in os.environ.items() if k != "DATABASE_URL"},
        "DATA_DIR": str(tmp_path),
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(60),
        "ALLOWED_HOSTS": "admin.example.com",
        "CSRF_TRUSTED_ORIGINS": "https://admin.example.com",
        "PUBLIC_BASE_URL": "https://admin.example.com",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        env=env,
        cwd=BASE_DIR,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_deploy_checks_still_run_for_the_inline_middleware_and_catch_a_missing_hsts(settings):
    settings.SECURE_HSTS_SECONDS = 0
    settings.X_FRAME_OPTIONS = "SAMEORIGIN"
    found = {message.id for message in run_checks(include_deployment_checks=True)}
    assert {"security.W004", "security.W019"} <= found  # HSTS and X-Frame-Options, checked
    assert not {"security.W001", "security.W002", "security.W003"} & found  # middleware seen as present


def test_each_parallel_test_worker_gets_a_redis_database_and_data_dir_of_its_own_once():
    base = {"DATA_DIR": "/srv/suite", "REDIS_URL": "redis://127.0.0.1:6379/7"}
    first = {**base, "PYTEST_XDIST_WORKER": "gw0"}
    second = {**base, "PYTEST_XDIST_WORKER": "gw1"}
    parallel_test_worker_isolate(first)
    parallel_test_worker_isolate(second)
    assert (first["REDIS_URL"], first["DATA_DIR"]) == ("redis://127.0.0.1:6379/7", "/srv/suite/gw0")
    assert (second["REDIS_URL"], second["DATA_DIR"]) == ("redis://127.0.0.1:6379/8", "/srv/suite/gw1")
    # A server or worker the test starts inherits the worker's environment and keeps it as it is.
    inherited = dict(second)
    parallel_test_worker_isolate(inherited)
    assert inherited == second
    # Outside the parallel workers nothing changes.
    alone = dict(base)
    parallel_test_worker_isolate(alone)
    assert alone == base
