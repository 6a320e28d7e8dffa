"""Roles are enforced on every page, endpoint and websocket: this walks every URL pattern of the project
(and every websocket route) as each role of roles.py and as a signed-out visitor, and checks each answer
against the table below. A URL pattern (or an API method) without an entry in the table fails the walk, so
whoever adds a route also says here who may use it.

What counts: a request is *refused* when it answers 401 or 403, or redirects to a sign-in page; anything
else (2xx, 3xx, 404 for the dummy ids, 400 for the empty body, 405) is *allowed*: the role got past the
guard. Every request sends dummy ids and no body, so an allowed write changes nothing that exists (the few
that create something, an API key or the demo, do it in the test's database). A 500 fails the test."""

import asyncio
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, resolve
from rest_framework.test import APIClient
from rest_framework.views import APIView

from live.publisher import call_update_publish
from tests.factories import CallFactory, UserFactory
from wordcab_admin.asgi import application
from wordcab_admin.kernel.accounts import api_key_create
from wordcab_admin.kernel.roles import GRANTS, Capability, Role
from wordcab_admin.routing import websocket_urlpatterns

ANONYMOUS = "anonymous"
PRINCIPALS = [ANONYMOUS, Role.ADMIN, Role.OPERATOR, Role.COMPLIANCE, Role.VIEWER]

# Who may, as sets of principals. The role groups are roles.py's capabilities, written out
# (test_the_tables_role_groups_are_the_capabilities_of_roles_py keeps them in step).
ANYONE = frozenset(PRINCIPALS)  # public: sign-in, health, the OpenAPI document, unknown /v1/ paths
ANY_ROLE = frozenset(Role)  # signed in with any role (Capability.VIEW, or just signed in)
OPERATORS = frozenset({Role.ADMIN, Role.OPERATOR})  # Capability.OPERATE
LISTENERS = frozenset({Role.ADMIN, Role.OPERATOR, Role.COMPLIANCE})  # Capability.PLAYBACK
COMPLIANCE_OFFICERS = frozenset({Role.ADMIN, Role.COMPLIANCE})  # Capability.COMPLIANCE
ADMINS = frozenset({Role.ADMIN})  # Capability.ADMINISTER
NO_ONE = frozenset()  # carrier webhooks (their signature, not a role); the Django admin (staff only)

GET, POST, PATCH, DELETE = "GET", "POST", "PATCH", "DELETE"

