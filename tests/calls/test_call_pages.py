"""The calls pages: list with filters and live rows, call page with its timeline, test-call form, CSV."""

import csv
import html
import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from calls.models import Call, CallStatus
from campaigns.models import Campaign, CampaignStatus
from tests.factories import AgentFactory, CallFactory, PhoneNumberFactory
from tests.helpers import apply_event

pytestmark = pytest.mark.django_db


@pytest.fixture
def no_broker(monkeypatch):
    placed = []
    monkeypatch.setattr("calls.services.call_place_enqueue", lambda call_id: placed.append(call_id))
    return placed


def signed_in(client, user):
    client.force_login(user)
    return client


@pytest.mark.parametrize("who", ["ada", "alice", "bob", "carol"])
def test_every_role_sees_the_calls_list_with_status_badges(client, request, who):
    call = CallFactory(status=CallStatus.RINGING)
    page = signed_in(client, request.getfixturevalue(who)).get("/calls/")
    assert page.status_code == 200
    html = page.content.decode()
    assert f'id="call-row-{call.public_id}"' in html
    assert 'class="badge badge-ringing"' in html
    assert 'data-live="calls"' in html


def test_signed_out_visitors_are_sent_to_sign_in(client):
    assert client.get("/calls/").status_code == 302


def test_the_calls_list_filters(client, bob):
    agent = AgentFactory(public_id="agent_list")
    mine = CallFactory(agent=agent, status=CallStatus.COMPLETED)
    other = CallFactory(status=CallStatus.FAILED)
    html = signed_in(client, bob).get("/calls/?agent_id=agent_list&status=").content.decode()
    assert mine.public_id in html
    assert other.public_id not in html
    html = client.get("/calls/?status=failed").content.decode()
    assert other.public_id in html
    assert mine.public_id not in html


def test_a_bad_filter_shows_an_error_not_a_500(client, bob):
    CallFactory()
    page = signed_in(client, bob).get("/calls/?status=bogus&created_after=yesterday")
    assert page.status_code == 200
    assert 'role="alert"' in page.content.decode()


@pytest.mark.parametrize("value", ["%", "%s", "%(x)s", "%%"])
@pytest.mark.parametrize(
    ("field", "message"),
    [
        ("status", "Unknown status '{}'; one of"),
        ("direction", "Select a valid choice. {} is not one of the available choices."),
    ],
)
def test_a_percent_sign_in_a_choice_filter_is_shown_on_the_list_and_refused_by_the_export(
    client, bob, field, message, value
):
    CallFactory()
    message = message.format(value)
    signed_in(client, bob)
    page = client.get("/calls/", {field: value})
    assert page.status_code == 200
    assert list(page.context["errors"]) == [field]
    assert html.escape(message) in page.content.decode()
    export = client.get("/calls/export.csv", {field: value})
    assert export.status_code == 400
    assert export["Content-Type"] == "text/plain; charset=utf-8"
    assert export.content.decode().startswith(f"Invalid filters:\n{field}: {message}")  # plain, not HTML


def test_the_calls_list_pages_back_through_older_calls(client, bob):
    calls = CallFactory.create_batch(52)
    html = signed_in(client, bob).get("/calls/").content.decode()
    assert calls[-1].public_id in html
    assert calls[0].public_id not in html
    assert "Older calls" in html
    older = client.get(f"/calls/?before={calls[2].pk}").content.decode()
    assert calls[0].public_id in older


def test_the_calls_list_does_not_grow_queries_with_rows(client, bob):
    signed_in(client, bob)
    CallFactory.create_batch(3)
    client.get("/calls/")
    with CaptureQueriesContext(connection) as few:
        client.get("/calls/")
    CallFactory.create_batch(30, agent=AgentFactory())
    with CaptureQueriesContext(connection) as many:
        client.get("/calls/")
    assert len(many) == len(few)


def test_a_single_row_is_served_for_live_updates(client, bob):
    call = CallFactory(status=CallStatus.IN_PROGRESS)
    html = signed_in(client, bob).get(f"/calls/{call.public_id}/row").content.decode()
    assert html.strip().startswith(f'<tr id="call-row-{call.public_id}"')
    assert "badge-in_progress" in html


