"""`GET /healthz`: 200 when database, Redis and a Celery worker all answer, 503 naming what does not."""

import logging

import redis
from django.conf import settings
from django.db import DatabaseError, connection
from django.http import HttpRequest, JsonResponse
from kombu.exceptions import KombuError

from wordcab_admin.celery import app as celery_app

log = logging.getLogger(__name__)


def check_database() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError as exc:
        return f"error: {exc.__class__.__name__}"
    return "ok"


def check_redis() -> str:
    client = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=1, socket_timeout=1)
    try:
        client.ping()
    except redis.RedisError as exc:
        return f"error: {exc.__class__.__name__}"
    finally:
        client.close()
    return "ok"


def check_worker() -> str:
    """A real ping of the workers over the broker, with a short timeout."""
    try:
        # limit=1: answer as soon as one worker replies, instead of always waiting out the timeout.
        replies = celery_app.control.ping(timeout=settings.HEALTHZ_WORKER_TIMEOUT, limit=1)
    except (OSError, redis.RedisError, KombuError) as exc:  # broker unreachable
        return f"error: {exc.__class__.__name__}"
    return "ok" if replies else "error: no worker answered"


def healthz(request: HttpRequest) -> JsonResponse:
    report = {"database": check_database(), "redis": check_redis()}
    report["worker"] = check_worker() if report["redis"] == "ok" else "error: redis is down"
    healthy = all(value == "ok" for value in report.values())
    if not healthy:
        log.warning("healthz failing: %s", report)
    return JsonResponse(report, status=200 if healthy else 503)