# Every URL pattern of wordcab_admin/urls.py, as Django joins it (get_resolver), with who may use each
# method. An API view's entry names exactly the methods it implements.
ROUTES: dict[str, dict[str, frozenset]] = {
    # site wiring: sign-in, settings, users, API keys
    "": {GET: ANY_ROLE},  # the dashboard
    "healthz": {GET: ANYONE},
    "favicon.ico": {GET: ANYONE},
    "login/": {GET: ANYONE, POST: ANYONE},
    "logout/": {POST: ANYONE},
    "settings/": {GET: ANY_ROLE},
    "settings/api-keys/create": {POST: ANY_ROLE},  # everyone manages their own keys
    "settings/api-keys/<int:key_id>/revoke": {POST: ANY_ROLE},
    "settings/password/": {GET: ANY_ROLE, POST: ANY_ROLE},
    "settings/time-zone": {POST: ANY_ROLE},  # everyone chooses the zone their pages show times in
    "settings/users/": {GET: ADMINS},
    "settings/users/create": {POST: ADMINS},
    "settings/users/<int:user_id>/role": {POST: ADMINS},
    "settings/users/<int:user_id>/active": {POST: ADMINS},
    "settings/users/<int:user_id>/one-time-password": {POST: ADMINS},
    "settings/providers/": {GET: ADMINS},  # provider credentials (telephony/credentials_views.py)
    "settings/providers/<str:provider>/<str:key>/set": {POST: ADMINS},
    "settings/providers/<str:provider>/<str:key>/clear": {POST: ADMINS},
    # the API
    "v1/schema": {GET: ANYONE},  # the OpenAPI document describes the API, it holds no data
    "v1/me": {GET: ANY_ROLE},
    "v1/api-keys": {GET: ANY_ROLE, POST: ANY_ROLE},
    "v1/api-keys/<int:key_id>": {DELETE: ANY_ROLE},
    "v1/agents": {GET: ANY_ROLE, POST: OPERATORS},
    "v1/analytics/calls": {GET: ANY_ROLE},
    "v1/agents/<str:agent_id>": {GET: ANY_ROLE, PATCH: OPERATORS},
    "v1/agents/<str:agent_id>/disable": {POST: OPERATORS},
    "v1/agents/<str:agent_id>/enable": {POST: OPERATORS},
    "v1/agents/<str:agent_id>/calls": {POST: OPERATORS},
    "v1/numbers": {GET: ANY_ROLE, POST: OPERATORS},
    "v1/numbers/bulk": {POST: OPERATORS},
    "v1/numbers/<str:number_id>": {GET: ANY_ROLE, PATCH: OPERATORS, DELETE: OPERATORS},
    "v1/numbers/<str:number_id>/release": {POST: OPERATORS},
    "v1/calls": {GET: ANY_ROLE},
    "v1/calls/<str:call_id>": {GET: ANY_ROLE},
    "v1/calls/<str:call_id>/events": {GET: ANY_ROLE},
    "v1/calls/<str:call_id>/hangup": {POST: OPERATORS},
    "v1/calls/<str:call_id>/recording": {GET: LISTENERS},
    "v1/calls/<str:call_id>/retention": {GET: ANY_ROLE},
    "v1/calls/<str:call_id>/evidence": {GET: COMPLIANCE_OFFICERS},
    "v1/calls/<str:call_id>/transcript": {GET: ANY_ROLE},
    "v1/calls/<str:call_id>/analysis": {POST: OPERATORS},  # re-run the post-call analysis
    "v1/transcripts/search": {GET: ANY_ROLE},
    "v1/campaigns": {GET: ANY_ROLE, POST: OPERATORS},
    "v1/campaigns/<str:campaign_id>": {GET: ANY_ROLE},
    "v1/campaigns/<str:campaign_id>/start": {POST: OPERATORS},
    "v1/campaigns/<str:campaign_id>/pause": {POST: OPERATORS},
    "v1/campaigns/<str:campaign_id>/resume": {POST: OPERATORS},
    "v1/campaigns/<str:campaign_id>/cancel": {POST: OPERATORS},
    "v1/campaigns/<str:campaign_id>/contacts": {GET: ANY_ROLE},
    "v1/campaigns/<str:campaign_id>/forecast": {GET: ANY_ROLE},
    "v1/retention/sweep": {POST: COMPLIANCE_OFFICERS},
    "v1/audit-events": {GET: COMPLIANCE_OFFICERS},
    "v1/consent-openers": {GET: ANY_ROLE, POST: COMPLIANCE_OFFICERS},
    "v1/consent-openers/<int:opener_id>": {
        GET: ANY_ROLE,
        PATCH: COMPLIANCE_OFFICERS,
        DELETE: COMPLIANCE_OFFICERS,
    },  # fmt: skip
    "v1/jurisdictions": {GET: ANY_ROLE},
    "v1/jurisdictions/<str:code>": {GET: ANY_ROLE, PATCH: COMPLIANCE_OFFICERS},
    "v1/retention-policies": {GET: COMPLIANCE_OFFICERS, POST: COMPLIANCE_OFFICERS},
    "v1/retention-policies/<str:policy_id>": {
        GET: COMPLIANCE_OFFICERS,
        PATCH: COMPLIANCE_OFFICERS,
        DELETE: COMPLIANCE_OFFICERS,
    },  # fmt: skip
    "v1/legal-holds": {GET: COMPLIANCE_OFFICERS, POST: COMPLIANCE_OFFICERS},
    "v1/legal-holds/<str:hold_id>": {GET: COMPLIANCE_OFFICERS, DELETE: COMPLIANCE_OFFICERS},
    "v1/do-not-call": {GET: COMPLIANCE_OFFICERS, POST: COMPLIANCE_OFFICERS},
    "v1/do-not-call/import": {POST: COMPLIANCE_OFFICERS},
    "v1/do-not-call/<str:number>": {GET: COMPLIANCE_OFFICERS, DELETE: COMPLIANCE_OFFICERS},
    # outbound webhooks: a customer's integration, managed by admins and operators only (webhooks/api.py)
    "v1/webhook-endpoints": {GET: OPERATORS, POST: OPERATORS},
    "v1/webhook-endpoints/<str:endpoint_id>": {GET: OPERATORS, DELETE: OPERATORS},
    "v1/webhook-endpoints/<str:endpoint_id>/deliveries": {GET: OPERATORS},
    "v1/webhook-endpoints/<str:endpoint_id>/deliveries/<str:delivery_id>/replay": {POST: OPERATORS},
    "v1/twilio/voice": {POST: NO_ONE},  # refused without a valid X-Twilio-Signature, whoever asks
    "v1/twilio/status": {POST: NO_ONE},
    "v1/plivo/answer": {POST: NO_ONE},  # refused without a valid X-Plivo-Signature-V3, whoever asks
    "v1/plivo/status": {POST: NO_ONE},
    "v1/telnyx/webhook": {POST: NO_ONE},  # refused without a valid telnyx-signature-ed25519, whoever asks
    "v1/webrtc/calls": {POST: OPERATORS},  # a browser call to an agent (telephony/webrtc/api.py)
    "v1/webrtc/calls/<str:call_id>/hangup": {POST: OPERATORS},  # the browser hangs up its call
    "v1/(?P<path>.*)$": {GET: ANYONE},  # an unknown /v1/ path: 404 in the error shape
    # agents and numbers
    "agents/": {GET: ANY_ROLE},
    "agents/create": {POST: OPERATORS},
    "agents/<str:agent_id>/": {GET: ANY_ROLE},
    "agents/<str:agent_id>/edit": {POST: OPERATORS},
    "agents/<str:agent_id>/disable": {POST: OPERATORS},
    "agents/<str:agent_id>/enable": {POST: OPERATORS},
    "agents/<str:agent_id>/numbers/add": {POST: OPERATORS},
    "agents/<str:agent_id>/numbers/<str:number_id>/remove": {POST: OPERATORS},
    "numbers/": {GET: ANY_ROLE},
    "numbers/add": {POST: OPERATORS},
    "numbers/bulk/preview": {POST: OPERATORS},
    "numbers/bulk/confirm": {POST: OPERATORS},
    "numbers/<str:number_id>/": {GET: ANY_ROLE},
    "numbers/<str:number_id>/assign": {POST: OPERATORS},
    "numbers/<str:number_id>/edit": {POST: OPERATORS},
    "numbers/<str:number_id>/release": {POST: OPERATORS},
    "numbers/<str:number_id>/sip-test": {
        POST: OPERATORS
    },  # a SIP number's test call (telephony/sip/views.py)
    "numbers/<str:number_id>/sip-test/<str:call_id>": {GET: ANY_ROLE},  # that test call's outcome
    # calls
    "calls/": {GET: ANY_ROLE},
    "calls/export.csv": {GET: ANY_ROLE},
    "analytics/": {GET: ANY_ROLE},  # analytics: everyone signed in reads them
    "analytics/export.csv": {GET: ANY_ROLE},
    "calls/place/<str:agent_id>": {POST: OPERATORS},
    "calls/<str:call_id>/": {GET: ANY_ROLE},
    "calls/<str:call_id>/partial": {GET: ANY_ROLE},
    "calls/<str:call_id>/row": {GET: ANY_ROLE},
    "calls/<str:call_id>/hangup": {POST: OPERATORS},
    "calls/<str:call_id>/evidence/": {GET: COMPLIANCE_OFFICERS},
    # outbound webhooks (webhooks/views.py)
    "webhooks/": {GET: OPERATORS, POST: OPERATORS},
    "webhooks/<str:endpoint_id>/": {GET: OPERATORS},
    "webhooks/<str:endpoint_id>/enabled": {POST: OPERATORS},
    "webhooks/<str:endpoint_id>/delete": {POST: OPERATORS},
    "webhooks/<str:endpoint_id>/deliveries.csv": {GET: OPERATORS},
    "webhooks/<str:endpoint_id>/deliveries/<str:delivery_id>/": {GET: OPERATORS},
    "webhooks/<str:endpoint_id>/deliveries/<str:delivery_id>/replay": {POST: OPERATORS},
    # campaigns and the live pages
    "campaigns/": {GET: ANY_ROLE},
    "campaigns/<str:campaign_id>/": {GET: ANY_ROLE},
    "campaigns/new": {GET: OPERATORS, POST: OPERATORS},
    "campaigns/preview": {POST: OPERATORS},
    "campaigns/import-progress/<str:token>": {GET: OPERATORS},
    "campaigns/<str:campaign_id>/board": {GET: ANY_ROLE},
    "campaigns/<str:campaign_id>/start": {POST: OPERATORS},
    "campaigns/<str:campaign_id>/pause": {POST: OPERATORS},
    "campaigns/<str:campaign_id>/resume": {POST: OPERATORS},
    "campaigns/<str:campaign_id>/cancel": {POST: OPERATORS},
    "campaigns/<str:campaign_id>/rejected.csv": {GET: ANY_ROLE},
    "campaigns/<str:campaign_id>/export.csv": {GET: ANY_ROLE},
    "campaigns/<str:campaign_id>/evidence.zip": {GET: COMPLIANCE_OFFICERS},
    "dashboard/demo": {POST: OPERATORS},
    "dashboard/board": {GET: ANY_ROLE},
    "dashboard/metrics": {GET: ANY_ROLE},
    "tv/": {GET: ANY_ROLE},  # the wallboard's TV mode
    # compliance
    "compliance/": {GET: ANY_ROLE},
    "compliance/openers/": {GET: ANY_ROLE, POST: COMPLIANCE_OFFICERS},
    "compliance/openers/<int:pk>/": {GET: COMPLIANCE_OFFICERS, POST: COMPLIANCE_OFFICERS},  # edit an opener
    "compliance/openers/<int:pk>/audio.wav": {GET: ANY_ROLE},  # the disclosure every caller hears
    "compliance/openers/<int:pk>/resynthesize": {POST: COMPLIANCE_OFFICERS},
    "compliance/openers/<int:pk>/delete": {POST: COMPLIANCE_OFFICERS},
    "compliance/jurisdictions/": {GET: ANY_ROLE},
    "compliance/jurisdictions/<str:code>/": {GET: ANY_ROLE, POST: COMPLIANCE_OFFICERS},
    "compliance/retention/": {GET: COMPLIANCE_OFFICERS, POST: COMPLIANCE_OFFICERS},
    "compliance/retention/<str:policy_id>/days": {POST: COMPLIANCE_OFFICERS},
    "compliance/retention/<str:policy_id>/delete": {POST: COMPLIANCE_OFFICERS},
    "compliance/retention/sweep/dry-run": {GET: COMPLIANCE_OFFICERS},
    "compliance/holds/": {GET: COMPLIANCE_OFFICERS, POST: COMPLIANCE_OFFICERS},
    "compliance/holds/<str:hold_id>/release": {POST: COMPLIANCE_OFFICERS},
    "compliance/do-not-call/": {GET: COMPLIANCE_OFFICERS},
    "compliance/do-not-call/add": {POST: COMPLIANCE_OFFICERS},
    "compliance/do-not-call/import": {POST: COMPLIANCE_OFFICERS},
    "compliance/do-not-call/import/<str:token>/rejected.csv": {GET: COMPLIANCE_OFFICERS},
    "compliance/do-not-call/export.csv": {GET: COMPLIANCE_OFFICERS},
    "compliance/do-not-call/<str:number>/remove": {POST: COMPLIANCE_OFFICERS},
    "audit/": {GET: COMPLIANCE_OFFICERS},
    "audit/export.csv": {GET: COMPLIANCE_OFFICERS},
    # the Django admin: its sign-in page; every other page of it is the next entry's
    "django-admin/login/": {GET: ANYONE},
    "django-admin/logout/": {GET: ANYONE},  # someone not staff is sent to the admin's index (sign-in)
}
# Every other route of the Django admin (one set per registered model, whatever gets registered): staff
# only, and no role of ours makes anyone staff (superusers are, from `createsuperuser`).
DJANGO_ADMIN_NAMESPACE = "admin"
DJANGO_ADMIN_ROUTES = {GET: NO_ONE}

