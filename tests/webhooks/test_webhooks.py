"""Outbound webhooks end to end: real call lifecycle transitions make events, a real HTTP receiver gets
them signed, failures are retried on the clock (moved, not slept), and the network guard refuses what
resolves to a private address."""

import json
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from calls.lifecycle import EventIn, EventSource, call_events_apply
from compliance.models import AuditEvent
from tests.factories import AgentFactory
from tests.webhooks.receiver import receiver_running
from transcripts.services import call_analysis_run, transcript_segment_add
from webhooks import delivery as deliveries
from webhooks import signing
from webhooks.models import DeliveryStatus, WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookEvent
from webhooks.net_guard import Refused, target_checked
from wordcab_admin.kernel.sealed import seal, unseal

ALL_EVENTS = ["call.started", "call.status_changed", "call.ended", "recording.ready", "campaign.completed"]


def endpoint_made(api, user, url: str, events: list[str] | None = None) -> dict:
    answer = api(user).post(
        "/v1/webhook-endpoints", {"url": url, "events": events or ALL_EVENTS}, format="json"
    )
    assert answer.status_code == 201, answer.content
    return answer.json()


def call_run_through_the_lifecycle(
    api, user, on_commit, statuses=("ringing", "in_progress", "completed"), *, analysed=True
):
    """A call created through the API, then moved by the simulator's status events, each committed, and
    analysed once it has ended (what the worker does after a call's end: then `call.ended` is made)."""
    agent = AgentFactory()
    with on_commit(execute=True):
        created = api(user).post(
            f"/v1/agents/{agent.public_id}/calls", {"phone_number": "+14155550123"}, format="json"
        )
    assert created.status_code == 201, created.content
    call_id = created.json()["id"]
    for sequence, status in enumerate(statuses, start=1):
        with on_commit(execute=True):
            (result,) = call_events_apply(
                [EventIn(status=status, public_id=call_id, source=EventSource.SIMULATOR, sequence=sequence)]
            )
        assert not isinstance(result, Exception), result
    if analysed and statuses and statuses[-1] in ("completed", "failed", "no_answer"):
        with on_commit(execute=True):
            call_analysis_run(call_id=call_id)
    return call_id


def attempt_all_due() -> list[WebhookAttempt]:
    """What the worker does for each due delivery (the sweep's list), here in the test's thread."""
    return [a for pk in deliveries.deliveries_due() if (a := deliveries.delivery_attempt(delivery_id=pk))]


def clock_moved_past_every_retry() -> None:
    WebhookDelivery.objects.filter(status=DeliveryStatus.PENDING).update(
        next_attempt_at=timezone.now() - timedelta(seconds=1)
    )


def test_a_call_run_through_the_lifecycle_makes_started_status_changed_and_ended_events_in_order(
    api, alice, django_capture_on_commit_callbacks
):
    endpoint_made(api, alice, "https://hooks.example.com/wordcab")
    call_id = call_run_through_the_lifecycle(api, alice, django_capture_on_commit_callbacks, analysed=False)
    assert not WebhookEvent.objects.filter(type="call.ended").exists()  # not before its analysis
    with django_capture_on_commit_callbacks(execute=True):
        transcript_segment_add(call_id=call_id, speaker="agent", start=0.0, end=1.5, text="Hello there")
    with django_capture_on_commit_callbacks(execute=True):
        call_analysis_run(call_id=call_id)
    with django_capture_on_commit_callbacks(execute=True):
        call_analysis_run(call_id=call_id, force=True)  # a re-run: no second call.ended
    events = list(WebhookEvent.objects.order_by("id"))
    kinds = [(e.type, json.loads(e.body)["data"]["status"]) for e in events]
    assert kinds == [
        ("call.started", "initiating"),
        ("call.status_changed", "ringing"),
        ("call.status_changed", "in_progress"),
        ("call.status_changed", "completed"),
        ("call.ended", "completed"),
    ]
    ended = json.loads(events[-1].body)
    assert ended["id"] == events[-1].public_id
    assert ended["id"].startswith("evt_")
    assert ended["data"]["id"] == call_id
    assert [s["text"] for s in ended["data"]["transcript"]["segments"]] == ["Hello there"]
    assert set(ended["data"]["analysis"]) == {"summary", "outcome", "sentiment"}
    assert WebhookDelivery.objects.count() == 5  # one per event for the one endpoint


