"""With the embedded defaults (DEBUG off unless asked for) a failing page shows our own 500 page and an
unknown address our 404 page: never Django's debug pages, which show source, settings and every URL
pattern. Under /v1/ the errors keep their JSON shape (tests/core/test_api_errors.py)."""

import logging

import pytest

pytestmark = pytest.mark.django_db

SECRET_DETAIL = "the wallboard query failed: password=hunter2"


@pytest.fixture
def failing_dashboard(monkeypatch):
    def boom():
        raise RuntimeError(SECRET_DETAIL)

    monkeypatch.setattr("live.views.wallboard_context", boom)


def assert_our_page(response, status: int, heading: str) -> str:
    assert response.status_code == status
    assert response["Content-Type"].startswith("text/html")
    html = response.content.decode()
    assert heading in html
    assert '<a href="/">Back to the dashboard</a>' in html
    assert '<link rel="stylesheet" href="/static/css/app.css">' in html  # styled like every other page
    assert "Content-Security-Policy" in response
    for leak in (
        "Traceback",
        "technical_500",
        "Django settings",
        "DEBUG = True",
        "SECRET_KEY",
        "urlpatterns",
    ):
        assert leak not in html, leak
    return html


def test_a_page_that_fails_shows_our_500_page_and_logs_the_traceback(client, ada, failing_dashboard, caplog):
    client.force_login(ada)
    client.raise_request_exception = False
    with caplog.at_level(logging.ERROR, logger="django.request"):
        response = client.get("/")
    html = assert_our_page(response, 500, "Something went wrong on our side.")
    assert SECRET_DETAIL not in html
    assert "RuntimeError" not in html
    logged = [record for record in caplog.records if record.name == "django.request"]
    assert logged
    assert logged[0].exc_info is not None  # the traceback goes to the log, not to the browser


def test_an_unknown_page_shows_our_404_page_not_the_url_patterns(client, ada):
    client.force_login(ada)
    html = assert_our_page(client.get("/no-such-page/"), 404, "We could not find that page.")
    for pattern in ("Using the URLconf", "django-admin/", "healthz", "settings/api-keys"):
        assert pattern not in html, pattern
    assert 'href="/agents/"' in html  # a signed-in user keeps the main navigation


def test_an_unknown_page_shows_our_404_page_to_a_visitor_too(client):
    html = assert_our_page(client.get("/no-such-page/"), 404, "We could not find that page.")
    assert "Sign out" not in html


def test_a_role_without_access_sees_our_403_page(client, bob):
    client.force_login(bob)
    response = client.get("/settings/users/")
    assert_our_page(response, 403, "You do not have access to this page.")


def test_under_v1_errors_keep_their_json_shape(client, ada, failing_dashboard):
    client.force_login(ada)
    response = client.get("/v1/no-such-thing")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_debug_is_off_in_the_test_run_like_in_the_embedded_run(settings):
    assert settings.DEBUG is False  # the embedded default itself: tests/core/test_settings.py, test_run.py