def test_the_call_page_shows_the_timeline_with_ignored_events_and_their_reason(client, bob):
    call = CallFactory()
    apply_event(call=call, status=CallStatus.RINGING, sequence=1, source="twilio", provider_status="ringing")
    apply_event(
        call=call, status=CallStatus.INITIATING, sequence=0, source="twilio", provider_status="initiated"
    )
    page = signed_in(client, bob).get(f"/calls/{call.public_id}/")
    assert page.status_code == 200
    html = page.content.decode()
    assert f'<div id="call-detail" data-call-id="{call.public_id}"' in html
    assert f'hx-get="/calls/{call.public_id}/partial"' in html
    assert 'hx-trigger="call-updated from:body"' in html
    assert 'class="event-known"' in html  # expected news, shown quietly
    assert "already known: the call had moved on" in html
    assert "out of order: sequence 0 arrived after 1" in html  # the lifecycle's reason, on demand
    assert "event-surprise" not in html
    assert 'id="recording"' in html  # the recording partial is included


def test_the_call_detail_partial_is_the_wrapper_alone(client, bob):
    call = CallFactory()
    html = signed_in(client, bob).get(f"/calls/{call.public_id}/partial").content.decode()
    assert html.lstrip().startswith('<div id="call-detail"')
    assert "<html" not in html


def test_an_unknown_call_page_is_a_404(client, bob):
    assert signed_in(client, bob).get("/calls/call_nope/").status_code == 404


def test_operators_may_hang_up_from_the_call_page_and_viewers_may_not(client, alice, bob):
    call = CallFactory()
    apply_event(call=call, status=CallStatus.IN_PROGRESS, source="test")
    assert "Hang up" not in signed_in(client, bob).get(f"/calls/{call.public_id}/").content.decode()
    assert client.post(f"/calls/{call.public_id}/hangup").status_code == 403
    client.force_login(alice)
    assert "Hang up" in client.get(f"/calls/{call.public_id}/").content.decode()
    response = client.post(f"/calls/{call.public_id}/hangup")
    assert response.status_code == 302
    call.refresh_from_db()
    assert (call.status, call.end_reason) == (CallStatus.COMPLETED, "hangup")


def test_the_agent_page_has_the_place_a_call_form_for_operators_only(client, alice, bob, agent):
    html = signed_in(client, alice).get(f"/agents/{agent.public_id}/").content.decode()
    assert 'id="place-call-form"' in html
    client.force_login(bob)
    html = client.get(f"/agents/{agent.public_id}/").content.decode()
    assert 'id="place-call-form"' not in html


def test_placing_a_test_call_from_the_form_opens_its_page(
    client, alice, agent, no_broker, django_capture_on_commit_callbacks
):
    signed_in(client, alice)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/calls/place/{agent.public_id}",
            {
                "phone_number": "+14155550123",
                "max_duration": "60",
                "record": "on",
                "context": '{"a": 1}',
                "idempotency_key": "form-1",
            },
        )
    call = Call.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/calls/{call.public_id}/"
    assert (call.max_duration, call.record, call.context, call.owner) == (60, True, {"a": 1}, alice)
    assert no_broker == [call.pk]
    again = client.post(
        f"/calls/place/{agent.public_id}",
        {
            "phone_number": "+14155550123",
            "max_duration": "60",
            "record": "on",
            "context": '{"a": 1}',
            "idempotency_key": "form-1",
        },
    )
    assert again["Location"] == f"/calls/{call.public_id}/"
    assert Call.objects.count() == 1  # a double submit places one call


