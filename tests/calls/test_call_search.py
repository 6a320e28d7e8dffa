"""The calls list is searchable by phone number, typed any way people type it, and by the text of the call's
context, on SQLite and PostgreSQL; a page's search reads a bounded slice of the newest calls (issue #18,
item 12)."""

import csv
import io
import re

import pytest
from django.test import Client

from calls import selectors
from calls.models import Call
from tests.factories import CallFactory


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def listed(html: str) -> list[str]:
    return re.findall(r'<tr id="call-row-(call_\w+)"', html)


@pytest.fixture
def calls(db) -> dict[str, Call]:
    return {
        "sf": CallFactory(
            to_number="+14155550142", context={"customer_name": "Jane Doe", "order": "A-10023"}
        ),
        "nyc": CallFactory(
            to_number="+12125550199", context={"customer_name": "José Díaz", "note": 'said "call back"'}
        ),
        "london": CallFactory(to_number="+442079460958", context={}),
        "inbound": CallFactory(direction="inbound", from_number="+13105550111", to_number="+14155550000"),
    }


@pytest.mark.parametrize(
    ("typed", "found"),
    [
        ("(415) 555-0142", ["sf"]),
        ("+1 415 555 0142", ["sf"]),
        ("415.555.0142", ["sf"]),
        ("14155550142", ["sf"]),
        ("0142", ["sf"]),  # the last digits
        ("555-0199", ["nyc"]),
        ("+44 20 7946 0958", ["london"]),
        ("020 7946 0958", ["london"]),  # as a Londoner types it, with the national 0
        ("(310) 555-0111", ["inbound"]),  # the caller of an inbound call
    ],
)
def test_the_calls_list_finds_a_number_typed_any_way(bob, calls, typed, found):
    html = signed_in(bob).get("/calls/", {"q": typed}).content.decode()
    assert listed(html) == [calls[name].public_id for name in found]


@pytest.mark.parametrize(
    ("typed", "found"),
    [
        ("jane", ["sf"]),
        ("A-10023", ["sf"]),
        ("josé díaz", ["nyc"]),  # not ASCII: SQLite keeps it escaped in the JSON, PostgreSQL as is
        ('"call back"', ["nyc"]),  # quotes, escaped in the JSON
        ("customer_name", ["nyc", "sf"]),  # keys are text of the context too
        ("nobody", []),
        ("100%", []),  # LIKE's wildcards are searched for as typed
    ],
)
def test_the_calls_list_finds_text_of_the_context(bob, calls, typed, found):
    html = signed_in(bob).get("/calls/", {"q": typed}).content.decode()
    assert listed(html) == [calls[name].public_id for name in found]  # newest first
    if not found:
        assert "No calls match these filters." in html


def test_the_search_combines_with_the_filters_and_the_export_follows_it(bob, calls):
    client = signed_in(bob)
    html = client.get("/calls/", {"q": "customer", "direction": "outbound"}).content.decode()
    assert listed(html) == [calls["nyc"].public_id, calls["sf"].public_id]
    assert 'href="/calls/export.csv?q=customer&amp;direction=outbound"' in html
    response = client.get("/calls/export.csv", {"q": "jane"})
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [row["id"] for row in rows] == [calls["sf"].public_id]


def test_a_search_reads_a_bounded_slice_and_offers_the_one_before(bob, monkeypatch):
    monkeypatch.setattr(selectors, "SEARCH_WINDOW", 3)
    old = CallFactory(context={"customer_name": "Ada"})
    CallFactory.create_batch(8, context={"customer_name": "Grace"})
    client = signed_in(bob)
    html = client.get("/calls/", {"q": "Ada"}).content.decode()
    assert listed(html) == []  # Ada's call is older than the newest three
    (link,) = re.findall(
        r'<a href="\?([^"]+)" role="button" class="secondary outline">Search older calls</a>', html
    )
    assert "No calls match “Ada” since" in html
    before = client.get(f"/calls/?{link.replace('&amp;', '&')}").content.decode()
    more = re.findall(
        r'<a href="\?([^"]+)" role="button" class="secondary outline">Search older calls</a>', before
    )
    assert listed(before) == []  # the next slice of three: still newer than Ada's call
    assert more
    oldest = client.get(f"/calls/?{more[0].replace('&amp;', '&')}").content.decode()
    assert listed(oldest) == [old.public_id]
    assert "Search older calls" not in oldest  # nothing older is left


def test_a_search_costs_a_fixed_number_of_queries(bob, calls, django_assert_max_num_queries):
    CallFactory.create_batch(30, context={"customer_name": "Grace"})
    client = signed_in(bob)
    client.get("/calls/")  # the session and the user, once
    with django_assert_max_num_queries(12):
        response = client.get("/calls/", {"q": "Grace"})
    assert len(listed(response.content.decode())) == 30


def test_an_empty_or_blank_search_lists_every_call(bob, calls):
    html = signed_in(bob).get("/calls/", {"q": "   "}).content.decode()
    assert len(listed(html)) == 4
