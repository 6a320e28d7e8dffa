"""Times in the viewer's time zone, chosen in Settings; UTC in the exports and the API (issue #18, item 11)."""

import csv
import io
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from django.utils import timezone

from calls.models import Call, CallStatus
from live.metrics import metrics_cache_clear
from tests.factories import CallFactory
from tests.helpers import apply_event
from wordcab_admin.kernel.viewer_time_zone import TIME_ZONE_COOKIE

AT = datetime(2026, 6, 17, 18, 30, 5, tzinfo=UTC)  # 14:30:05 in New York (EDT), 20:30:05 in Paris (CEST)


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def choose(client: Client, zone: str):
    return client.post("/settings/time-zone", {"time_zone": zone})


@pytest.fixture
def call(db) -> Call:
    call = CallFactory(status=CallStatus.COMPLETED)
    Call.objects.filter(pk=call.pk).update(created_at=AT, answered_at=AT, ended_at=AT + timedelta(seconds=42))
    return Call.objects.get(pk=call.pk)


def test_settings_offer_the_zones_with_utc_chosen_until_one_is(bob):
    html = signed_in(bob).get("/settings/").content.decode()
    assert '<section id="time-zone"' in html
    assert '<option value="UTC" selected>UTC</option>' in html
    assert '<option value="America/New_York">America/New_York</option>' in html
    assert "Exports (CSV) and the API always use UTC." in html


def test_a_chosen_zone_is_remembered_and_every_page_shows_its_times_in_it(bob, call):
    apply_event(call=call, status=CallStatus.COMPLETED, source="twilio")  # a line in its timeline
    client = signed_in(bob)
    response = choose(client, "America/New_York")
    assert response.status_code == 302
    cookie = response.cookies[TIME_ZONE_COOKIE]
    assert cookie.value == "America/New_York"
    assert cookie["httponly"]
    assert cookie["max-age"] == 365 * 24 * 3600
    settings_page = client.get("/settings/").content.decode()
    assert '<option value="America/New_York" selected>' in settings_page
    assert "Times are now shown in America/New_York" in settings_page
    page = client.get(f"/calls/{call.public_id}/").content.decode()
    assert '<th scope="row">Created</th><td>2026-06-17 14:30:05 EDT</td>' in page
    assert "Times in America/New_York." in page  # the timeline
    calls_list = client.get("/calls/").content.decode()
    assert '<th>Started <small class="muted">(America/New_York)</small></th>' in calls_list
    assert '<td data-label="Started">2026-06-17 14:30:05</td>' in calls_list
    assert (
        'title="Times are shown in America/New_York; change it in Settings">America/New_York</a>'
        in calls_list
    )


def test_a_time_typed_in_a_filter_is_in_the_viewers_zone(bob, call):
    client = signed_in(bob)
    choose(client, "America/New_York")
    found = client.get("/calls/", {"created_after": "2026-06-17T14:30"}).content.decode()
    assert f'id="call-row-{call.public_id}"' in found
    after = client.get("/calls/", {"created_after": "2026-06-17T14:31"}).content.decode()
    assert f'id="call-row-{call.public_id}"' not in after


def test_exports_and_the_api_stay_in_utc_whatever_the_viewers_zone(bob, call):
    client = signed_in(bob)
    choose(client, "Europe/Paris")
    export = client.get("/calls/export.csv")
    (row,) = csv.DictReader(io.StringIO(b"".join(export.streaming_content).decode()))
    assert row["created_at"] == "2026-06-17T18:30:05Z"
    api = client.get(f"/v1/calls/{call.public_id}")  # the same browser session, its cookie sent
    assert api.status_code == 200
    assert api.json()["created_at"] == "2026-06-17T18:30:05Z"
    evidence_zone_free = client.get(f"/calls/{call.public_id}/").content.decode()
    assert "2026-06-17 20:30:05 CEST" in evidence_zone_free  # pages, by contrast, follow the zone


def test_an_unknown_zone_is_refused_and_changes_nothing(bob, call):
    client = signed_in(bob)
    response = choose(client, "Mars/Olympus_Mons")
    assert TIME_ZONE_COOKIE not in response.cookies
    page = client.get("/settings/").content.decode()
    assert "Unknown time zone &#x27;Mars/Olympus_Mons&#x27;: choose one from the list." in page
    client.cookies[TIME_ZONE_COOKIE] = "../../etc/passwd"  # a forged cookie is ignored, never read as a path
    assert "2026-06-17 18:30:05 UTC" in client.get(f"/calls/{call.public_id}/").content.decode()


def test_the_wallboards_today_starts_at_the_viewers_midnight(bob, db):
    metrics_cache_clear()
    zone = ZoneInfo("Pacific/Honolulu")
    midnight = timezone.now().astimezone(zone).replace(hour=0, minute=0, second=0, microsecond=0)
    for instant in (midnight - timedelta(minutes=1), midnight + timedelta(seconds=1)):
        done = CallFactory(status=CallStatus.COMPLETED)
        Call.objects.filter(pk=done.pk).update(created_at=instant)
    client = signed_in(bob)
    choose(client, "Pacific/Honolulu")
    page = client.get("/")
    assert (
        page.context["counts"]["completed"] == 1
    )  # the call a minute before Honolulu's midnight was yesterday
    assert page.context["metrics"].total.calls == 1
    metrics_cache_clear()
