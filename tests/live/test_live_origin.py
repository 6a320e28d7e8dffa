"""/ws/calls refuses a session-authenticated upgrade from any origin but the site's own and the trusted ones,
comparing the whole origin: scheme, host and port (a page on another port of the same host is another
origin, and a browser sends it the signed-in user's cookie all the same)."""

import asyncio
import json

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client

from live.consumers import origin_allowed
from live.publisher import call_update_publish
from tests.factories import CallFactory
from wordcab_admin.asgi import application


def scope(origin: str | None, *, host: str | None = "127.0.0.1:8311", scheme: str = "ws", headers=()) -> dict:
    sent = [*headers]
    if host is not None:
        sent.append((b"host", host.encode()))
    if origin is not None:
        sent.append((b"origin", origin.encode()))
    return {"type": "websocket", "scheme": scheme, "headers": sent}


@pytest.fixture(autouse=True)
def trusted_nothing(settings):
    settings.CSRF_TRUSTED_ORIGINS = []
    settings.ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver", "[::1]", "admin.example.com"]
    settings.SECURE_PROXY_SSL_HEADER = None


def test_the_sites_own_origin_is_allowed():
    assert origin_allowed(scope("http://127.0.0.1:8311"))


def test_a_client_that_sends_no_origin_is_not_a_browser_and_goes_on_to_the_role_check():
    assert origin_allowed(scope(None))


@pytest.mark.parametrize(
    "origin",
    [
        "http://127.0.0.1:8399",  # the same host on another port
        "http://127.0.0.1",  # ... on the default port
        "https://127.0.0.1:8311",  # another scheme
        "http://localhost:8311",  # another host name for the same machine
        "https://evil.example",
        "null",  # a sandboxed frame, a file: page
        "",
        "http://127.0.0.1:8311/path",
        "http://user@127.0.0.1:8311",
        "http://127.0.0.1:99999",
    ],
)
def test_any_other_origin_is_refused(origin):
    assert not origin_allowed(scope(origin))


def test_default_ports_are_the_same_origin_written_either_way():
    assert origin_allowed(scope("http://admin.example.com:80", host="admin.example.com"))
    assert origin_allowed(scope("http://admin.example.com", host="admin.example.com:80"))
    assert origin_allowed(scope("https://admin.example.com:443", host="admin.example.com", scheme="wss"))
    assert not origin_allowed(scope("https://admin.example.com:80", host="admin.example.com", scheme="wss"))


def test_the_scheme_follows_the_socket_wss_being_https():
    assert origin_allowed(scope("https://admin.example.com", host="admin.example.com", scheme="wss"))
    assert not origin_allowed(scope("http://admin.example.com", host="admin.example.com", scheme="wss"))
    assert not origin_allowed(scope("https://admin.example.com", host="admin.example.com", scheme="ws"))


def test_behind_a_tls_proxy_the_scheme_comes_from_the_forwarded_header_only_when_configured(settings):
    forwarded = [(b"x-forwarded-proto", b"https")]
    behind_proxy = scope("https://admin.example.com", host="admin.example.com", headers=forwarded)
    assert not origin_allowed(behind_proxy)  # SECURE_PROXY_SSL_HEADER unset: the header is not believed
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    assert origin_allowed(behind_proxy)
    plain = [(b"x-forwarded-proto", b"http")]
    assert not origin_allowed(scope("https://admin.example.com", host="admin.example.com", headers=plain))
    assert origin_allowed(scope("http://admin.example.com", host="admin.example.com", headers=plain))


def test_a_host_header_outside_allowed_hosts_gives_no_own_origin():
    assert not origin_allowed(scope("http://evil.test:8311", host="evil.test:8311"))


def test_without_a_host_header_the_servers_address_is_the_sites_own():
    served = scope("http://127.0.0.1:8311", host=None) | {"server": ("127.0.0.1", 8311)}
    assert origin_allowed(served)
    assert not origin_allowed(served | {"server": ("127.0.0.1", 8399)})


def test_a_trusted_origin_is_allowed_whole_and_only_whole(settings):
    settings.CSRF_TRUSTED_ORIGINS = ["https://admin.example.com", "http://127.0.0.1:8399"]
    assert origin_allowed(scope("https://admin.example.com"))
    assert origin_allowed(scope("https://admin.example.com:443"))
    assert origin_allowed(scope("http://127.0.0.1:8399"))
    assert not origin_allowed(scope("http://admin.example.com"))
    assert not origin_allowed(scope("https://admin.example.com:8443"))
    assert not origin_allowed(scope("https://sub.admin.example.com"))
    assert not origin_allowed(scope("http://127.0.0.1:8398"))


def test_a_wildcard_trusted_origin_allows_the_domain_and_its_subdomains_as_djangos_csrf_check_does(settings):
    settings.CSRF_TRUSTED_ORIGINS = ["https://*.example.com", "http://*.lan.test:8080"]
    assert origin_allowed(scope("https://a.example.com"))
    assert origin_allowed(scope("https://a.b.example.com:443"))
    assert origin_allowed(scope("https://example.com"))
    assert origin_allowed(scope("http://box.lan.test:8080"))
    assert not origin_allowed(scope("http://a.example.com"))  # another scheme
    assert not origin_allowed(scope("https://a.example.com:8443"))  # another port
    assert not origin_allowed(scope("https://evilexample.com"))
    assert not origin_allowed(scope("https://a.example.com.evil.test"))
    assert not origin_allowed(scope("http://box.lan.test"))


@pytest.mark.django_db(transaction=True)
def test_a_session_socket_from_another_port_of_the_same_host_is_closed_with_4403(bob, settings):
    settings.CSRF_TRUSTED_ORIGINS = []
    client = Client()
    client.force_login(bob)
    cookie = (b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode())
    host = (b"host", b"127.0.0.1:8311")
    call = CallFactory()

    async def opened(origin: bytes) -> WebsocketCommunicator:
        communicator = WebsocketCommunicator(
            application, "/ws/calls", headers=[cookie, host, (b"origin", origin)]
        )
        assert (await communicator.connect(timeout=5))[0]
        return communicator

    async def scenario():
        foreign = await opened(b"http://127.0.0.1:8399")
        output = await foreign.receive_output(timeout=5)
        assert (output["type"], output.get("code")) == ("websocket.close", 4403)
        await foreign.disconnect()
        own = await opened(b"http://127.0.0.1:8311")
        await database_sync_to_async(call_update_publish)(call=call)
        frame = json.loads(await own.receive_from(timeout=5))
        assert frame["type"] == "call.updated"
        assert frame["call"]["id"] == call.public_id
        await own.disconnect()

    asyncio.run(scenario())
