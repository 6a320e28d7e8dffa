"""Settings for Wordcab Admin. Everything comes from the environment (see README, "Production configuration")."""

from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

from wordcab_admin.kernel.env import (
    database_from_url,
    embedded_redis_url,
    embedded_secret_key,
    env_bool,
    env_float,
    env_int,
    env_list,
    env_str,
    parallel_test_worker_isolate,
    sqlite_url,
)

parallel_test_worker_isolate()  # a no-op outside `make test`'s parallel workers

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(env_str("DATA_DIR", str(BASE_DIR / "var"))).resolve()
DATA_DIR.mkdir(parents=True, exist_ok=True)
PORT = env_int("PORT", 8000, minimum=1)

# Off unless asked for: with it on, any 500 shows source and settings, and a 404 lists every URL pattern.
DEBUG = env_bool("DEBUG", False)

PUBLIC_BASE_URL = env_str("PUBLIC_BASE_URL", f"http://127.0.0.1:{PORT}").rstrip("/")
if not PUBLIC_BASE_URL.startswith(("http://", "https://")):
    raise ImproperlyConfigured(f"PUBLIC_BASE_URL={PUBLIC_BASE_URL!r}: expected an http:// or https:// URL")
# Served over HTTPS (PUBLIC_BASE_URL says so): HTTPS redirect, HSTS and secure cookies, and SECRET_KEY must
# be set. Over plain http (the embedded run on 127.0.0.1) none of those, and the key is DATA_DIR/secret_key.
SERVED_OVER_HTTPS = PUBLIC_BASE_URL.startswith("https://")
SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY and SERVED_OVER_HTTPS:
    raise ImproperlyConfigured(
        "Set SECRET_KEY (a long random string): PUBLIC_BASE_URL is https://, a production deployment"
    )
SECRET_KEY = SECRET_KEY or embedded_secret_key(DATA_DIR)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "testserver", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [PUBLIC_BASE_URL])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "django_celery_beat",
    "channels",
    "axes",  # the sign-in lockout: wordcab_admin/kernel/auth.py, AXES_* below
    "wordcab_admin",
    "agents",
    "compliance",
    "calls",
    "recordings",
    "transcripts",
    "campaigns",
    "webhooks",
    "analytics",
    "telephony",
    "live",
]

# Django's stock middleware, with their hooks run on the event loop under ASGI where they never touch the
# database (wordcab_admin/kernel/fastpath/async_middleware.py): otherwise each hook is a thread hand-off.
MIDDLEWARE = [
    "wordcab_admin.kernel.request_id.request_id_middleware",  # first: every answer carries X-Request-ID
    "wordcab_admin.kernel.fastpath.async_middleware.SecurityMiddleware",
    "wordcab_admin.kernel.fastpath.async_middleware.CSPMiddleware",
    "wordcab_admin.kernel.api_errors.refuse_null_characters",
    "wordcab_admin.kernel.fastpath.static_files.AsyncCapableWhiteNoiseMiddleware",
    "wordcab_admin.kernel.fastpath.async_middleware.SessionMiddleware",
    "wordcab_admin.kernel.fastpath.async_middleware.CommonMiddleware",
    "wordcab_admin.kernel.fastpath.async_middleware.CsrfViewMiddleware",
    "wordcab_admin.kernel.fastpath.async_middleware.AuthenticationMiddleware",
    "wordcab_admin.kernel.fastpath.async_middleware.MessageMiddleware",
    "wordcab_admin.kernel.viewer_time_zone.viewer_time_zone_middleware",  # pages in the viewer's zone, API in UTC
    "wordcab_admin.kernel.fastpath.async_middleware.XFrameOptionsMiddleware",
    "wordcab_admin.kernel.api_errors.ApiErrorMiddleware",
    "wordcab_admin.kernel.auth.PasswordChangeRequiredMiddleware",  # a one-time password is changed first
    "axes.middleware.AxesMiddleware",  # last, as axes asks: a locked-out sign-in gets our lockout page
]
# Content-Security-Policy (django-csp): our own vendored scripts and styles only, no inline script, style
# or event handler (tests/core/test_csp.py walks the pages, tests/e2e/test_csp.py watches Chromium). 'self'
# covers the same-origin /ws/calls socket; the ws(s) origin of PUBLIC_BASE_URL is named for older browsers.
_OWN_WEBSOCKETS = ("wss://" if SERVED_OVER_HTTPS else "ws://") + urlsplit(PUBLIC_BASE_URL).netloc
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],  # Pico's icons are data: SVGs
        "connect-src": [SELF, _OWN_WEBSOCKETS],
        "media-src": [SELF],
        "object-src": [NONE],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
        "base-uri": [NONE],
    }
}

