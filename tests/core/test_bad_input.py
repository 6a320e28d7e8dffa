"""Input that answered 500, each found by hand, and what it answers now: a 4xx in the error shape, or on a
page a readable answer. Webhooks refuse any body but Twilio's form before reading it."""

import json
from base64 import b64encode
from urllib.parse import urlencode

import pytest
from django.test import Client

from agents.models import Agent
from calls.models import Call
from tests.factories import CallFactory
from wordcab_admin.kernel.accounts import ApiKey
from wordcab_admin.kernel.validation import MAX_JSON_DEPTH

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def no_broker(monkeypatch):
    monkeypatch.setattr("calls.services.call_place_enqueue", lambda call_id: None)


def error_of(response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    error = response.json()["error"]
    assert {"code", "message", "field"} <= set(error)
    if code is not None:
        assert error["code"] == code, error
    return error


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def post_json(client, path: str, body: str):
    return client.post(path, data=body, content_type="application/json")


# GET /calls/?before= ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("before", ["²", "٣", "99999999999999999999999", "-1", " 5", "1e3", "0x10"])
def test_an_odd_before_on_the_calls_page_shows_the_newest_calls(client, bob, before):
    call = CallFactory()
    client.force_login(bob)
    response = client.get("/calls/", {"before": before})
    assert response.status_code == 200
    assert call.public_id in response.content.decode()


def test_before_still_pages_to_older_calls(client, bob):
    older, newer = CallFactory(), CallFactory()
    client.force_login(bob)
    html = client.get("/calls/", {"before": str(newer.pk)}).content.decode()
    assert older.public_id in html
    assert newer.public_id not in html


# Deep JSON -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 1_000, 100_000])
def test_json_nested_too_deep_is_a_400_parse_error(api, alice, agent, depth):
    client = api(alice)
    for path, body in [
        (f"/v1/agents/{agent.public_id}/calls", nested(depth)),
        (
            f"/v1/agents/{agent.public_id}/calls",
            f'{{"phone_number": "+14155550123", "context": {{"a": {nested(depth)}}}}}',
        ),
        ("/v1/api-keys", nested(depth)),
        ("/v1/api-keys", f'{{"name": {nested(depth)}}}'),
        ("/v1/agents", f'{{"name": "x", "phone_numbers": {nested(depth)}}}'),
    ]:
        error = error_of(post_json(client, path, body), 400, "parse_error")
        assert f"deeper than {MAX_JSON_DEPTH} levels" in error["message"]
    assert not Call.objects.exists()
    assert ApiKey.objects.count() == 1  # the test's own key
    assert Agent.objects.count() == 1


def test_json_up_to_the_depth_limit_is_read(api, alice, agent):
    context = {"a": json.loads(nested(MAX_JSON_DEPTH - 2))}  # body → context → a → the lists: the limit
    body = {"phone_number": "+14155550123", "context": context}
    response = api(alice).post(f"/v1/agents/{agent.public_id}/calls", body, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["context"] == context


def test_a_deep_context_in_the_test_call_form_is_a_readable_error(client, alice, agent):
    client.force_login(alice)
    response = client.post(
        f"/calls/place/{agent.public_id}",
        {"phone_number": "+14155550123", "context": f'{{"a": {nested(5_000)}}}'},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    assert "Value must be valid JSON" in response.content.decode()
    assert not Call.objects.exists()


@pytest.mark.parametrize("number", ["1e999", "-1e999", "1" * 5000])
def test_a_number_out_of_range_is_a_400_parse_error(api, alice, agent, number):
    body = f'{{"phone_number": "+14155550123", "context": {{"n": {number}}}}}'
    error_of(post_json(api(alice), f"/v1/agents/{agent.public_id}/calls", body), 400, "parse_error")
    assert not Call.objects.exists()


@pytest.mark.parametrize("body", [b'{"name": "\xff\xfe"}', b'{"name": "\xed\xa0\x80"}'])
def test_a_body_that_is_not_utf8_is_a_400_parse_error(api, alice, body):
    error_of(post_json(api(alice), "/v1/api-keys", body), 400, "parse_error")


# Lone surrogates -------------------------------------------------------------------------------------------------


def call_body(context) -> str:
    return json.dumps({"phone_number": "+14155550123", "context": context})  # "\ud800" goes out as an escape


@pytest.mark.parametrize(
    ("context", "field"),
    [
        ({"note": "k\ud800"}, "context.note"),
        ({"k\ud800": "value"}, "context"),
        ({"list": ["ok", {"deep": "\udfff tail"}]}, "context.list.1.deep"),
    ],
)
def test_a_lone_surrogate_in_the_context_is_a_400_naming_the_field(api, alice, agent, context, field):
    response = post_json(api(alice), f"/v1/agents/{agent.public_id}/calls", call_body(context))
    error = error_of(response, 400, "surrogate_characters_not_allowed")
    assert error["field"] == field
    assert "U+D800" in error["message"] or "U+DFFF" in error["message"]
    assert not Call.objects.exists()


def test_a_surrogate_pair_is_a_character_and_is_kept(api, alice, agent):
    body = call_body({"note": "\U0001f600"})
    assert "\\ud83d\\ude00" in body
    response = post_json(api(alice), f"/v1/agents/{agent.public_id}/calls", body)
    assert response.status_code == 201, response.content
    assert response.json()["context"] == {"note": "\U0001f600"}


@pytest.mark.parametrize(
    ("method", "path", "body", "field"),
    [
        ("post", "/v1/agents", {"name": "bot\ud800"}, "name"),
        ("post", "/v1/agents", {"name": "bot", "phone_numbers": ["+1415\ud800"]}, "phone_numbers.0"),
        ("patch", "/v1/agents/agent_abc", {"instructions": "\ud800"}, "instructions"),
        ("post", "/v1/api-keys", {"name": "key\udc00"}, "name"),
        ("post", "/v1/numbers", {"number": "+14155550111", "friendly_name": "\ud800"}, "friendly_name"),
        ("post", "/v1/numbers/bulk", {"numbers": [{"number": "\ud800"}]}, "numbers.0.number"),
        ("post", "/v1/consent-openers", {"jurisdiction": "US", "text": "Hello \ud800"}, "text"),
    ],
)
def test_a_lone_surrogate_in_any_stored_json_field_is_a_400_naming_it(
    api, ada, agent, method, path, body, field
):
    response = getattr(api(ada), method)(path, data=json.dumps(body), content_type="application/json")
    error = error_of(response, 400, "surrogate_characters_not_allowed")
    assert error["field"] == field
    assert Agent.objects.get().name == "Reminder bot"


def test_a_lone_surrogate_in_the_test_call_forms_context_is_a_readable_error(client, alice, agent):
    client.force_login(alice)
    response = client.post(
        f"/calls/place/{agent.public_id}",
        {"phone_number": "+14155550123", "context": '{"note": "k\\ud800"}'},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    assert "lone surrogate (U+D800)" in response.content.decode()
    assert not Call.objects.exists()


# Cursors ---------------------------------------------------------------------------------------------------------


def cursor(text: str) -> str:
    return b64encode(text.encode()).decode()


@pytest.mark.parametrize(
    "value",
    [
        "cD0yMDI2LTk5LTk5",  # p=2026-99-99
        cursor("p=99999999999999999999999"),
        cursor("p=²"),
        cursor("p=\x00"),
        cursor("o=5&r=x"),
        "not base64!",
    ],
)
def test_a_malformed_cursor_is_a_400_naming_it(api, ada, value):
    CallFactory()
    client = api(ada)
    for path in ["/v1/calls", "/v1/agents", "/v1/numbers", "/v1/api-keys", "/v1/consent-openers"]:
        error = error_of(client.get(path, {"cursor": value}), 400, "invalid_cursor")
        assert error["field"] == "cursor"


def test_the_cursors_a_list_gives_out_still_page(api, ada):
    calls = [CallFactory() for _ in range(3)]
    client = api(ada)
    first = client.get("/v1/calls", {"limit": 2}).json()
    second = client.get(first["next"]).json()
    assert [c["id"] for c in first["results"] + second["results"]] == [c.public_id for c in reversed(calls)]
    back = client.get(second["previous"]).json()
    assert back["results"] == first["results"]


# Twilio webhooks: the signature before anything -----------------------------------------------------------------


@pytest.mark.parametrize("path", ["/v1/twilio/voice", "/v1/twilio/status"])
def test_a_webhook_with_a_json_body_is_refused_415_before_it_is_read_without_any_sign_in(
    twilio_settings, monkeypatch, path
):
    def never(*args, **kwargs):
        raise AssertionError("a webhook body was parsed before its signature was checked")

    monkeypatch.setattr("wordcab_admin.kernel.validation.JSONParser.parse", never)
    client = Client(enforce_csrf_checks=True)
    for content_type, body in [
        ("application/json", f'{{"CallSid": {nested(1_000)}}}'),
        ("application/json", nested(100_000)),
        ("text/plain", "CallSid=CA1"),
    ]:
        error = error_of(client.post(path, data=body, content_type=content_type), 415)
        assert error["code"] == "unsupported_media_type"
    multipart = client.post(path, {"CallSid": "CA1", "CallStatus": "ringing"})  # the test client's default
    error_of(multipart, 415, "unsupported_media_type")
    assert not Call.objects.exists()


@pytest.mark.parametrize("path", ["/v1/twilio/voice", "/v1/twilio/status"])
def test_an_unsigned_form_is_still_a_403(twilio_settings, path):
    body = urlencode({"CallSid": "CA1", "CallStatus": "ringing", "To": "+14155550111"})
    response = Client().post(path, data=body, content_type="application/x-www-form-urlencoded; charset=UTF-8")
    error_of(response, 403, "invalid_signature")