def test_the_same_change_announced_again_makes_no_second_event(
    api, alice, django_capture_on_commit_callbacks
):
    endpoint_made(api, alice, "https://hooks.example.com/wordcab")
    call_id = call_run_through_the_lifecycle(api, alice, django_capture_on_commit_callbacks)
    from calls.announce import call_changed_on_commit
    from calls.models import Call

    with django_capture_on_commit_callbacks(execute=True):
        call_changed_on_commit(Call.objects.get(public_id=call_id))  # e.g. its consent or recording changed
    assert WebhookEvent.objects.filter(type="call.ended").count() == 1


def test_a_delivery_is_signed_so_that_the_receiver_verifies_it(
    api, alice, settings, django_capture_on_commit_callbacks
):
    settings.WEBHOOKS_ALLOW_PRIVATE_NETWORKS = True
    with receiver_running() as receiver:
        secret = endpoint_made(api, alice, receiver.url, ["call.started"])["secret"]
        call_run_through_the_lifecycle(api, alice, django_capture_on_commit_callbacks, statuses=())
        (attempt,) = attempt_all_due()
    assert attempt.succeeded
    assert attempt.status_code == 200
    assert attempt.connected_to == "127.0.0.1"
    (got,) = receiver.received
    assert signing.signature_valid(
        secret=secret, header=got.headers["wordcab-signature"], body=got.body, now=int(time.time())
    )
    assert not signing.signature_valid(
        secret=secret, header=got.headers["wordcab-signature"], body=got.body + b" ", now=int(time.time())
    )
    body = json.loads(got.body)
    assert set(body) == {"id", "type", "created_at", "data"}
    assert body["type"] == "call.started"
    assert got.headers["wordcab-event-id"] == body["id"]
    assert got.headers["content-type"] == "application/json"
    assert got.headers["user-agent"] == "Wordcab-Webhooks/1"


def test_a_receiver_that_fails_three_times_then_succeeds_gets_exactly_one_accepted_delivery_per_event(
    api, alice, settings, django_capture_on_commit_callbacks
):
    settings.WEBHOOKS_ALLOW_PRIVATE_NETWORKS = True
    with receiver_running(script=[500, 503, 502] * 5) as receiver:
        endpoint_made(api, alice, receiver.url)
        call_run_through_the_lifecycle(api, alice, django_capture_on_commit_callbacks)
        rounds = 0
        while WebhookDelivery.objects.filter(status=DeliveryStatus.PENDING).exists():
            assert (
                attempt_all_due()
                or rounds == 0
                or not WebhookDelivery.objects.filter(
                    status=DeliveryStatus.PENDING, next_attempt_at__lte=timezone.now()
                ).exists()
            )
            clock_moved_past_every_retry()  # the next retry's time has come
            rounds += 1
            assert rounds < 10
    event_ids = [json.loads(r.body)["id"] for r in receiver.accepted()]
    assert sorted(event_ids) == sorted(WebhookEvent.objects.values_list("public_id", flat=True))
    assert len(event_ids) == len(set(event_ids)) == 5
    assert len(receiver.received) == 5 + 15  # every failure was retried with the same event id
    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {DeliveryStatus.SUCCEEDED}