ROOT_URLCONF = "wordcab_admin.urls"
ASGI_APPLICATION = "wordcab_admin.asgi.application"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "wordcab_admin.kernel.roles.role_context",
                "wordcab_admin.kernel.viewer_time_zone.time_zone_context",
            ],
        },
    },
]

DATABASES = {"default": database_from_url(env_str("DATABASE_URL") or sqlite_url(DATA_DIR))}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # Tests run against a file so that a Celery worker or a live server in another thread sees the same rows.
    DATABASES["default"]["TEST"] = {"NAME": str(DATA_DIR / "test.sqlite3")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# Long-lived threads for hot webhook database work (wordcab_admin/kernel/fastpath/db_threads.py); 0 = per request.
HOT_DB_THREADS = env_int("HOT_DB_THREADS", 1, minimum=0)

# Unset: the bundled Redis of a `make run` on this DATA_DIR, so that `python manage.py demo` (or any command
# that queues work) beside it reaches its worker; else a Redis on the default port.
REDIS_URL = env_str("REDIS_URL") or embedded_redis_url(DATA_DIR) or "redis://127.0.0.1:6379/0"
if not REDIS_URL.startswith(("redis://", "rediss://", "unix://")):
    raise ImproperlyConfigured(
        f"REDIS_URL={REDIS_URL!r}: expected redis://host:port/db (or rediss://, unix://)"
    )
# One cache that every web process shares (the API keys' lockout counts failures per address in it).
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "wordcab",
        "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2},
    }
}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "login"

# Sign-in lockout (django-axes, wordcab_admin/kernel/auth.py), on the sign-in page and the Django admin: 10
# failures for one username, or from one address, lock it out for 15 minutes (an attempt while locked out
# starts the wait over). A success forgets that username's failures from that address. The lockout page is
# ours (wordcab_admin/views.py sign_in_locked_out); lockouts and failed sign-ins are audited.
AUTHENTICATION_BACKENDS = [
    "wordcab_admin.kernel.auth.SignInLockoutBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_HANDLER = "wordcab_admin.kernel.auth.SignInAttempts"
AXES_FAILURE_LIMIT = 10
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]  # either one: a username, or an address
AXES_COOLOFF_TIME = timedelta(minutes=15)
AXES_RESET_ON_SUCCESS = True
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = True
AXES_CLIENT_IP_CALLABLE = "wordcab_admin.kernel.auth.client_address"  # REMOTE_ADDR, as uvicorn sets it
AXES_LOCKOUT_CALLABLE = "wordcab_admin.views.sign_in_locked_out"
AXES_DISABLE_ACCESS_LOG = True  # no row per successful sign-in, kept forever
AXES_VERBOSE = False
# API keys (wordcab_admin/kernel/accounts.py api_key_authenticate_from): 10 unknown keys from one address
# within 15 minutes lock the address out for 15 minutes (429 too_many_failures), counted in CACHES.
API_KEY_FAILURE_LIMIT = 10
API_KEY_FAILURE_WINDOW_SECONDS = 15 * 60
API_KEY_LOCKOUT_SECONDS = 15 * 60

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)
# WhiteNoise serves the vendored assets straight from static/ (no collectstatic step), DEBUG on or off.
WHITENOISE_USE_FINDERS = True
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_ROOT = DATA_DIR / "recordings"
# Uploads: Django keeps a file over FILE_UPLOAD_MAX_MEMORY_SIZE (its default, 2.5 MB) in a temporary file,
# never in memory, and answers a body without files over DATA_UPLOAD_MAX_MEMORY_SIZE (2.5 MB) with a 413.
# Each upload is refused by its size, before it is read, over its own cap: the numbers page's CSV here
# (agents/bulk.py, read as a stream up to its 5000 rows), consent opener audio in compliance/openers.py.
BULK_CSV_MAX_BYTES = 5 * 1024 * 1024
# A campaign's contact list (campaigns/importing.py) is read as a stream, whatever its size, up to
# CAMPAIGN_MAX_ROWS data rows; CAMPAIGN_ALLOWED_COUNTRIES (ISO codes, comma-separated) names the countries a
# campaign may call: empty means every country that has a jurisdiction row (compliance/data/jurisdictions.csv).
CAMPAIGN_CSV_MAX_BYTES = env_int("CAMPAIGN_CSV_MAX_BYTES", 256 * 1024 * 1024)
CAMPAIGN_MAX_ROWS = 1_000_000
CAMPAIGN_ALLOWED_COUNTRIES = [
    c.strip().upper() for c in env_str("CAMPAIGN_ALLOWED_COUNTRIES").split(",") if c.strip()
]