# Every websocket route of wordcab_admin/routing.py.
WEBSOCKETS: dict[str, frozenset] = {
    "ws/calls": ANY_ROLE,  # closed with 4401 signed out, 4403 without a role that may view
    # A supervisor on a live call: walked with a dummy call id, so refused (4404) for everyone; its roles
    # (listen: playback; whisper, barge, take over: operate) are in tests/live/test_supervise.py.
    "ws/calls/<str:call_id>/supervise": NO_ONE,
    "v1/media/twilio": NO_ONE,  # the carrier's media stream: refused without its signature, whoever asks
    "v1/media/plivo": NO_ONE,  # refused without an agent_id; a stream starts only with its single-use token
    "v1/media/telnyx": NO_ONE,  # refused without the single-use stream token we handed Telnyx
}

DUMMY_VALUES = {"int": "999999", "path": "999999", "str": "missing", "slug": "missing"}
# Routes walked with a real id rather than a dummy one: their page is readable by every role and only its
# POST needs more, checked once the object is found, so a dummy id would be a 404 for everyone.
REAL_PATHS = {"compliance/jurisdictions/<str:code>/": "/compliance/jurisdictions/US-CA/"}  # seeded
SIGN_IN_PAGES = {"/login/", "/django-admin/login/"}
API_METHODS = {GET, POST, "PUT", PATCH, DELETE}