def test_a_failed_attempt_is_retried_after_a_backoff_and_stored_with_its_answer(
    api, alice, settings, django_capture_on_commit_callbacks
):
    settings.WEBHOOKS_ALLOW_PRIVATE_NETWORKS = True
    with receiver_running(script=[500]) as receiver:
        endpoint_made(api, alice, receiver.url, ["call.started"])
        call_run_through_the_lifecycle(api, alice, django_capture_on_commit_callbacks, statuses=())
        before = timezone.now()
        (attempt,) = attempt_all_due()
        assert attempt_all_due() == []  # not due again before its backoff
    delivery = WebhookDelivery.objects.get()
    assert (attempt.status_code, attempt.succeeded) == (500, False)
    assert attempt.response_body == "receiver failing on purpose"
    assert delivery.status == DeliveryStatus.PENDING
    assert delivery.attempts_count == 1
    assert timedelta(seconds=10) <= delivery.next_attempt_at - before <= timedelta(seconds=13)


def test_retries_go_on_for_at_least_24_hours_then_the_delivery_fails():
    assert sum(deliveries.RETRY_DELAYS, timedelta()) >= timedelta(hours=24)
    assert deliveries.retry_delay(len(deliveries.RETRY_DELAYS) + 1) is None


def test_a_name_that_resolves_to_127_0_0_1_is_refused_when_private_networks_are_off(
    api, alice, settings, django_capture_on_commit_callbacks
):
    settings.WEBHOOKS_ALLOW_PRIVATE_NETWORKS = False
    with receiver_running() as receiver:
        url = receiver.url.replace("127.0.0.1", "localhost")
        endpoint_made(api, alice, url, ["call.started"])
        call_run_through_the_lifecycle(api, alice, django_capture_on_commit_callbacks, statuses=())
        (attempt,) = attempt_all_due()
    assert receiver.received == []
    assert not attempt.succeeded
    assert attempt.status_code is None
    assert "localhost resolves to" in attempt.error
    assert "loopback address" in attempt.error
    assert "WEBHOOKS_ALLOW_PRIVATE_NETWORKS" in attempt.error


@pytest.mark.parametrize(
    "url",
    ["http://10.1.2.3/x", "http://169.254.169.254/latest/meta-data", "http://[::1]/x", "http://0.0.0.0/"],
)
def test_private_link_local_and_unspecified_addresses_are_refused(settings, url):
    settings.WEBHOOKS_ALLOW_PRIVATE_NETWORKS = False
    with pytest.raises(Refused, match="address"):
        target_checked(url)


@pytest.mark.parametrize(
    "url", ["ftp://example.com/x", "file:///etc/passwd", "javascript:alert(1)", "example.com"]
)
def test_only_http_and_https_urls_are_accepted(api, alice, url):
    answer = api(alice).post("/v1/webhook-endpoints", {"url": url, "events": ["call.ended"]}, format="json")
    assert answer.status_code == 400
    assert answer.json()["error"]["field"] == "url"
    assert not WebhookEndpoint.objects.exists()


@pytest.mark.parametrize("events", [[], ["call.exploded"], "call.ended", None])
def test_events_must_be_a_non_empty_list_of_known_types(api, alice, events):
    answer = api(alice).post(
        "/v1/webhook-endpoints", {"url": "https://a.example/x", "events": events}, format="json"
    )
    assert answer.status_code == 400
    assert answer.json()["error"]["field"] == "events"


def test_the_secret_is_in_the_answer_to_post_only(api, alice):
    made = endpoint_made(api, alice, "https://hooks.example.com/x", ["call.ended"])
    assert made["secret"].startswith("whsec_")
    assert made["id"].startswith("whk_")
    read = api(alice).get(f"/v1/webhook-endpoints/{made['id']}").json()
    listed = api(alice).get("/v1/webhook-endpoints").json()["results"]
    assert "secret" not in read
    assert all("secret" not in e for e in listed)
    assert made["secret"] not in WebhookEndpoint.objects.get().secret_sealed  # sealed at rest