RECORDINGS_BUCKET = env_str("RECORDINGS_BUCKET")
RECORDINGS_SPOOL_DIR = DATA_DIR / "spool"
# First retry of a failed recording upload after this many seconds, doubling up to 10 minutes, forever.
RECORDINGS_UPLOAD_RETRY_SECONDS = env_float("RECORDINGS_UPLOAD_RETRY_SECONDS", 5.0)
if RECORDINGS_BUCKET:
    _recordings_storage = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": RECORDINGS_BUCKET,
            "endpoint_url": env_str("AWS_S3_ENDPOINT_URL") or None,
            "access_key": env_str("AWS_ACCESS_KEY_ID") or None,
            "secret_key": env_str("AWS_SECRET_ACCESS_KEY") or None,
            "region_name": env_str("AWS_S3_REGION_NAME") or None,
            "addressing_style": env_str("AWS_S3_ADDRESSING_STYLE", "path"),
            "file_overwrite": False,
            "default_acl": None,
            "querystring_auth": True,
        },
    }
else:
    _recordings_storage = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(MEDIA_ROOT)},
    }
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "recordings": _recordings_storage,
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "wordcab_admin.kernel.auth.BearerKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["wordcab_admin.kernel.roles.HasRolePermission"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": [
        "wordcab_admin.kernel.validation.JSONParser",  # a 400, never a 500, for any JSON body
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_FILTER_BACKENDS": ["wordcab_admin.kernel.filtering.FilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "wordcab_admin.kernel.pagination.NewestFirstCursorPagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "wordcab_admin.kernel.api_errors.api_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Wordcab Admin API",
    "DESCRIPTION": "Self-hosted call-center admin API, shaped like the Wordcab SDK.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": "/v1",
    # The schema is checked by tests/core/test_schema.py; `check --deploy` stays about the deployment.
    "ENABLE_DJANGO_DEPLOY_CHECK": False,
    # Two "status" fields with different choices: each enum gets a name of its own.
    "ENUM_NAME_OVERRIDES": {
        "CallStatusEnum": "calls.models.CallStatus",
        "WebhookDeliveryStatusEnum": "webhooks.models.DeliveryStatus",
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "wordcab_admin.api.schema.add_error_responses",
    ],
}

CELERY_BROKER_URL = REDIS_URL
# kombu's Redis transport with a workaround that keeps the worker up through a Redis restart (the
# AttributeError 'hostname'; wordcab_admin/celery.py says what and why).
CELERY_BROKER_TRANSPORT = "wordcab_admin.celery:RedisTransport"
CELERY_RESULT_BACKEND = REDIS_URL
# Redis may go away and come back (restarted by `make run`'s supervisor, systemd or compose): the worker
# keeps reconnecting for as long as it takes, at start-up too (kombu's pause grows to 30 s at most).
CELERY_BROKER_CONNECTION_RETRY = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_CONNECTION_MAX_RETRIES = None
# Acknowledged when it starts (at most once), unless a task says `acks_late=True`: only tasks that are
# safe to run twice do, and are then run again when their worker dies midway (the reason of each is in
# tests/core/test_task_acks.py, which fails on a task not listed there).
CELERY_TASK_ACKS_LATE = False
CELERY_TASK_REJECT_ON_WORKER_LOST = True  # acts on acks_late tasks only: requeued, not failed
# A late-acknowledged task still running when the broker connection drops cannot be acknowledged any
# more and will run again, which its idempotence allows; threads could not be cancelled anyway.
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = False
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Redis hands a delivered, unacknowledged message to another worker after this long (the worker holding
# it is taken for dead). It must outlast the longest countdown (a recording upload's retry waits up to
# 10 minutes) plus the longest task (an upload of a long recording), or such a message would run twice.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TIMEZONE = "UTC"
CELERY_TASK_ALWAYS_EAGER = False

CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        # socket_timeout above channels-redis's 5 s blocking pop: redis-py's default (5 s) races it and the
        # receive fails with "Timeout reading" every idle 5 s. max_connections: redis-py's asyncio pool
        # holds 100 by default and refuses ("Too many connections") rather than waits beyond; 200 media
        # streams starting at once (bench_media) each join their call's supervision group.
        "CONFIG": {
            "hosts": [{"address": REDIS_URL, "socket_timeout": 15, "max_connections": 2000}],
            "capacity": 5000,
            "expiry": 30,
        },
    }
}