@dataclass(frozen=True)
class Route:
    route: str  # as Django joins it (ResolverMatch.route)
    pattern: URLPattern
    namespace: str | None

    @property
    def in_django_admin(self) -> bool:
        return self.namespace == DJANGO_ADMIN_NAMESPACE and self.route not in ROUTES

    def expected(self) -> dict[str, frozenset]:
        return DJANGO_ADMIN_ROUTES if self.in_django_admin else ROUTES[self.route]

    def api_methods(self) -> set[str] | None:
        """The methods a DRF view implements (None for other views, whose methods the table names)."""
        view_class = getattr(self.pattern.callback, "cls", None)
        if not (isinstance(view_class, type) and issubclass(view_class, APIView)):
            return None
        return {method for method in API_METHODS if hasattr(view_class, method.lower())}

    def example_path(self) -> str:
        """The route with dummy ids: `<int:x>` → 999999, a named regex group → its first alternative."""
        if self.route in REAL_PATHS:
            return REAL_PATHS[self.route]
        path = re.sub(r"\(\?P<\w+>([^)]*)\)", lambda m: _first_alternative(m.group(1)), self.route)
        path = re.sub(r"<(?:(\w+):)?\w+>", lambda m: DUMMY_VALUES[m.group(1) or "str"], path)
        return "/" + path.replace("^", "").replace("$", "")


