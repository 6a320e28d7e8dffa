"""`GET /healthz`: 200 when the database, Redis and a real Celery worker answer; 503 naming what does not."""

import socket


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # nothing listens there once the socket is closed


def test_healthz_is_200_when_database_redis_and_a_worker_answer(client, celery_worker_thread):
    response = client.get("/healthz")
    assert response.status_code == 200, response.json()
    assert response.json() == {"database": "ok", "redis": "ok", "worker": "ok"}


def test_healthz_is_503_naming_the_worker_when_none_answers(client, db, settings):
    settings.HEALTHZ_WORKER_TIMEOUT = 0.3
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {"database": "ok", "redis": "ok", "worker": "error: no worker answered"}


def test_healthz_is_503_naming_redis_when_redis_is_down(client, db, settings):
    settings.REDIS_URL = f"redis://127.0.0.1:{closed_port()}/0"
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["database"] == "ok"
    assert body["redis"].startswith("error: ")
    assert "Connection" in body["redis"]
    assert body["worker"] == "error: redis is down"


def test_healthz_needs_no_sign_in_and_is_not_redirected_to_https_in_production(client, db, settings):
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
    response = client.get("/healthz")  # a load balancer probes over plain HTTP
    assert response.status_code in (200, 503)
    assert "database" in response.json()
