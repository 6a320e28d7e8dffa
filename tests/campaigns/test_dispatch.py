"""Dispatch in process (campaigns/dispatch.py): claims, keys, the concurrency cap, pacing, windows, the
do-not-call list, settling each attempt by its outcome, retries, pause and cancel, finishing.

Calls end here through the lifecycle's one entry point, as a provider's events would end them; the real
Celery worker, the simulator and a killed worker are in test_dispatch_worker.py and tests/faults."""

from datetime import UTC, datetime, time, timedelta

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from calls.lifecycle import EventIn, call_events_apply
from calls.models import Call, CallStatus, EndReason
from campaigns.dispatch import campaign_dispatch, contacts_settle
from campaigns.forecast import campaign_forecast
from campaigns.models import Campaign, CampaignStatus, Contact, ContactAttempt, ContactStatus, SkipReason
from campaigns.pacing import _client, bucket_key
from campaigns.services import campaign_cancel, campaign_pause, campaign_resume
from compliance.models import DoNotCall
from tests.factories import AgentFactory, CallFactory, PhoneNumberFactory

NOON_WEDNESDAY = datetime(2026, 6, 17, 18, 30, tzinfo=UTC)  # inside every US calling window
pytestmark = pytest.mark.django_db

CALLABLE = ["+14155550123", "+12125550131", "+13125550142", "+16175550195", "+12065550137", "+14155550142"]


@pytest.fixture(autouse=True)
def fresh_pacing() -> None:
    for key in _client().scan_iter("campaigns:pacing:*"):
        _client().delete(key)


def running_campaign(numbers: list[str], **settings) -> Campaign:
    agent = AgentFactory()
    PhoneNumberFactory(agent=agent, number="+14155550100")
    defaults = {"max_concurrent_calls": 10, "calls_per_minute": 6000, "max_attempts": 1}
    campaign = Campaign.objects.create(
        name="Reminders", agent=agent, status=CampaignStatus.RUNNING, **(defaults | settings)
    )
    Contact.objects.bulk_create(
        Contact(
            campaign=campaign, row=row, phone_number=number, raw_number=number, context={"name": f"n{row}"}
        )
        for row, number in enumerate(numbers, start=2)
    )
    return campaign


def end_call(call: Call, status: str, end_reason: str = "") -> None:
    result = call_events_apply(
        [EventIn(status=status, call_id=call.pk, source="simulator", end_reason=end_reason)]
    )
    assert not isinstance(result[0], Exception), result[0]
    contacts_settle(campaign_ids=[call.campaign_id])


def test_dispatch_starts_each_due_contact_once_with_its_attempt_key_and_context():
    campaign = running_campaign(CALLABLE[:3])
    result = campaign_dispatch(campaign_id=campaign.pk, now=NOON_WEDNESDAY)
    assert result.started == 3
    for contact in Contact.objects.filter(campaign=campaign):
        attempt = ContactAttempt.objects.get(contact=contact)
        assert contact.status == ContactStatus.CALLING
        assert contact.attempts == 1
        assert attempt.number == 1
        assert attempt.call == contact.last_call
        assert attempt.call.idempotency_key == f"campaign:{campaign.public_id}:contact:{contact.pk}:attempt:1"
        assert attempt.call.campaign == campaign
        assert attempt.call.to_number == contact.phone_number
        assert attempt.call.context == contact.context
        assert attempt.call.place_due_at is not None  # in the outbox: placed even if every task is lost
    assert campaign_dispatch(campaign_id=campaign.pk, now=NOON_WEDNESDAY).started == 0
    assert Call.objects.count() == 3


def test_the_concurrency_cap_counts_the_campaigns_live_calls():
    campaign = running_campaign(CALLABLE, max_concurrent_calls=2)
    assert campaign_dispatch(campaign_id=campaign.pk, now=NOON_WEDNESDAY).started == 2
    assert campaign_dispatch(campaign_id=campaign.pk, now=NOON_WEDNESDAY).started == 0
    end_call(Call.objects.filter(campaign=campaign).first(), CallStatus.COMPLETED)
    assert campaign_dispatch(campaign_id=campaign.pk, now=NOON_WEDNESDAY).started == 1
    assert Call.objects.filter(campaign=campaign, status__in=CallStatus.active()).count() == 2


def test_pacing_grants_a_burst_of_one_tick_then_calls_per_minute():
    campaign = running_campaign(CALLABLE, calls_per_minute=60)  # a bucket of 2, refilled at 1 a second
    assert campaign_dispatch(campaign_id=campaign.pk, now=NOON_WEDNESDAY).started == 2
    assert campaign_dispatch(campaign_id=campaign.pk, now=NOON_WEDNESDAY).started == 0
    tokens = float(_client().hget(bucket_key(campaign.public_id), "tokens"))
    assert tokens < 1


