"""The campaign list, the new-campaign page (preview, upload, progress), a campaign's page (controls, counts, forecast,
validation, contacts, downloads) and the demo: what each role sees and may do."""

import csv
import io
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.test import Client

from agents.models import Agent
from calls.models import Call, CallStatus
from campaigns.models import Campaign, CampaignStatus, Contact, ContactAttempt, ContactStatus, SkipReason
from campaigns.selectors import Progress
from tests.factories import AgentFactory, CallFactory, CampaignFactory, ContactFactory, UserFactory
from wordcab_admin.kernel.roles import Role


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_an_empty_dashboard_offers_the_demo_to_operators_only(alice, bob):
    assert "Start the demo" in signed_in(alice).get("/").content.decode()
    assert "Start the demo" not in signed_in(bob).get("/").content.decode()


def test_a_viewer_may_not_start_the_demo(bob):
    assert signed_in(bob).post("/dashboard/demo").status_code == 403
    assert not Campaign.objects.exists()


def test_the_demo_button_creates_agents_numbers_and_a_running_campaign_of_calls(alice):
    response = signed_in(alice).post("/dashboard/demo")
    assert response.status_code == 302
    campaign = Campaign.objects.get()
    assert campaign.status == CampaignStatus.RUNNING
    assert Agent.objects.filter(public_id__startswith="agent_demo_").count() == 3
    assert all(a.phone_numbers.exists() for a in Agent.objects.filter(public_id__startswith="agent_demo_"))
    calls = Call.objects.filter(campaign=campaign)
    assert calls.count() == 10
    endings = {c.to_number[-4:] for c in calls}
    assert {"0150", "0163", "0171", "0184", "0123"} <= endings  # every row of the simulator's table
    assert all(c.owner == alice for c in calls)


def test_the_demo_command_can_run_twice(db, capsys):
    call_command("demo", calls=3)
    call_command("demo", calls=2)
    out = capsys.readouterr().out
    assert "3 calls placed" in out
    assert "2 calls placed" in out
    assert Agent.objects.filter(public_id__startswith="agent_demo_").count() == 3
    assert Campaign.objects.count() == 2
    assert Call.objects.count() == 5