def test_a_bad_number_in_the_form_is_shown_in_place_with_htmx(client, alice, agent):
    signed_in(client, alice)
    response = client.post(f"/calls/place/{agent.public_id}", {"phone_number": "12"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="place-call-form"' in html
    assert "is not a valid phone number" in html
    assert not Call.objects.exists()


def test_htmx_placing_redirects_to_the_call(client, alice, agent, no_broker):
    signed_in(client, alice)
    response = client.post(
        f"/calls/place/{agent.public_id}", {"phone_number": "+14155550123"}, HTTP_HX_REQUEST="true"
    )
    assert response["HX-Redirect"] == f"/calls/{Call.objects.get().public_id}/"


def test_a_viewer_cannot_place_a_call(client, bob, agent):
    response = signed_in(client, bob).post(
        f"/calls/place/{agent.public_id}", {"phone_number": "+14155550123"}
    )
    assert response.status_code == 403
    assert not Call.objects.exists()


def test_the_filtered_list_exports_as_csv(client, bob):
    done = CallFactory(status=CallStatus.COMPLETED, context={"x": 1})
    CallFactory(status=CallStatus.FAILED)
    response = signed_in(client, bob).get("/calls/export.csv?status=completed")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [r["id"] for r in rows] == [done.public_id]
    assert rows[0]["status"] == "completed"


def test_a_call_that_ended_without_proof_of_its_consent_opener_shows_a_warning(client, bob):
    call = CallFactory(consent_opener={"text": "This call is recorded."})
    apply_event(call=call, status=CallStatus.COMPLETED, source="test")
    html = signed_in(client, bob).get(f"/calls/{call.public_id}/").content.decode()
    assert 'class="consent-warning"' in html
    delivered = CallFactory(
        consent_opener={"text": "This call is recorded."}, consent_delivered_at=call.created_at
    )
    apply_event(call=delivered, status=CallStatus.COMPLETED, source="test")
    assert 'class="consent-warning"' not in client.get(f"/calls/{delivered.public_id}/").content.decode()


@pytest.mark.parametrize(
    ("status", "end_reason", "outcome"),
    [
        (CallStatus.NO_ANSWER, "no_answer", "No Answer"),
        (CallStatus.NO_ANSWER, "busy", "Busy"),
        (CallStatus.COMPLETED, "voicemail", "Voicemail"),
    ],
)
def test_the_call_page_names_the_outcome_from_the_status_and_the_end_reason(
    client, bob, status, end_reason, outcome
):
    call = CallFactory(status=status, end_reason=end_reason)
    signed_in(client, bob)
    html = client.get(f"/calls/{call.public_id}/").content.decode()
    assert f'<th scope="row">Outcome</th><td><span data-outcome>{outcome}</span>' in html
    assert f"data-call-status>{outcome}</span>" in html  # the heading's badge


def test_the_call_page_shows_the_context_as_json_and_links_its_campaign(client, bob):
    call = CallFactory(context={"customer_name": "Noah", "vip": True, "note": None})
    campaign = Campaign.objects.create(name="Renewals", agent=call.agent, status=CampaignStatus.RUNNING)
    Call.objects.filter(pk=call.pk).update(campaign=campaign)
    html = signed_in(client, bob).get(f"/calls/{call.public_id}/").content.decode()
    assert "&quot;vip&quot;: true" in html  # JSON, as entered and as the API returns it (not Python's True)
    assert "&quot;note&quot;: null" in html
    assert f'<a href="/campaigns/{campaign.public_id}/">Renewals</a>' in html


def test_the_campaign_page_links_back_to_the_list_and_exports_its_calls(client, bob):
    campaign = Campaign.objects.create(name="Renewals", agent=AgentFactory(), status=CampaignStatus.RUNNING)
    mine = CallFactory(agent=campaign.agent, campaign=campaign)
    CallFactory()  # another campaign's, or none
    html = signed_in(client, bob).get(f"/campaigns/{campaign.public_id}/").content.decode()
    assert '<a href="/campaigns/">Campaigns</a>' in html
    export = f"/calls/export.csv?campaign_id={campaign.public_id}"
    assert f'href="{export}"' in html
    rows = list(
        csv.DictReader(io.StringIO(b"".join(signed_in(client, bob).get(export).streaming_content).decode()))
    )
    assert [r["id"] for r in rows] == [mine.public_id]


def test_the_form_takes_a_number_as_people_type_it_and_the_caller_id_chosen(client, alice, agent, no_broker):
    PhoneNumberFactory(agent=agent, number="+14155550100")
    PhoneNumberFactory(agent=agent, number="+12125550100")
    signed_in(client, alice)
    form = client.get(f"/agents/{agent.public_id}/").content.decode()
    assert 'name="from_number"' in form
    assert "Automatic: its number in the callee's country and area" in form
    response = client.post(
        f"/calls/place/{agent.public_id}", {"phone_number": "(415) 555-0199", "from_number": "+12125550100"}
    )
    call = Call.objects.get()
    assert response.status_code == 302
    assert (call.to_number, call.from_number) == ("+14155550199", "+12125550100")
    page = client.get(f"/calls/{call.public_id}/").content.decode()
    assert "+12125550100" in page  # the choice is shown: From → to