def test_replay_makes_a_new_attempt_of_the_same_event_id_and_is_audited(
    api, alice, settings, django_capture_on_commit_callbacks
):
    settings.WEBHOOKS_ALLOW_PRIVATE_NETWORKS = True
    with receiver_running() as receiver:
        made = endpoint_made(api, alice, receiver.url, ["call.started"])
        call_run_through_the_lifecycle(api, alice, django_capture_on_commit_callbacks, statuses=())
        attempt_all_due()
        delivery = WebhookDelivery.objects.get()
        answer = api(alice).post(f"/v1/webhook-endpoints/{made['id']}/deliveries/{delivery.public_id}/replay")
        assert answer.status_code == 202, answer.content
        (replayed,) = attempt_all_due()
    assert replayed.replay
    assert replayed.number == 2
    assert replayed.succeeded
    first, second = (json.loads(r.body)["id"] for r in receiver.received)
    assert first == second == delivery.event.public_id
    assert AuditEvent.objects.filter(
        action="webhook_delivery.replayed", object_id=delivery.public_id
    ).exists()
    listed = (
        api(alice).get(f"/v1/webhook-endpoints/{made['id']}/deliveries?status=succeeded").json()["results"]
    )
    assert [d["attempts"] for d in listed] == [2]
    assert [a["number"] for a in listed[0]["attempt_log"]] == [2, 1]


def test_an_attempt_in_flight_is_never_made_twice_at_once(api, alice, django_capture_on_commit_callbacks):
    endpoint_made(api, alice, "https://hooks.example.com/x", ["call.started"])
    call_run_through_the_lifecycle(api, alice, django_capture_on_commit_callbacks, statuses=())
    delivery = WebhookDelivery.objects.get()
    assert deliveries.delivery_claim(delivery.pk) is not None
    assert deliveries.delivery_claim(delivery.pk) is None  # held: a second worker makes no attempt
    assert deliveries.deliveries_due() == []  # nor does the sweep send it again
    later = timezone.now() + deliveries.LEASE + timedelta(seconds=1)
    assert deliveries.delivery_claim(delivery.pk, now=later) is not None  # the holder died: taken over


@pytest.mark.parametrize(
    ("user", "allowed"), [("ada", True), ("alice", True), ("bob", False), ("carol", False)]
)
def test_admins_and_operators_manage_webhooks_viewers_and_compliance_may_not(api, request, user, allowed):
    person = request.getfixturevalue(user)
    made = api(person).post(
        "/v1/webhook-endpoints", {"url": "https://a.example/x", "events": ["call.ended"]}, format="json"
    )
    listed = api(person).get("/v1/webhook-endpoints")
    assert (made.status_code, listed.status_code) == ((201, 200) if allowed else (403, 403))


def test_a_sealed_secret_opens_only_for_its_purpose_and_secret_key(settings):
    token = seal("webhooks.endpoint_secret", "whsec_abc")
    assert unseal("webhooks.endpoint_secret", token) == "whsec_abc"
    assert unseal("telephony.credential", token) is None
    settings.SECRET_KEY = "another-secret-key-entirely-" + "x" * 40
    assert unseal("webhooks.endpoint_secret", token) is None


def test_a_disabled_endpoint_gets_nothing_until_it_is_enabled_again(
    api, alice, settings, client, django_capture_on_commit_callbacks
):
    settings.WEBHOOKS_ALLOW_PRIVATE_NETWORKS = True
    with receiver_running() as receiver:
        made = endpoint_made(api, alice, receiver.url, ["call.started", "call.status_changed"])
        call_run_through_the_lifecycle(api, alice, django_capture_on_commit_callbacks, statuses=("ringing",))
        client.force_login(alice)
        client.post(f"/webhooks/{made['id']}/enabled", {"enabled": "no"})
        assert attempt_all_due() == []
        with django_capture_on_commit_callbacks(execute=False):
            client.post(f"/webhooks/{made['id']}/enabled", {"enabled": "yes"})
        assert len(attempt_all_due()) == 2
    assert len(receiver.accepted()) == 2