def _first_alternative(group: str) -> str:
    first = group.split("|")[0]
    return first if re.fullmatch(r"[\w-]+", first) else "missing"


def _joined(prefix: str, route: str) -> str:
    return prefix + route.removeprefix("^") if prefix else route  # as URLResolver joins routes


def url_patterns(
    patterns: list | None = None, prefix: str = "", namespace: str | None = None
) -> Iterator[Route]:
    """Every URL pattern of the project, recursively through every include (DRF's routes too)."""
    for entry in get_resolver().url_patterns if patterns is None else patterns:
        route = _joined(prefix, str(entry.pattern))
        if isinstance(entry, URLResolver):
            yield from url_patterns(entry.url_patterns, route, entry.namespace or namespace)
        else:
            yield Route(route, entry, namespace)


# --- the principals -----------------------------------------------------------------------------------------


@pytest.fixture
def cast(db, settings) -> dict:
    """A user per role (the password hasher made fast: passwords are set, never checked here)."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    return {role: UserFactory(username=f"walk-{role.value}", role=role) for role in Role}


def client_for(principal, cast: dict, path: str, keys: dict) -> Client:
    """A fresh browser for a page, an API client with the user's key for /v1/ (a key carries the role)."""
    if principal == ANONYMOUS:
        return APIClient() if path.startswith("/v1/") else Client()
    if path.startswith("/v1/"):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {keys[principal]}")
        return client
    client = Client()
    client.force_login(cast[principal])
    return client


def refused(response) -> bool:
    if response.status_code in (401, 403):
        return True
    if response.status_code in (301, 302, 303, 307, 308):
        location = urlsplit(response["Location"])
        return location.path in SIGN_IN_PAGES and "next" in parse_qs(location.query)
    return False


def answer(client: Client, method: str, path: str):
    """`method` on `path` with no data: an empty form for a write (carrier webhooks take no other type)."""
    if method == GET:
        response = client.get(path)
    else:
        response = client.generic(method, path, data="", content_type="application/x-www-form-urlencoded")
    if response.streaming:  # read to its end, which closes it as a server would (the test client's way)
        b"".join(response.streaming_content)
    return response


# --- the HTTP walk ------------------------------------------------------------------------------------------


