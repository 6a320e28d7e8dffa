"""No input answers a 5xx: a small, bounded fuzz of every list's query parameters (API, pages and their CSV
exports) and of every JSON body field of the API's writes, with odd values: deep nesting, lone surrogates,
NUL, huge and out-of-range numbers, wrong types, `%` strings, Unicode digits. Under /v1/ a 4xx is also in
the error shape. Derandomized and without an example database, so a run is fast (seconds) and repeatable."""

import json
from urllib.parse import quote

import pytest
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from compliance.models import ConsentOpener
from tests.factories import AgentFactory, CallFactory, CampaignFactory, ContactFactory, PhoneNumberFactory
from wordcab_admin.kernel.audit import audit_record

pytestmark = pytest.mark.django_db

FUZZ = settings(
    max_examples=30,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)

ODD_TEXTS = [
    "", " ", "²", "٣", "１２", "%", "%%", "%s", "%(x)s", "100%", "\x00", "a\x00b", "\ud800", "k\udfff",
    "😀", "\u202e", "1e999", "-1", "0", "9" * 30, "true", "null", "[]", "{}", "../..", "' OR 1=1 --",
    "2026-99-99", "2026-02-30T25:00:00+99:00", "9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00+23:59",
    "cD0yMDI2LTk5LTk5", "x" * 3000, "yes", "False", "completed,bogus", ",", "+14155550123", "agent_abc",
]  # fmt: skip
odd_text = st.one_of(st.sampled_from(ODD_TEXTS), st.text(max_size=12))


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


# JSON text a Python value cannot stand for: depth, numbers out of range, constants JSON does not have.
RAW_JSON = [nested(1_000), nested(100), f'{{"a": {nested(70)}}}', "1e999", "-1e999", "1" * 5000, "NaN",
            "Infinity", '"\\ud800"', '"\\udfff\\ud800"', '"\\u0000"', '{"\\ud800": 1}', "9" * 40, "-0", "1e-400"]  # fmt: skip
json_leaf = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=False, allow_infinity=False),
    odd_text,
)
json_value = st.recursive(
    json_leaf,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(odd_text, inner, max_size=3),
    max_leaves=8,
)
json_text = st.one_of(json_value.map(json.dumps), st.sampled_from(RAW_JSON))


def json_body(fields: list[str]):
    """A JSON object of some of `fields` (and now and then one that is not), each holding odd JSON text."""
    names = st.one_of(st.sampled_from(fields), st.sampled_from(["unknown", "\ud800", ""]))
    members = st.lists(st.tuples(names, json_text), max_size=len(fields) + 1)
    return members.map(lambda pairs: "{" + ", ".join(f"{json.dumps(k)}: {v}" for k, v in pairs) + "}")


def query_string(params: dict[str, str]) -> str:
    """Percent-encoded as UTF-8, lone surrogates included (as the bytes a client would send)."""
    return "&".join(
        f"{quote(k.encode('utf-8', 'surrogatepass'), safe='')}={quote(v.encode('utf-8', 'surrogatepass'), safe='')}"
        for k, v in params.items()
    )


def segment(value: str) -> str:
    return quote(value.encode("utf-8", "surrogatepass"), safe="")


def assert_not_5xx(response, what: str) -> None:
    if getattr(response, "streaming", False):  # an export fails while it streams, not before
        b"".join(response.streaming_content)
    assert response.status_code < 500, (what, response.status_code, response.content[:500])
    if what.split()[1].startswith("/v1/") and response.status_code >= 400:
        body = response.json()
        assert {"code", "message", "field"} <= set(body["error"]), (what, body)


