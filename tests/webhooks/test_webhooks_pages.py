"""The Webhooks pages: adding an endpoint shows its secret once, the endpoint's page lists its deliveries,
a delivery's page shows its attempts and body, and deleting asks first."""

import pytest

from tests.factories import CampaignFactory
from webhooks.emit import Pending, events_emit
from webhooks.models import WebhookEndpoint
from webhooks.services import endpoint_create


def test_adding_an_endpoint_shows_its_secret_once(client, alice):
    client.force_login(alice)
    added = client.post("/webhooks/", {"url": "https://hooks.example.com/x", "events": ["call.ended"]})
    assert added.status_code == 302
    first = client.get("/webhooks/").content.decode()
    again = client.get("/webhooks/").content.decode()
    assert "whsec_" in first
    assert "whsec_" not in again
    assert "https://hooks.example.com/x" in again


def test_a_ftp_url_is_refused_on_the_page_with_the_reason(client, alice):
    client.force_login(alice)
    refused = client.post("/webhooks/", {"url": "ftp://hooks.example.com/x", "events": ["call.ended"]})
    assert refused.status_code == 400
    assert "Only http and https URLs are allowed." in refused.content.decode()
    assert not WebhookEndpoint.objects.exists()


def test_the_endpoint_and_delivery_pages_show_deliveries_attempts_and_body(client, alice, campaign_done):
    endpoint, _secret = endpoint_create(
        actor=alice, url="https://hooks.example.com/x", events=["campaign.completed"]
    )
    (delivery,) = events_emit(
        [
            Pending(
                "campaign.completed", f"campaign.completed:{campaign_done.public_id}", campaign=campaign_done
            )
        ]
    )
    client.force_login(alice)
    listed = client.get(f"/webhooks/{endpoint.public_id}/?status=pending").content.decode()
    assert delivery.event.public_id in listed
    shown = client.get(f"/webhooks/{endpoint.public_id}/deliveries/{delivery.public_id}/").content.decode()
    assert campaign_done.public_id in shown  # the body
    assert "Replay" in shown
    exported = b"".join(client.get(f"/webhooks/{endpoint.public_id}/deliveries.csv").streaming_content)
    assert delivery.public_id.encode() in exported


def test_deleting_an_endpoint_asks_first(client, alice):
    endpoint, _secret = endpoint_create(actor=alice, url="https://hooks.example.com/x", events=["call.ended"])
    client.force_login(alice)
    asked = client.post(f"/webhooks/{endpoint.public_id}/delete")
    assert "Delete the endpoint https://hooks.example.com/x?" in asked.content.decode()
    assert WebhookEndpoint.objects.exists()
    client.post(f"/webhooks/{endpoint.public_id}/delete", {"confirmed": "yes"})
    assert not WebhookEndpoint.objects.exists()


@pytest.fixture
def campaign_done(db):
    return CampaignFactory(status="completed")