def test_a_second_dispatch_of_one_attempt_never_places_a_second_call():
    campaign = running_campaign(CALLABLE[:1])
    campaign_dispatch(campaign_id=campaign.pk, now=NOON_WEDNESDAY)
    # Someone puts the contact back to pending as if its claim had never happened: attempt 1 exists.
    Contact.objects.filter(campaign=campaign).update(status=ContactStatus.PENDING, attempts=0)
    result = campaign_dispatch(campaign_id=campaign.pk, now=NOON_WEDNESDAY)
    assert Call.objects.filter(campaign=campaign).count() == 1
    assert not result.more  # examined once, not again and again
    contact = Contact.objects.get(campaign=campaign)
    assert contact.status == ContactStatus.CALLING  # back with its attempt's call, which settling finishes
    assert contact.last_call == Call.objects.get(campaign=campaign)


def test_paused_and_cancelled_campaigns_start_nothing(alice):
    campaign = running_campaign(CALLABLE[:2])
    campaign_pause(actor=alice, campaign=campaign)
    assert campaign_dispatch(campaign_id=campaign.pk, now=NOON_WEDNESDAY).started == 0
    campaign_resume(actor=alice, campaign=campaign)
    assert campaign_dispatch(campaign_id=campaign.pk, now=NOON_WEDNESDAY).started == 2


def test_cancel_skips_pending_contacts_and_lets_live_calls_end_without_retry(alice):
    campaign = running_campaign(CALLABLE[:3], max_concurrent_calls=1, max_attempts=3)
    campaign_dispatch(campaign_id=campaign.pk, now=NOON_WEDNESDAY)
    campaign_cancel(actor=alice, campaign=campaign)
    skipped = Contact.objects.filter(campaign=campaign, status=ContactStatus.SKIPPED)
    assert skipped.count() == 2
    assert {c.skip_reason for c in skipped} == {SkipReason.CANCELLED}
    end_call(Call.objects.get(campaign=campaign), CallStatus.NO_ANSWER)
    assert Contact.objects.get(campaign=campaign, attempts=1).status == ContactStatus.NO_ANSWER


def test_a_contact_outside_its_calling_window_waits_for_it_to_open():
    campaign = running_campaign(["+14155550123"])
    night_in_california = datetime(2026, 6, 17, 8, 0, tzinfo=UTC)  # 01:00 in San Francisco
    result = campaign_dispatch(campaign_id=campaign.pk, now=night_in_california)
    contact = Contact.objects.get(campaign=campaign)
    assert result.started == 0
    assert result.deferred == 1
    assert contact.status == ContactStatus.PENDING
    assert contact.next_attempt_at > night_in_california
    assert contact.next_attempt_at.astimezone(UTC).hour == 15  # 08:00 PDT, the federal window's start
    assert not Call.objects.exists()
    assert campaign_dispatch(campaign_id=campaign.pk, now=contact.next_attempt_at).started == 1


def test_a_contact_whose_window_opens_after_the_campaign_ends_is_skipped():
    night = datetime(2026, 6, 17, 8, 0, tzinfo=UTC)
    campaign = running_campaign(["+14155550123"], end_at=night + timedelta(hours=2))
    campaign_dispatch(campaign_id=campaign.pk, now=night)
    contact = Contact.objects.get(campaign=campaign)
    assert contact.status == ContactStatus.SKIPPED
    assert contact.skip_reason == SkipReason.OUTSIDE_WINDOW_EXPIRED


def test_the_campaign_window_narrows_across_a_daylight_saving_change():
    # New York springs forward on Sunday 2026-03-08: 09:00 local is 14:00 UTC before, 13:00 UTC after.
    campaign = running_campaign(["+12125550131"], window_start=time(9), window_end=time(10))
    saturday_evening = datetime(2026, 3, 7, 23, 0, tzinfo=UTC)  # 18:00 EST
    campaign_dispatch(campaign_id=campaign.pk, now=saturday_evening)
    contact = Contact.objects.get(campaign=campaign)
    assert contact.next_attempt_at == datetime(2026, 3, 8, 13, 0, tzinfo=UTC)  # 09:00 EDT
    assert campaign_dispatch(campaign_id=campaign.pk, now=contact.next_attempt_at).started == 1


def test_a_number_put_on_the_do_not_call_list_after_import_is_skipped():
    campaign = running_campaign(["+14155550123"])
    DoNotCall.objects.create(number="+14155550123", reason="asked us to stop")
    campaign_dispatch(campaign_id=campaign.pk, now=NOON_WEDNESDAY)
    contact = Contact.objects.get(campaign=campaign)
    assert contact.status == ContactStatus.SKIPPED
    assert contact.skip_reason == SkipReason.DO_NOT_CALL
    assert not Call.objects.exists()