@pytest.fixture(autouse=True)
def _fast_password_hasher(settings):
    """The cast's passwords are hashed once per test: with the real hasher that is most of this file's time."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def world(ada, monkeypatch):
    """A little of everything, so that lists and filters have rows to look at."""
    monkeypatch.setattr("calls.services.call_place_enqueue", lambda call_id: None)
    monkeypatch.setattr("compliance.openers.synthesize", lambda text, language="en-US": b"\xff" * 800)
    agent = AgentFactory(public_id="agent_abc")
    call = CallFactory(agent=agent)
    campaign = CampaignFactory(agent=agent)
    ContactFactory(campaign=campaign)
    PhoneNumberFactory(number="+14155550111", agent=agent)
    audit_record(actor=ada, action="agent.created", object_type="agent", object_id="agent_abc")
    return {"call": call, "agent": agent, "campaign": campaign}


@pytest.fixture
def api_client(api, ada):
    return api(ada)


@pytest.fixture
def page_client(ada):
    client = Client()
    client.force_login(ada)
    return client


LIST_PARAMETERS = {
    "/v1/calls": ["status", "agent_id", "campaign_id", "direction", "phone_number", "created_after", "created_before"],
    "/v1/agents": ["search", "active"],
    "/v1/numbers": ["search", "agent_id", "provider", "assigned"],
    "/v1/consent-openers": [],
    "/v1/api-keys": [],
    "/v1/calls/{call}/events": [],
    "/v1/campaigns": ["status", "agent_id"],
    "/v1/campaigns/{campaign}/contacts": ["status", "skip_reason"],
    "/campaigns/{campaign}/": ["status", "skip_reason", "q", "page"],
    "/calls/": ["status", "agent_id", "campaign_id", "direction", "phone_number", "created_after", "created_before", "before"],
    "/calls/export.csv": ["status", "agent_id", "campaign_id", "direction", "phone_number", "created_after", "created_before"],
    "/audit/": ["action", "actor", "object_id", "since", "until"],
    "/audit/export.csv": ["action", "actor", "object_id", "since", "until"],
    "/numbers/": ["q", "assigned", "page"],
    "/agents/": ["q", "page"],
    "/v1/analytics/calls": ["group_by", "from", "to"],
    "/analytics/": ["period", "group_by", "from", "to"],
    "/analytics/export.csv": ["period", "group_by", "from", "to"],
}  # fmt: skip


@pytest.mark.parametrize("path", LIST_PARAMETERS)
def test_no_list_answers_a_5xx_to_odd_query_parameters(world, api_client, page_client, path):
    names = [*LIST_PARAMETERS[path], "cursor", "limit", "%", "\ud800"]
    client = api_client if path.startswith("/v1/") else page_client
    url = path.format(call=world["call"].public_id, campaign=world["campaign"].public_id)

    @FUZZ
    @given(params=st.dictionaries(st.sampled_from(names), odd_text, max_size=4))
    def check(params):
        what = f"GET {url}?{query_string(params)}"
        assert_not_5xx(client.get(url, QUERY_STRING=query_string(params)), what)

    check()


BODY_FIELDS = {
    ("post", "/v1/agents"): [
        "id", "name", "description", "instructions", "language", "voice", "max_duration", "record", "active",
        "phone_numbers",
    ],
    ("patch", "/v1/agents/agent_abc"): [
        "name", "description", "instructions", "language", "voice", "max_duration", "record", "active",
        "phone_numbers",
    ],
    ("post", "/v1/agents/agent_abc/calls"): ["phone_number", "context", "max_duration", "record", "idempotency_key"],
    ("post", "/v1/numbers"): ["number", "provider", "agent_id", "friendly_name", "sip_uri", "sip_trunk"],
    ("post", "/v1/numbers/bulk"): ["numbers", "provider", "agent_id"],
    ("post", "/v1/api-keys"): ["name"],
    ("post", "/v1/consent-openers"): ["jurisdiction", "agent_id", "language", "text"],
}  # fmt: skip


@pytest.mark.parametrize(("method", "path"), BODY_FIELDS)
def test_no_json_body_answers_a_5xx(world, api_client, method, path):
    @FUZZ
    @given(body=json_body(BODY_FIELDS[(method, path)]))
    def check(body):
        response = getattr(api_client, method)(
            path, data=body.encode("utf-8", "surrogatepass"), content_type="application/json"
        )
        assert_not_5xx(response, f"{method.upper()} {path} {body[:300]!r}")

    check()


WHOLE_BODIES = [
    b"", b"{", b"[]", b"null", b'"text"', b"42", nested(1_000).encode(), nested(100_000).encode(),
    b'{"name": "\xff"}', b'{"name": "\xed\xa0\x80"}', b"\xef\xbb\xbf{}",
]  # fmt: skip


@pytest.mark.parametrize(("method", "path"), BODY_FIELDS)
def test_no_whole_body_answers_a_5xx(world, api_client, method, path):
    for body in WHOLE_BODIES:
        for content_type in ("application/json", "application/json; charset=utf-16", "text/plain"):
            response = getattr(api_client, method)(path, data=body, content_type=content_type)
            assert_not_5xx(response, f"{method.upper()} {path} {content_type} {body[:80]!r}")


@FUZZ
@given(value=odd_text)
def test_no_odd_id_in_a_path_answers_a_5xx(world, api_client, value):
    for method, path in [
        ("get", "/v1/calls/{}"),
        ("get", "/v1/calls/{}/events"),
        ("get", "/v1/agents/{}"),
        ("patch", "/v1/agents/{}"),
        ("post", "/v1/agents/{}/calls"),
        ("get", "/v1/numbers/{}"),
        ("get", "/v1/consent-openers/{}"),
        ("get", "/v1/campaigns/{}"),
        ("get", "/v1/campaigns/{}/contacts"),
        ("get", "/v1/campaigns/{}/forecast"),
        ("post", "/v1/campaigns/{}/start"),
    ]:
        url = path.format(segment(value) or "x")
        if method == "get":
            response = api_client.get(url)
        else:
            response = getattr(api_client, method)(url, data="{}", content_type="application/json")
        assert_not_5xx(response, f"{method.upper()} {url}")


def test_the_fuzz_reached_the_database(world, api_client):
    """The bodies above are not all refused at the door: valid ones are written (a sanity check)."""
    response = api_client.post("/v1/consent-openers", {"jurisdiction": "US", "text": "Hello"}, format="json")
    assert response.status_code == 201, response.content
    assert ConsentOpener.objects.filter(text="Hello").exists()
