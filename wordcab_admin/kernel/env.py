"""Reading settings from the environment: safe embedded defaults, loud failures on bad values."""

import contextlib
import os
import secrets
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlsplit, urlunsplit

from django.core.exceptions import ImproperlyConfigured

TRUE, FALSE = {"1", "true", "yes", "on"}, {"0", "false", "no", "off"}


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, "").strip() or default


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name, "").strip().lower()
    if not raw:
        return default
    if raw not in TRUE | FALSE:
        raise ImproperlyConfigured(f"{name}={raw!r}: expected true or false")
    return raw in TRUE


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r}: expected a whole number") from None
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name}={value}: must be at least {minimum}")
    return value


def env_float(name: str, default: float) -> float:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r}: expected a number") from None
    if value <= 0:
        raise ImproperlyConfigured(f"{name}={value}: must be positive")
    return value


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def sqlite_url(data_dir: Path) -> str:
    return f"sqlite:///{data_dir / 'wordcab.sqlite3'}"


def database_from_url(url: str) -> dict:
    """Turn `postgres://user:pass@host:port/name` or `sqlite:///path` into a DATABASES entry."""
    parts = urlsplit(url)
    if parts.scheme == "sqlite":
        # sqlite:////abs/path.db is absolute, sqlite:///rel/path.db relative, sqlite://:memory: in memory.
        name = unquote(parts.path)[1:] or (parts.netloc if parts.netloc == ":memory:" else "")
        if not name:
            raise ImproperlyConfigured(
                f"DATABASE_URL {url!r}: give a file, e.g. sqlite:////var/lib/wc.sqlite3"
            )
        return {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": name,
            # WAL lets the web server, worker and beat read while one of them writes.
            "OPTIONS": {
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
            },
        }
    if parts.scheme in {"postgres", "postgresql", "pgsql"}:
        if not parts.hostname and not parts.path.strip("/"):
            raise ImproperlyConfigured(
                f"DATABASE_URL {url!r}: expected postgres://user:password@host:port/name"
            )
        options = dict(parse_qsl(parts.query))
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": unquote(parts.path.lstrip("/")) or "postgres",
            "USER": unquote(parts.username or ""),
            "PASSWORD": unquote(parts.password or ""),
            "HOST": parts.hostname or "",
            "PORT": str(parts.port or ""),
            "OPTIONS": options,
            "CONN_MAX_AGE": 0,
        }
    raise ImproperlyConfigured(
        f"DATABASE_URL scheme {parts.scheme!r} is not supported (use postgres:// or sqlite://)"
    )


EMBEDDED_REDIS_URL_FILE = "url"  # under DATA_DIR/redis/, while `make run` serves


def embedded_redis_url(data_dir: Path) -> str:
    """The bundled Redis of a `make run` serving this DATA_DIR, or "" when none is."""
    try:
        return (data_dir / "redis" / EMBEDDED_REDIS_URL_FILE).read_text().strip()
    except OSError:
        return ""


EMBEDDED_SECRET_KEY_FILE = "secret_key"  # noqa: S105 -- a file name: under DATA_DIR, mode 0600


def embedded_secret_key(data_dir: Path) -> str:
    """The SECRET_KEY kept in DATA_DIR/secret_key, made once if missing (by `make run` before it starts
    anything, else by the first process that needs it): 50 random bytes from `secrets`, readable by its
    owner only. Processes racing to make it all end up with the one that was linked into place first."""
    path = data_dir / EMBEDDED_SECRET_KEY_FILE
    try:
        if not path.exists():
            _write_secret_key(path)
        key = path.read_text().strip()
    except OSError as exc:
        raise ImproperlyConfigured(f"SECRET_KEY is unset and {path} cannot be made or read ({exc})") from None
    if len(key) < 50:
        raise ImproperlyConfigured(f"{path} holds no usable key: delete it to have a new one made")
    return key


def _write_secret_key(path: Path) -> None:
    """Write a new key to a private draft and link it to `path`, unless another process got there first."""
    draft = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    try:
        descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(secrets.token_urlsafe(50) + "\n")
        with contextlib.suppress(FileExistsError):
            os.link(draft, path)  # atomic, and never over a key already there: whoever links first wins
    finally:
        draft.unlink(missing_ok=True)


TEST_WORKER_APPLIED = "WORDCAB_TEST_WORKER"  # set once a test worker's environment is its own


def parallel_test_worker_isolate(environ: dict[str, str] | None = None) -> None:
    """`make test` runs the suite in pytest-xdist workers side by side (gw0, gw1, ...). Each gets a Redis
    database of its own (the base URL's database + the worker's number: Celery queues, channel groups and
    counters never cross) and a DATA_DIR of its own (DATA_DIR/gwN), put in the environment before the
    settings read it, so that the servers, workers and commands a test starts inherit the worker's, not the
    base ones (and do not shift them again). The test databases are pytest-django's (suffixed `_gwN`)."""
    environ = os.environ if environ is None else environ
    worker = environ.get("PYTEST_XDIST_WORKER", "")
    if not worker.startswith("gw") or environ.get(TEST_WORKER_APPLIED):
        return
    number = int(worker[2:])
    base_dir = environ.get("DATA_DIR") or str(Path(__file__).resolve().parents[2] / "var")
    environ["DATA_DIR"] = str(Path(base_dir) / worker)
    redis_url = environ.get("REDIS_URL", "")
    if redis_url.startswith(("redis://", "rediss://")):
        parts = urlsplit(redis_url)
        database = int(parts.path.strip("/") or 0) + number
        environ["REDIS_URL"] = urlunsplit(parts._replace(path=f"/{database}"))
    environ[TEST_WORKER_APPLIED] = worker
