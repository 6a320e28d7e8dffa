"""A part we depend on being unreachable is a 503 with Retry-After that a client may retry, never a 500."""

import socket

import pytest
from django.db import connections

from calls.models import Call


def unreachable_database() -> dict:
    """The default connection's settings changed to a database nobody serves (a real connect failure)."""
    settings = connections["default"].settings_dict
    if connections["default"].vendor == "sqlite":
        return {"NAME": "/proc/no-such-dir/wordcab.sqlite3"}
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return {"HOST": "127.0.0.1", "PORT": str(sock.getsockname()[1]), "NAME": settings["NAME"]}


@pytest.mark.django_db(transaction=True)
def test_an_unreachable_database_answers_503_with_retry_after_and_creates_nothing(api, alice, agent):
    client = api(alice)
    connection = connections["default"]
    saved = dict(connection.settings_dict)
    connection.close()
    connection.settings_dict.update(unreachable_database())
    try:
        response = client.post(
            f"/v1/agents/{agent.public_id}/calls", {"phone_number": "+14155550123"}, format="json"
        )
    finally:
        connection.close()
        connection.settings_dict.clear()
        connection.settings_dict.update(saved)
    assert response.status_code == 503, response.content
    assert response.headers["Retry-After"] == "5"
    assert response.json()["error"]["code"] == "service_unavailable"
    assert not Call.objects.exists()
