"""The campaign list, a campaign's page and the demo: what each role sees and may do."""

from django.core.management import call_command
from django.test import Client

from agents.models import Agent
from calls.models import Call, CallStatus
from campaigns.models import Campaign, CampaignStatus
from tests.factories import AgentFactory, CallFactory


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
    counts = page.context["summary"]["counts"]
    assert (counts["total"], counts["completed"], counts["ringing"]) == (2, 1, 1)
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
