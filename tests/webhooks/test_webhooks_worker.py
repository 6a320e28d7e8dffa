"""A delivery is sent by a real Celery worker (threads pool, the real Redis broker), from the task sent
after the commit that made the event: no test code makes the attempt."""

import json

from tests.factories import AgentFactory
from tests.helpers import wait_for
from tests.webhooks.receiver import receiver_running
from webhooks.models import DeliveryStatus, WebhookDelivery


def test_a_celery_worker_sends_the_delivery_of_a_new_call(api, alice, settings, celery_worker_thread):
    settings.WEBHOOKS_ALLOW_PRIVATE_NETWORKS = True
    agent = AgentFactory()
    with receiver_running() as receiver:
        made = api(alice).post(
            "/v1/webhook-endpoints", {"url": receiver.url, "events": ["call.started"]}, format="json"
        )
        assert made.status_code == 201, made.content
        created = api(alice).post(
            f"/v1/agents/{agent.public_id}/calls", {"phone_number": "+14155550123"}, format="json"
        )
        assert created.status_code == 201, created.content
        wait_for(lambda: receiver.accepted(), timeout=30, what="the worker to deliver call.started")
    (got,) = receiver.accepted()
    body = json.loads(got.body)
    assert body["type"] == "call.started"
    assert body["data"]["id"] == created.json()["id"]
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == DeliveryStatus.SUCCEEDED
    assert delivery.attempts_count == 1