def test_every_url_pattern_has_an_entry_in_the_table():
    walked = list(url_patterns())
    missing = [r.route for r in walked if not r.in_django_admin and r.route not in ROUTES]
    assert missing == [], f"URL patterns with no entry in ROUTES (say who may use each): {missing}"
    stale = sorted(set(ROUTES) - {r.route for r in walked})
    assert stale == [], f"ROUTES entries for URL patterns that no longer exist: {stale}"
    for route in walked:
        implemented = route.api_methods()
        if implemented is not None:
            assert set(route.expected()) == implemented, (
                f"{route.route}: the table names {sorted(route.expected())}, the view implements "
                f"{sorted(implemented)}"
            )


def test_the_tables_role_groups_are_the_capabilities_of_roles_py():
    def may(capability: Capability) -> frozenset:
        return frozenset(role for role in Role if capability in GRANTS[role])

    assert may(Capability.VIEW) == ANY_ROLE
    assert may(Capability.OPERATE) == OPERATORS
    assert may(Capability.PLAYBACK) == LISTENERS
    assert may(Capability.COMPLIANCE) == COMPLIANCE_OFFICERS
    assert may(Capability.ADMINISTER) == ADMINS


def test_every_route_answers_each_role_as_the_table_says(cast):
    keys = {role: api_key_create(user=user, name="walk")[1] for role, user in cast.items()}
    wrong, walked = [], 0
    for route in url_patterns():
        if not route.in_django_admin and route.route not in ROUTES:
            wrong.append(f"{route.route}: no entry in ROUTES")
            continue
        path = route.example_path()
        assert resolve(urlsplit(path).path).route == route.route, f"{path} does not reach {route.route}"
        for method, allowed in route.expected().items():
            for principal in PRINCIPALS:
                response = answer(client_for(principal, cast, path, keys), method, path)
                walked += 1
                if refused(response) == (principal in allowed):
                    expected = "allowed" if principal in allowed else "refused"
                    where = f" → {response['Location']}" if response.has_header("Location") else ""
                    wrong.append(
                        f"{method} {path} as {principal}: {response.status_code}{where}, expected {expected}"
                    )
    assert wrong == [], "\n".join(wrong)
    assert walked >= len(ROUTES) * len(PRINCIPALS)


# --- the websockets -----------------------------------------------------------------------------------------


def websocket_routes() -> list[str]:
    return [str(entry.pattern) for entry in websocket_urlpatterns]


def test_every_websocket_route_has_an_entry_in_the_table():
    assert sorted(websocket_routes()) == sorted(WEBSOCKETS)


async def socket_verdict(path: str, headers: list, call) -> tuple[str, int | None]:
    """("allowed", None) when the socket opened and carries live updates; ("refused", code) when the
    upgrade was refused or the socket closed at once (4401, 4403)."""
    communicator = WebsocketCommunicator(application, path, headers=headers)
    connected, code = await communicator.connect(timeout=5)
    if not connected:
        return "refused", code
    try:
        await database_sync_to_async(call_update_publish)(call=call)
        output = await communicator.receive_output(timeout=5)
        if output["type"] == "websocket.close":
            return "refused", output.get("code")
        assert json.loads(output["text"])  # a live update, or a batch of them
        return "allowed", None
    finally:
        await communicator.disconnect()


@pytest.mark.django_db(transaction=True)
def test_every_websocket_answers_each_role_as_the_table_says(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    call = CallFactory()
    cast = {role: UserFactory(username=f"ws-{role.value}", role=role) for role in Role}
    credentials = {ANONYMOUS: [[]]}
    for role, user in cast.items():
        browser = Client()
        browser.force_login(user)
        cookie = (b"cookie", f"sessionid={browser.cookies['sessionid'].value}".encode())
        bearer = (b"authorization", f"Bearer {api_key_create(user=user, name='ws')[1]}".encode())
        credentials[role] = [[cookie], [bearer]]  # the session cookie and an API key, each on its own

    async def walk() -> tuple[list[str], set]:
        wrong, signed_out_codes = [], set()
        for route, allowed in WEBSOCKETS.items():
            for principal, ways in credentials.items():
                for headers in ways:
                    verdict, code = await socket_verdict("/" + route, headers, call)
                    expected = "allowed" if principal in allowed else "refused"
                    if verdict != expected:
                        wrong.append(f"/{route} as {principal}: {verdict} ({code}), expected {expected}")
                    if route == "ws/calls" and principal == ANONYMOUS:
                        signed_out_codes.add(code)
        return wrong, signed_out_codes

    wrong, signed_out_codes = asyncio.run(walk())
    assert wrong == []
    assert signed_out_codes == {4401}  # 4403 is for a user without a role (tests/live/test_live_consumer.py)