# Telephony
DEFAULT_PHONE_REGION = env_str("DEFAULT_PHONE_REGION", "US").upper()
SIMULATOR_SPEED = env_float("SIMULATOR_SPEED", 1.0)
SIMULATOR_DISORDER = env_bool("SIMULATOR_DISORDER", False)  # deliver simulator events out of order and twice
# The agent behind a media stream (telephony/runtime): a dotted path to an AgentRuntime subclass. The seam
# lived in calls/runtime until the layout change: a deployment that names it there still finds it.
AGENT_RUNTIME = env_str("AGENT_RUNTIME", "telephony.runtime.demo.DemoRuntime")
if AGENT_RUNTIME.startswith("calls.runtime."):
    AGENT_RUNTIME = "telephony.runtime." + AGENT_RUNTIME.removeprefix("calls.runtime.")
# Transcripts (docs/transcripts.md): the caller's speech-to-text engine (a dotted path to a
# transcripts.stt.SpeechToText; `none`: no caller transcript) and the post-call analyser (a dotted path to a
# transcripts.analysis.CallAnalyser), with the optional LLM endpoint (OpenAI chat-completions shape).
SPEECH_TO_TEXT = env_str("SPEECH_TO_TEXT", "transcripts.stt.pocketsphinx_engine.PocketSphinxSpeechToText")
if SPEECH_TO_TEXT.lower() in {"none", "off"}:
    SPEECH_TO_TEXT = ""
CALL_ANALYSER = env_str("CALL_ANALYSER", "transcripts.analysis.rules.RuleBasedAnalyser")
CALL_ANALYSIS_LLM_URL = env_str("CALL_ANALYSIS_LLM_URL")  # e.g. https://api.openai.com/v1/chat/completions
CALL_ANALYSIS_LLM_API_KEY = env_str("CALL_ANALYSIS_LLM_API_KEY")
CALL_ANALYSIS_LLM_MODEL = env_str("CALL_ANALYSIS_LLM_MODEL", "gpt-4o-mini")
CALL_ANALYSIS_LLM_TIMEOUT_SECONDS = env_float("CALL_ANALYSIS_LLM_TIMEOUT_SECONDS", 30.0)
# After a call's end, the analysis waits this long for the caller's last line (still in speech-to-text).
CALL_ANALYSIS_DELAY_SECONDS = env_float("CALL_ANALYSIS_DELAY_SECONDS", 10.0)
TWILIO_ACCOUNT_SID = env_str("TWILIO_ACCOUNT_SID")
TWILIO_AUTH_TOKEN = env_str("TWILIO_AUTH_TOKEN")
TWILIO_API_BASE_URL = env_str("TWILIO_API_BASE_URL")  # a fake of Twilio's API in tests; unset in production
TELNYX_API_KEY = env_str("TELNYX_API_KEY")
TELNYX_PUBLIC_KEY = env_str("TELNYX_PUBLIC_KEY")  # base64 Ed25519, as the Telnyx portal shows it
TELNYX_CONNECTION_ID = env_str("TELNYX_CONNECTION_ID")  # the Call Control application outbound calls use
TELNYX_API_BASE_URL = env_str("TELNYX_API_BASE_URL")  # a fake of Telnyx's API in tests; unset in production
PLIVO_AUTH_ID = env_str("PLIVO_AUTH_ID")
PLIVO_AUTH_TOKEN = env_str("PLIVO_AUTH_TOKEN")
PLIVO_API_BASE_URL = env_str("PLIVO_API_BASE_URL")  # a fake of Plivo's API in tests; unset in production
SIP_GATEWAY_DOMAIN = env_str("SIP_GATEWAY_DOMAIN", "sip.wordcab.local")
CALL_STALE_AFTER_SECONDS = env_int("CALL_STALE_AFTER_SECONDS", 600, minimum=30)
IDEMPOTENCY_KEY_TTL_DAYS = env_int("IDEMPOTENCY_KEY_TTL_DAYS", 7, minimum=7)
RETENTION_DEFAULT_DAYS = env_int("RETENTION_DEFAULT_DAYS", 30, minimum=0)
HEALTHZ_WORKER_TIMEOUT = env_float("HEALTHZ_WORKER_TIMEOUT", 1.0)
# Outbound webhooks to private, loopback and link-local addresses (checked on the address connected to):
# off, so that a customer's URL cannot reach inside our network (docs/webhooks.md).
WEBHOOKS_ALLOW_PRIVATE_NETWORKS = env_bool("WEBHOOKS_ALLOW_PRIVATE_NETWORKS", False)

if SERVED_OVER_HTTPS:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000, minimum=0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    # axes: its failures and lockouts (WARNING), not three lines for each successful sign-in (INFO)
    "loggers": {"django.db.backends": {"level": "WARNING"}, "axes": {"level": "WARNING"}},
}
