"""A dispatch run starts its contacts together (campaigns/dispatch.py `_attempts_start`, through
calls.services.calls_create_many): each call still cleared on its own, refusals deferred or skipped, one
announcement and one placing task per run, the run's queries not growing with its contacts; and should an
insert break a constraint, every contact of the batch is started on its own, never called twice."""

from datetime import UTC, datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from calls.announce import calls_changed
from calls.models import Call
from campaigns.dispatch import campaign_dispatch
from campaigns.models import Campaign, CampaignStatus, Contact, ContactAttempt, ContactStatus, SkipReason
from campaigns.pacing import _client
from tests.factories import AgentFactory, DoNotCallFactory, PhoneNumberFactory

pytestmark = pytest.mark.django_db

NOON_WEDNESDAY = datetime(2026, 6, 17, 18, 30, tzinfo=UTC)  # 11:30 in California, 03:30 in Tokyo
CALLABLE = ["+14155550123", "+12125550131", "+13125550142"]
LISTED = "+14155550144"
ASLEEP = "+81312345678"  # Tokyo, at night


@pytest.fixture(autouse=True)
def fresh_pacing() -> None:
    for key in _client().scan_iter("campaigns:pacing:*"):
        _client().delete(key)


@pytest.fixture
def tasks_sent(monkeypatch) -> list[tuple[str, dict]]:
    sent: list[tuple[str, dict]] = []
    monkeypatch.setattr(
        "wordcab_admin.kernel.tasks.current_app.send_task",
        lambda name, **kwargs: sent.append((name, kwargs["kwargs"])),
    )
    return sent


def running_campaign(numbers: list[str], **settings) -> Campaign:
    agent = AgentFactory()
    PhoneNumberFactory(agent=agent)
    defaults = {"max_concurrent_calls": 100, "calls_per_minute": 6000, "max_attempts": 1}
    campaign = Campaign.objects.create(
        name="Reminders", agent=agent, status=CampaignStatus.RUNNING, **(defaults | settings)
    )
    Contact.objects.bulk_create(
        Contact(campaign=campaign, row=row, phone_number=number, raw_number=number, context={"row": row})
        for row, number in enumerate(numbers, start=2)
    )
    return campaign


def numbers(count: int) -> list[str]:
    return [f"+1415555{2000 + index:04d}" for index in range(count)]


def assert_started_once(contact: Contact, campaign) -> None:
    attempt = ContactAttempt.objects.get(contact=contact)
    assert (contact.status, contact.attempts, attempt.number) == (ContactStatus.CALLING, 1, 1)
    assert contact.last_call_id == attempt.call_id
    assert attempt.call.idempotency_key == f"campaign:{campaign.public_id}:contact:{contact.pk}:attempt:1"
    assert (attempt.call.to_number, attempt.call.context) == (contact.phone_number, contact.context)


def test_a_batch_with_a_do_not_call_number_and_one_outside_its_window_starts_the_callable_ones():
    DoNotCallFactory(number=LISTED)
    campaign = running_campaign([CALLABLE[0], LISTED, CALLABLE[1], ASLEEP, CALLABLE[2]])
    result = campaign_dispatch(campaign_id=campaign.pk, now=NOON_WEDNESDAY)
    assert (result.started, result.skipped, result.deferred) == (3, 1, 1)
    by_number = {contact.phone_number: contact for contact in Contact.objects.filter(campaign=campaign)}
    for number in CALLABLE[:3]:
        assert_started_once(by_number[number], campaign)
    listed, asleep = by_number[LISTED], by_number[ASLEEP]
    assert (listed.status, listed.skip_reason) == (ContactStatus.SKIPPED, SkipReason.DO_NOT_CALL)
    assert (asleep.status, asleep.attempts) == (ContactStatus.PENDING, 0)
    assert asleep.next_attempt_at > NOON_WEDNESDAY  # waits for 08:00 in Tokyo
    assert not ContactAttempt.objects.filter(contact__in=[listed, asleep]).exists()
    assert Call.objects.filter(campaign=campaign).count() == 3


def test_a_run_is_announced_once_and_its_calls_placed_by_one_task(
    tasks_sent, django_capture_on_commit_callbacks
):
    heard: list[dict] = []
    calls_changed.connect(lambda sender, **kw: heard.append(kw), weak=False, dispatch_uid="test.batches")
    try:
        campaign = running_campaign(numbers(12))
        with django_capture_on_commit_callbacks(execute=True):
            assert campaign_dispatch(campaign_id=campaign.pk, now=NOON_WEDNESDAY).started == 12
    finally:
        calls_changed.disconnect(dispatch_uid="test.batches")
    call_ids = sorted(Call.objects.filter(campaign=campaign).values_list("pk", flat=True))
    assert [(name, sorted(kwargs["call_ids"])) for name, kwargs in tasks_sent] == [
        ("calls.place_many", call_ids)
    ]
    assert len(heard) == 1
    assert len(heard[0]["calls"]) == 12
    assert heard[0]["campaign_ids"] == {campaign.pk}


def test_the_queries_of_a_run_do_not_grow_with_its_contacts():
    def queries_to_start(count: int) -> int:
        campaign = running_campaign(numbers(count))
        with CaptureQueriesContext(connection) as queries:
            assert campaign_dispatch(campaign_id=campaign.pk, now=NOON_WEDNESDAY).started == count
        return len(queries)

    few, many = queries_to_start(4), queries_to_start(40)
    assert many - few <= 2  # SQLite cuts a bulk insert into statements of at most 999 parameters


def test_tokens_a_refused_contact_leaves_go_to_the_next_due_ones_in_the_same_run():
    DoNotCallFactory(number=LISTED)
    campaign = running_campaign([LISTED, *numbers(5)], calls_per_minute=90)  # a bucket of 3 tokens
    result = campaign_dispatch(campaign_id=campaign.pk, now=NOON_WEDNESDAY)
    assert (result.started, result.skipped) == (3, 1)
    assert Contact.objects.filter(campaign=campaign, status=ContactStatus.PENDING).count() == 2


def test_an_attempt_that_exists_makes_the_batch_start_one_by_one_and_never_calls_it_twice(caplog):
    campaign = running_campaign(numbers(4))
    moved_back = Contact.objects.filter(campaign=campaign).order_by("pk")[1]
    # Its attempt 1 exists with no call left (the call was removed): the batch's insert of attempt 1 breaks
    # the unique (contact, number), the savepoint undoes the whole batch, and each is started on its own.
    ContactAttempt.objects.create(contact=moved_back, number=1)
    result = campaign_dispatch(campaign_id=campaign.pk, now=NOON_WEDNESDAY)
    assert "started one by one" in caplog.text
    for contact in Contact.objects.filter(campaign=campaign).exclude(pk=moved_back.pk):
        assert_started_once(contact, campaign)
    moved_back.refresh_from_db()
    assert not Call.objects.filter(idempotency_key__endswith=f":contact:{moved_back.pk}:attempt:1").exists()
    # Aligned with its attempt (no call: ready for the next one), then started with attempt 2 in the run.
    second = ContactAttempt.objects.get(contact=moved_back, number=2)
    assert (moved_back.status, moved_back.attempts, moved_back.last_call_id) == (
        ContactStatus.CALLING,
        2,
        second.call_id,
    )
    assert result.started == 4
    assert Call.objects.filter(campaign=campaign).count() == 4