@pytest.mark.parametrize(
    ("status", "end_reason", "retried"),
    [
        (CallStatus.NO_ANSWER, "", True),
        (CallStatus.NO_ANSWER, EndReason.BUSY, True),
        (CallStatus.FAILED, EndReason.ERROR, False),
        (CallStatus.COMPLETED, EndReason.VOICEMAIL, False),
        (CallStatus.COMPLETED, EndReason.HANGUP, False),
    ],
)
def test_retries_follow_the_outcome_after_the_delay(status, end_reason, retried):
    campaign = running_campaign(CALLABLE[:1], max_attempts=2, retry_delay_seconds=600)
    campaign_dispatch(campaign_id=campaign.pk, now=NOON_WEDNESDAY)
    end_call(Call.objects.get(campaign=campaign), status, end_reason)
    contact = Contact.objects.get(campaign=campaign)
    attempt = ContactAttempt.objects.get(contact=contact)
    assert attempt.outcome
    assert attempt.ended_at
    if retried:
        assert contact.status == ContactStatus.PENDING
        assert contact.next_attempt_at == attempt.call.ended_at + timedelta(seconds=600)
        later = contact.next_attempt_at
        assert campaign_dispatch(campaign_id=campaign.pk, now=later - timedelta(seconds=1)).started == 0
        assert campaign_dispatch(campaign_id=campaign.pk, now=later).started == 1
        second = ContactAttempt.objects.get(contact=contact, number=2)
        assert second.call.idempotency_key.endswith(":attempt:2")
    else:
        assert contact.status in {ContactStatus.FAILED, ContactStatus.COMPLETED}


def test_attempts_run_out_and_the_campaign_completes():
    campaign = running_campaign(CALLABLE[:1], max_attempts=2, retry_delay_seconds=0)
    for _attempt in range(2):
        campaign_dispatch(campaign_id=campaign.pk, now=timezone.now())
        end_call(Call.objects.get(campaign=campaign, status__in=CallStatus.active()), CallStatus.NO_ANSWER)
    contact = Contact.objects.get(campaign=campaign)
    assert contact.status == ContactStatus.NO_ANSWER
    assert contact.attempts == 2
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.COMPLETED
    assert campaign.finished_at


def test_a_settlement_lost_with_its_signal_is_made_by_the_next_tick():
    campaign = running_campaign(CALLABLE[:1])
    campaign_dispatch(campaign_id=campaign.pk, now=NOON_WEDNESDAY)
    call = Call.objects.get(campaign=campaign)
    Call.objects.filter(pk=call.pk).update(status=CallStatus.COMPLETED, ended_at=timezone.now())  # no signal
    assert contacts_settle(campaign_ids=None) == 1
    assert Contact.objects.get(campaign=campaign).status == ContactStatus.COMPLETED


def test_a_disabled_agent_pauses_the_campaign_and_says_why():
    campaign = running_campaign(CALLABLE[:2])
    campaign.agent.is_active = False
    campaign.agent.save()
    assert campaign_dispatch(campaign_id=campaign.pk, now=NOON_WEDNESDAY).started == 0
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.PAUSED
    assert "disabled" in campaign.status_reason
    assert Contact.objects.filter(campaign=campaign, status=ContactStatus.PENDING).count() == 2


def test_the_forecast_sorts_contacts_by_when_their_window_lets_them_be_called():
    # 18:30 UTC on Wednesday: 11:30 in California, 19:30 in London (inside), 03:30 in Tokyo (later today).
    campaign = running_campaign(["+14155550123", "+14155550142", "+442079460958", "+81312345678"])
    Contact.objects.create(
        campaign=campaign, row=99, status=ContactStatus.SKIPPED, skip_reason="invalid_number"
    )
    forecast = campaign_forecast(campaign, now=NOON_WEDNESDAY)
    assert forecast["now"] + forecast["later_today"] + forecast["other_days"] + forecast["never"] == 4
    assert forecast["now"] >= 2
    assert forecast["blocked"] == {"invalid_number": 1}
    assert forecast["total"] == 5
    night = datetime(2026, 6, 17, 8, 0, tzinfo=UTC)
    assert campaign_forecast(campaign, now=night)["now"] < forecast["now"]


def test_an_owner_less_idempotency_key_is_unique_in_the_database():
    """PostgreSQL holds NULL owners distinct in (owner, key): a second owner-less call with one attempt's
    key must still be refused by the database, not only by the lookup before the insert."""
    CallFactory(idempotency_key="campaign:camp_x:contact:1:attempt:1", owner=None)
    with pytest.raises(IntegrityError), transaction.atomic():
        CallFactory(idempotency_key="campaign:camp_x:contact:1:attempt:1", owner=None)


def test_each_contact_is_called_from_the_agents_number_most_like_theirs():
    campaign = running_campaign(["+12125550131", "+14155550123"])
    PhoneNumberFactory(agent=campaign.agent, number="+12125550100")
    campaign_dispatch(campaign_id=campaign.pk, now=NOON_WEDNESDAY)
    by_callee = dict(Call.objects.filter(campaign=campaign).values_list("to_number", "from_number"))
    assert by_callee == {"+12125550131": "+12125550100", "+14155550123": "+14155550100"}


def test_a_campaigns_chosen_caller_id_is_used_for_every_contact():
    campaign = running_campaign(["+12125550131"], from_number="+14155550100")
    PhoneNumberFactory(agent=campaign.agent, number="+12125550100")
    campaign_dispatch(campaign_id=campaign.pk, now=NOON_WEDNESDAY)
    assert Call.objects.get(campaign=campaign).from_number == "+14155550100"