def test_the_campaign_page_shows_counts_and_calls(bob):
    agent = AgentFactory(name="Survey bot")
    campaign = Campaign.objects.create(name="Spring survey", agent=agent, status=CampaignStatus.RUNNING)
    done = CallFactory(agent=agent, campaign=campaign, status=CallStatus.COMPLETED)
    CallFactory(agent=agent, campaign=campaign, status=CallStatus.RINGING)
    page = signed_in(bob).get(f"/campaigns/{campaign.public_id}/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Spring survey" in html
    assert f'data-campaign-id="{campaign.public_id}"' in html
    assert f'id="live-call-{done.public_id}"' in html
    calls = page.context["summary"]["calls"]
    assert (calls["total"], calls["completed"], calls["ringing"]) == (2, 1, 1)
    assert page.context["summary"]["counts"]["total"] == 0  # a campaign without contacts, like the demo's
    assert page.context["progress"] == Progress(done=1, total=2, unit="calls ended")
    board = signed_in(bob).get(f"/campaigns/{campaign.public_id}/board")
    assert board.status_code == 200
    assert "<html" not in board.content.decode()


def test_an_unknown_campaign_is_a_404(bob):
    assert signed_in(bob).get("/campaigns/camp_nope/").status_code == 404


def test_the_campaign_list_links_each_campaign_to_its_page_with_its_progress(bob):
    agent = AgentFactory()
    running = Campaign.objects.create(name="Reminders", agent=agent, status=CampaignStatus.RUNNING)
    finished = Campaign.objects.create(name="Old one", agent=agent, status=CampaignStatus.COMPLETED)
    CallFactory(agent=agent, campaign=running, status=CallStatus.COMPLETED)
    CallFactory(agent=agent, campaign=running, status=CallStatus.RINGING)
    html = signed_in(bob).get("/campaigns/").content.decode()
    assert f'href="/campaigns/{running.public_id}/"' in html
    assert f'href="/campaigns/{finished.public_id}/"' in html
    assert '<progress value="1" max="2"' in html
    assert "1 of 2 calls ended" in html
    assert "0 of 0 calls ended" in html


# --- a new campaign -----------------------------------------------------------------------------------------

CONTACTS_CSV = (
    "name,phone,plan\n"
    "Jane Doe,+14155550123,gold\n"  # row 2: accepted
    "Omar Haddad,not a number,silver\n"  # row 3: invalid_number
    "Jane again,+14155550123,gold\n"  # row 4: duplicate of row 2
)
FORM = {
    "agent_id": "agent_abc",
    "name": "",
    "phone_column": "",
    "max_concurrent_calls": "5",
    "calls_per_minute": "30",
    "max_attempts": "3",
    "retry_delay_seconds": "1800",
    "retry_outcomes": ["", "no_answer", "busy"],
    "record": "",
    "max_duration": "",
    "start_at": "",
    "end_at": "",
    "window_start": "",
    "window_end": "",
}


def csv_upload(text: str = CONTACTS_CSV, name: str = "spring-list.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, text.encode(), content_type="text/csv")


def test_the_campaign_list_offers_a_new_campaign_to_operators_with_a_helpful_empty_state(alice, bob):
    html = signed_in(alice).get("/campaigns/").content.decode()
    assert "No campaigns yet." in html
    assert 'href="/campaigns/new"' in html
    assert 'href="/campaigns/new"' not in signed_in(bob).get("/campaigns/").content.decode()


def test_the_new_campaign_page_offers_the_active_agents_and_shows_the_defaults(alice, agent):
    AgentFactory(name="Retired bot", is_active=False)
    page = signed_in(alice).get("/campaigns/new")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Reminder bot" in html
    assert "Retired bot" not in html
    for name, default in (("max_concurrent_calls", 5), ("calls_per_minute", 30), ("max_attempts", 3)):
        assert f'name="{name}" value="{default}"' in html
    assert 'value="no_answer" checked' in html
    assert 'value="failed" checked' not in html
    assert re.search(r'name="progress_token" value="[A-Za-z0-9_-]{16,64}"', html)
    assert "static/js/campaigns.js" in html


def test_a_viewer_may_not_open_the_new_campaign_page(bob, agent):
    assert signed_in(bob).get("/campaigns/new").status_code == 403
    assert signed_in(bob).post("/campaigns/new", {**FORM, "file": csv_upload()}).status_code == 403


def test_the_preview_answers_the_header_a_few_rows_and_the_guessed_phone_column(alice):
    response = signed_in(alice).post("/campaigns/preview", {"file": csv_upload()})
    assert response.status_code == 200
    preview = response.json()
    assert preview["columns"] == ["name", "phone", "plan"]
    assert preview["sample"][0] == ["Jane Doe", "+14155550123", "gold"]
    assert len(preview["sample"]) == 3
    assert preview["phone_column"] == "phone"
    assert preview["delimiter"] == ","


def test_the_preview_of_a_file_that_cannot_be_read_says_why(alice):
    client = signed_in(alice)
    empty = client.post("/campaigns/preview", {"file": SimpleUploadedFile("empty.csv", b"")})
    assert empty.status_code == 400
    assert empty.json()["error"]["field"] == "file"
    assert empty.json()["error"]["message"]
    assert client.post("/campaigns/preview", {}).json()["error"]["field"] == "file"


def test_a_plain_form_post_creates_the_draft_and_lands_on_its_page(alice, agent):
    client = signed_in(alice)
    response = client.post("/campaigns/new", {**FORM, "file": csv_upload()})
    campaign = Campaign.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/campaigns/{campaign.public_id}/"
    assert (campaign.name, campaign.status, campaign.agent, campaign.created_by) == (
        "spring-list",
        CampaignStatus.DRAFT,
        agent,
        alice,
    )  # the name defaults to the file's
    assert campaign.retry_outcomes == ["no_answer", "busy"]
    html = client.get(response["Location"]).content.decode()
    assert "created as a draft: 1 of 3 rows ready to call, 2 rejected" in html
    assert 'data-validation="accepted">1 accepted' in html
    assert 'data-validation="rejected">2 rejected' in html


def test_unticking_every_retry_outcome_means_no_retries(alice, agent):
    signed_in(alice).post("/campaigns/new", {**FORM, "retry_outcomes": [""], "file": csv_upload()})
    assert Campaign.objects.get().retry_outcomes == []


def test_a_refused_form_says_why_beside_the_field_and_keeps_what_was_typed(alice, agent):
    client = signed_in(alice)
    typed = {
        **FORM,
        "name": "Summer",
        "max_attempts": "12",
        "calls_per_minute": "45",
        "retry_outcomes": ["failed"],
    }
    response = client.post("/campaigns/new", {**typed, "file": csv_upload()})
    assert response.status_code == 400
    html = response.content.decode()
    assert "max_attempts must be between 1 and 10." in html
    assert 'name="name" value="Summer"' in html
    assert 'name="calls_per_minute" value="45"' in html
    assert 'value="failed" checked' in html
    assert 'value="no_answer" checked' not in html
    missing = client.post("/campaigns/new", {**FORM, "agent_id": ""}).content.decode()
    assert "Choose a CSV file of contacts." in missing
    assert "Choose the agent that will make the calls." in missing
    unreadable = client.post("/campaigns/new", {**FORM, "file": SimpleUploadedFile("empty.csv", b"")})
    assert unreadable.status_code == 400
    assert not Campaign.objects.exists()


def test_the_pages_upload_answers_json_and_its_progress_can_be_polled(alice, agent):
    client = signed_in(alice)
    token = "t" * 24
    response = client.post(
        "/campaigns/new",
        {**FORM, "progress_token": token, "file": csv_upload()},
        HTTP_ACCEPT="application/json",
    )
    assert response.status_code == 201
    campaign = Campaign.objects.get()
    assert response.json() == {
        "id": campaign.public_id,
        "redirect": f"/campaigns/{campaign.public_id}/",
        "validation": {"rows": 3, "accepted": 1, "rejected": 2},
    }
    assert client.get(f"/campaigns/import-progress/{token}").json() == {"rows": 3}
    assert client.get(f"/campaigns/import-progress/{'u' * 24}").json() == {"rows": None}
    # another user does not see this upload's progress
    assert signed_in(UserFactory(role=Role.OPERATOR)).get(f"/campaigns/import-progress/{token}").json() == {
        "rows": None
    }
    refused = client.post(
        "/campaigns/new",
        {**FORM, "window_start": "09:00", "file": csv_upload()},
        HTTP_ACCEPT="application/json",
    )
    assert refused.status_code == 400
    assert refused.json()["error"]["field"] == "window_end"
    assert refused.json()["errors"] == {"window_end": "Give both ends of the calling window, or neither."}


# --- a campaign's page --------------------------------------------------------------------------------------


def imported(agent) -> Campaign:
    """A draft as an import leaves it: two accepted rows, two rejected."""
    campaign = CampaignFactory(
        agent=agent,
        name="Spring",
        columns=["name", "phone", "plan"],
        validation={"rows": 4, "accepted": 2, "rejected": 2},
    )
    ContactFactory(
        campaign=campaign, row=2, phone_number="+14155550123", context={"name": "Jane", "plan": "gold"}
    )
    ContactFactory(
        campaign=campaign, row=3, phone_number="+14155550131", context={"name": "Mei", "plan": "=1+1"}
    )
    ContactFactory(
        campaign=campaign, row=4, phone_number="", raw_number="n/a", context={"name": "Omar", "plan": "silver"},
        status=ContactStatus.SKIPPED, skip_reason=SkipReason.INVALID_NUMBER, message="'n/a' is not a phone number.",
    )  # fmt: skip
    ContactFactory(
        campaign=campaign, row=5, phone_number="+14155550123", context={"name": "Jane again", "plan": "gold"},
        status=ContactStatus.SKIPPED, skip_reason=SkipReason.DUPLICATE, message="The same number as row 2.",
    )  # fmt: skip
    return campaign


def test_the_controls_follow_the_status_and_move_the_campaign(alice, agent):
    campaign = imported(agent)
    client = signed_in(alice)
    url = f"/campaigns/{campaign.public_id}/"
    html = client.get(url).content.decode()
    assert 'data-control="start"' in html
    assert 'data-control="cancel"' in html
    assert 'data-control="pause"' not in html
    assert f'data-confirm="Cancel {campaign.name}?' in html

    response = client.post(f"{url}start")
    assert (response.status_code, response["Location"]) == (302, url)
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.RUNNING
    html = client.get(url).content.decode()
    assert "Campaign Spring started." in html
    assert 'data-control="pause"' in html
    assert 'data-control="start"' not in html

    client.post(f"{url}start")  # not from running: said on the page, nothing moves
    assert "it cannot start" in client.get(url).content.decode()
    client.post(f"{url}pause")
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.PAUSED
    client.post(f"{url}cancel")
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.CANCELLED
    assert Contact.objects.filter(campaign=campaign, skip_reason=SkipReason.CANCELLED).count() == 2


def test_a_viewer_sees_no_controls_and_may_not_post_them(bob, agent):
    campaign = imported(agent)
    client = signed_in(bob)
    assert "data-control=" not in client.get(f"/campaigns/{campaign.public_id}/").content.decode()
    assert client.post(f"/campaigns/{campaign.public_id}/start").status_code == 403
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.DRAFT


def test_the_campaign_page_shows_its_counts_forecast_validation_settings_and_contacts(bob, agent):
    campaign = imported(agent)
    page = signed_in(bob).get(f"/campaigns/{campaign.public_id}/")
    html = page.content.decode()
    assert page.context["summary"]["counts"]["pending"] == 2
    assert 'data-campaign-count="skipped">2<' in html
    # The import's two rejected rows are neither done nor to do: a new campaign starts at 0 of 2.
    assert page.context["progress"] == Progress(done=0, total=2, unit="contacts done")
    # the forecast chart: a stacked bar of the pending contacts, and the blocked ones by reason
    forecast = page.context["forecast"]
    assert forecast["pending"] == 2
    assert sum(s["n"] for s in forecast["segments"]) == 2
    assert sum(s["width"] for s in forecast["segments"]) == pytest.approx(100, abs=0.05)
    assert {b["reason"]: b["n"] for b in forecast["blocked"]} == {"invalid_number": 1, "duplicate": 1}
    assert 'class="forecast-bar"' in html
    assert 'data-blocked="duplicate"' in html
    # the validation report and its rejected rows
    assert "Download rejected rows (CSV)" in html
    assert "The same number as row 2." in html
    # the settings and the contacts
    assert "30 calls a minute" in html
    assert 'id="contact-2"' in html
    assert 'id="contact-5"' in html
    assert "Export results (CSV)" in html


def test_the_contacts_table_filters_by_state_skip_reason_and_number(bob, agent):
    campaign = imported(agent)
    client = signed_in(bob)
    url = f"/campaigns/{campaign.public_id}/"

    def rows(query: str) -> list[str]:
        html = client.get(url + query, HTTP_HX_REQUEST="true").content.decode()
        assert "<html" not in html  # the partial alone
        return re.findall(r'id="contact-(\d+)"', html)

    assert rows("") == ["2", "3", "4", "5"]
    assert rows("?status=skipped") == ["4", "5"]
    assert rows("?skip_reason=duplicate") == ["5"]
    assert rows("?q=555-0131") == ["3"]
    assert rows("?q=n/a") == ["4"]
    assert (
        "No contact matches these filters."
        in client.get(url + "?q=999", HTTP_HX_REQUEST="true").content.decode()
    )


def test_each_contact_shows_its_attempts_with_links_to_their_calls(bob, agent):
    campaign = imported(agent)
    contact = Contact.objects.get(campaign=campaign, row=2)
    call = CallFactory(agent=agent, campaign=campaign, status=CallStatus.NO_ANSWER)
    ContactAttempt.objects.create(contact=contact, number=1, call=call, outcome="no_answer")
    html = signed_in(bob).get(f"/campaigns/{campaign.public_id}/").content.decode()
    assert f'href="/calls/{call.public_id}/"' in html


def test_the_rejected_rows_download_has_every_rejected_row_with_its_columns_code_and_message(bob, agent):
    campaign = imported(agent)
    response = signed_in(bob).get(f"/campaigns/{campaign.public_id}/rejected.csv")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    lines = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert lines == [
        ["row", "name", "phone", "plan", "error", "message"],
        ["4", "Omar", "n/a", "silver", "invalid_number", "'n/a' is not a phone number."],
        ["5", "Jane again", "+14155550123", "gold", "duplicate", "The same number as row 2."],
    ]


def test_the_results_export_has_one_line_per_contact_with_its_state_attempts_calls_and_last_outcome(
    bob, agent, monkeypatch
):
    monkeypatch.setattr("campaigns.selectors.DOWNLOAD_CHUNK", 3)  # read in chunks: the 4 contacts take two
    campaign = imported(agent)
    contact = Contact.objects.get(campaign=campaign, row=2)
    Contact.objects.filter(pk=contact.pk).update(status=ContactStatus.COMPLETED, attempts=2)
    calls = [CallFactory(agent=agent, campaign=campaign) for _ in range(2)]
    ContactAttempt.objects.create(contact=contact, number=1, call=calls[0], outcome="no_answer")
    ContactAttempt.objects.create(contact=contact, number=2, call=calls[1], outcome="completed")
    response = signed_in(bob).get(f"/campaigns/{campaign.public_id}/export.csv")
    assert response.status_code == 200
    assert response.streaming
    lines = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert lines[0] == [
        "row", "name", "phone", "plan", "phone_number", "status", "skip_reason", "attempts", "call_ids",
        "last_outcome",
    ]  # fmt: skip
    assert lines[1] == [
        "2", "Jane", "+14155550123", "gold", "+14155550123", "completed", "", "2",
        f"{calls[0].public_id};{calls[1].public_id}", "completed",
    ]  # fmt: skip
    assert lines[2][3] == "'=1+1"  # a formula in the file is not run by the spreadsheet that opens the export
    assert lines[3][4:7] == ["", "skipped", "invalid_number"]
    assert [line[0] for line in lines[1:]] == ["2", "3", "4", "5"]


def test_the_list_shows_each_campaigns_status_and_its_contacts_done(bob, agent):
    campaign = imported(agent)
    html = signed_in(bob).get("/campaigns/").content.decode()
    assert 'badge-campaign-draft">Draft' in html
    assert '<progress value="0" max="2"' in html  # the import's rejected rows are not progress
    assert "0 of 2 contacts done" in html
    assert (
        signed_in(bob).get(f"/campaigns/{campaign.public_id}/board").context["progress"].unit
        == "contacts done"
    )


def test_a_campaign_paused_by_the_system_says_why_on_its_page(bob, agent):
    campaign = imported(agent)
    Campaign.objects.filter(pk=campaign.pk).update(
        status=CampaignStatus.PAUSED, status_reason="Agent agent_abc is disabled; enable it, then resume."
    )
    html = signed_in(bob).get(f"/campaigns/{campaign.public_id}/board").content.decode()
    assert "Agent agent_abc is disabled; enable it, then resume." in html
