"""Dispatch end to end: a real Celery worker on the real Redis broker, the simulator as the carrier, and
`campaigns.dispatch_tick` sent every second as beat would send it (the test is the beat).

What a user relies on: a campaign runs to completion; it never has more live calls than its cap (sampled
every 50 ms from another database connection) nor starts calls faster than its pacing; retries follow each
attempt's outcome; and each (contact, attempt) has exactly one call, with its key, dialled once by the
carrier, however many dispatchers run (duplicated tasks, two beats, several threads on PostgreSQL).

These calls are cleared at the wall clock, like calls a worker in another process places: the retry delay
is counted from when a call ended by the wall clock, so the fixed clearance clock of the other tests would
make every retry wait until June. The callees are numbers inside their calling hours now
(`tests.factories.number_inside_calling_hours`), their last four digits choosing the simulator's outcome."""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass, field

import pytest
from django.db import connection

from calls.models import Call, CallStatus
from campaigns.dispatch import campaign_dispatch
from campaigns.models import (
    Campaign,
    CampaignStatus,
    Contact,
    ContactAttempt,
    ContactStatus,
    attempt_idempotency_key,
)
from campaigns.pacing import bucket_capacity
from telephony.models import SimulatorDial
from tests.factories import AgentFactory, PhoneNumberFactory, number_inside_calling_hours
from wordcab_admin.celery import app

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(240)]

TICK_SECONDS = 1.0  # beat sends the tick every 2 s; the test ticks faster to keep the run short
SAMPLE_SECONDS = 0.05
RUN_TIMEOUT = 150.0  # a loaded 2-core machine: the runs below take 10 to 25 s when it is idle

# The simulator's outcome by the callee's last four digits (docs/contract.md, "The simulator provider").
LAST_FOUR = {
    "completed": "2{:03d}",
    "no_answer": "015{}",
    "busy": "016{}",
    "failed": "017{}",
    "voicemail": "018{}",
}
# What each outcome leaves the contact as, with the campaign's default retried outcomes (no_answer, busy).
FINAL = {
    "completed": ContactStatus.COMPLETED,
    "voicemail": ContactStatus.COMPLETED,
    "failed": ContactStatus.FAILED,
    "no_answer": ContactStatus.NO_ANSWER,
    "busy": ContactStatus.NO_ANSWER,
}
RETRIED = {"no_answer", "busy"}


@pytest.fixture
def wall_clock(clearance_clock_at) -> None:
    clearance_clock_at(None)


@pytest.fixture
def quick_simulator(settings) -> None:
    settings.SIMULATOR_SPEED = 5  # an answered call rings and talks for about 1 to 2 s
    settings.SIMULATOR_DISORDER = False


def outcome_plan(**counts: int) -> list[str]:
    """The outcomes of a campaign's contacts in row order, interleaved so that every wave has answered
    calls (which last longest) and short ones: `outcome_plan(completed=30, busy=2)`."""
    queues = {outcome: [outcome] * count for outcome, count in counts.items()}
    plan: list[str] = []
    while any(queues.values()):
        for queue in queues.values():
            if queue:
                plan.append(queue.pop())
    return plan


def callee_for(outcome: str, index: int) -> str:
    pattern = LAST_FOUR[outcome]
    return number_inside_calling_hours(
        pattern.format(index if outcome == "completed" else index % 10), minutes=15
    )


def running_campaign(outcomes: list[str], **settings) -> Campaign:
    """A running campaign of the simulator agent, one contact per outcome (in row order); each contact's
    context says which outcome its number asks for."""
    agent = AgentFactory()
    PhoneNumberFactory(agent=agent, number="+14155559001")
    campaign = Campaign.objects.create(
        name="Worker run", agent=agent, status=CampaignStatus.RUNNING, **settings
    )
    seen: Counter[str] = Counter()
    contacts = []
    for row, outcome in enumerate(outcomes, start=2):
        number = callee_for(outcome, seen[outcome])
        seen[outcome] += 1
        contacts.append(
            Contact(
                campaign=campaign,
                row=row,
                phone_number=number,
                raw_number=number,
                context={"outcome": outcome},
            )
        )
    Contact.objects.bulk_create(contacts)
    assert len({c.phone_number for c in contacts}) == len(contacts), "two contacts share a number"
    return campaign


class LiveCallSampler(threading.Thread):
    """Counts the campaign's live calls every SAMPLE_SECONDS, in a thread with its own database connection."""

    def __init__(self, campaign: Campaign):
        super().__init__(name="live-call-sampler", daemon=True)
        self.campaign_id = campaign.pk
        self.samples: list[int] = []
        self.stopped = threading.Event()
        self.error: BaseException | None = None

    def run(self) -> None:
        live = Call.objects.filter(campaign_id=self.campaign_id, status__in=CallStatus.active())
        try:
            while not self.stopped.wait(SAMPLE_SECONDS):
                self.samples.append(live.count())
        except BaseException as exc:  # noqa: BLE001 -- reported by the test, not lost in a thread
            self.error = exc
        finally:
            connection.close()

    def __enter__(self) -> LiveCallSampler:
        self.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stopped.set()
        self.join(timeout=30)
        if self.error is not None:
            raise self.error


def contact_counts(campaign: Campaign) -> dict[str, int]:
    return dict(Counter(Contact.objects.filter(campaign=campaign).values_list("status", flat=True)))


def tick_until_completed(
    campaign: Campaign, *, beats: int = 1, duplicates: int = 0, timeout: float = RUN_TIMEOUT
) -> float:
    """As beat would: send `campaigns.dispatch_tick` every TICK_SECONDS (`beats` copies: several beat
    processes), plus `duplicates` extra `campaigns.dispatch` messages for the campaign (a duplicated or
    retried task), until the campaign is completed. Returns how long it ran."""
    started = deadline = time.monotonic()
    deadline += timeout
    status = Campaign.objects.filter(pk=campaign.pk).values_list("status", flat=True)
    while True:
        for _beat in range(beats):
            app.send_task("campaigns.dispatch_tick", ignore_result=True)
        for _copy in range(duplicates):
            app.send_task("campaigns.dispatch", kwargs={"campaign_id": campaign.pk}, ignore_result=True)
        next_tick = time.monotonic() + TICK_SECONDS
        while time.monotonic() < next_tick:
            if status.get() == CampaignStatus.COMPLETED:
                return time.monotonic() - started
            time.sleep(SAMPLE_SECONDS)
        if time.monotonic() > deadline:
            raise AssertionError(
                f"campaign {campaign.public_id} not completed within {timeout:.0f} s: {status.get()}, "
                f"contacts {contact_counts(campaign)}, live calls "
                f"{Call.objects.filter(campaign=campaign, status__in=CallStatus.active()).count()}"
            )


@dataclass
class AttemptAudit:
    """What a finished campaign's rows say about its attempts; each list holds what is wrong."""

    calls: int = 0
    attempts: int = 0
    problems: list[str] = field(default_factory=list)


def attempts_audit(campaign: Campaign) -> AttemptAudit:
    """Exactly one call per (contact, attempt): every attempt 1..n of each contact exists with its call,
    whose idempotency key is the attempt's; no call of the campaign is outside an attempt; the simulator
    dialled each call once (one row in its dial log, whose sid is the call's provider id) and each callee
    as many times as the contact has attempts."""
    audit = AttemptAudit()
    contacts = {contact.pk: contact for contact in Contact.objects.filter(campaign=campaign)}
    calls = {call.pk: call for call in Call.objects.filter(campaign=campaign)}
    audit.calls = len(calls)
    attempts: dict[int, list[ContactAttempt]] = {}
    for attempt in ContactAttempt.objects.filter(contact__campaign=campaign).order_by("contact_id", "number"):
        attempts.setdefault(attempt.contact_id, []).append(attempt)
    called = set()
    for contact in contacts.values():
        made = attempts.get(contact.pk, [])
        audit.attempts += len(made)
        if [a.number for a in made] != list(range(1, contact.attempts + 1)):
            audit.problems.append(
                f"row {contact.row}: attempts {[a.number for a in made]}, contact says {contact.attempts}"
            )
        for attempt in made:
            call = calls.get(attempt.call_id)
            key = attempt_idempotency_key(
                campaign_public_id=campaign.public_id, contact_id=contact.pk, number=attempt.number
            )
            if call is None:
                audit.problems.append(f"row {contact.row} attempt {attempt.number}: no call")
                continue
            called.add(call.pk)
            if call.idempotency_key != key or call.to_number != contact.phone_number:
                audit.problems.append(
                    f"row {contact.row} attempt {attempt.number}: call {call.idempotency_key} to {call.to_number}"
                )
    audit.problems += [
        f"call {calls[pk].idempotency_key} belongs to no attempt" for pk in set(calls) - called
    ]
    keys = Counter(call.idempotency_key for call in calls.values())
    audit.problems += [f"{count} calls with key {key}" for key, count in keys.items() if count > 1]
    dials = list(SimulatorDial.objects.filter(request_key__in=[call.public_id for call in calls.values()]))
    sids = {dial.request_key: dial.call_sid for dial in dials}
    for call in calls.values():
        if sids.get(call.public_id) != call.provider_call_id:
            audit.problems.append(
                f"call {call.public_id}: dialled as {sids.get(call.public_id)}, provider id {call.provider_call_id}"
            )
    numbers = [contact.phone_number for contact in contacts.values()]
    dialled = Counter(SimulatorDial.objects.filter(to_number__in=numbers).values_list("to_number", flat=True))
    for contact in contacts.values():
        if dialled[contact.phone_number] != contact.attempts:
            audit.problems.append(
                f"row {contact.row}: {dialled[contact.phone_number]} dials for {contact.attempts} attempts"
            )
    return audit


def final_status_problems(campaign: Campaign, *, max_attempts: int) -> list[str]:
    """Each contact ended as its number's outcome says: retried outcomes after `max_attempts` attempts
    (each attempt's outcome the same), the others after one."""
    problems = []
    for contact in Contact.objects.filter(campaign=campaign):
        outcome = contact.context["outcome"]
        attempts = max_attempts if outcome in RETRIED else 1
        outcomes = list(contact.attempt_set.order_by("number").values_list("outcome", flat=True))
        if (contact.status, contact.attempts, outcomes) != (FINAL[outcome], attempts, [outcome] * attempts):
            problems.append(
                f"row {contact.row} ({outcome}): {contact.status} after {contact.attempts} attempts {outcomes}, "
                f"want {FINAL[outcome]} after {attempts}"
            )
    return problems


def test_a_campaign_run_by_a_real_worker_completes_within_its_cap_retrying_by_outcome_each_attempt_called_once(
    celery_worker_thread, wall_clock, quick_simulator
):
    cap, max_attempts = 5, 3
    outcomes = outcome_plan(completed=29, no_answer=3, busy=2, failed=3, voicemail=3)
    campaign = running_campaign(
        outcomes,
        max_concurrent_calls=cap,
        calls_per_minute=6000,
        max_attempts=max_attempts,
        retry_delay_seconds=1,
    )
    with LiveCallSampler(campaign) as sampler:
        tick_until_completed(campaign)
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.COMPLETED
    assert campaign.finished_at is not None
    assert max(sampler.samples) == cap, f"live calls sampled: max {max(sampler.samples)}, cap {cap}"
    assert not final_status_problems(campaign, max_attempts=max_attempts)
    audit = attempts_audit(campaign)
    assert not audit.problems
    retried = sum(outcome in RETRIED for outcome in outcomes)
    assert audit.calls == audit.attempts == len(outcomes) + retried * (max_attempts - 1)


def test_pacing_keeps_a_campaign_to_its_calls_per_minute_with_a_burst_of_one_tick(
    celery_worker_thread, wall_clock, quick_simulator
):
    calls_per_minute = 120  # 2 a second, a bucket of 4 (pacing.BURST_SECONDS worth)
    campaign = running_campaign(
        outcome_plan(completed=26),
        max_concurrent_calls=100,
        calls_per_minute=calls_per_minute,
        max_attempts=1,
    )
    tick_until_completed(campaign)
    started = sorted(Call.objects.filter(campaign=campaign).values_list("created_at", flat=True))
    assert len(started) == 26
    rate, capacity = calls_per_minute / 60, bucket_capacity(calls_per_minute)
    # A call's row is stamped after its token was taken, by at most one dispatch run's work (a few calls
    # created one after another): a window of rows may hold calls whose tokens were taken that much earlier.
    token_to_row = 1.0
    worst = max(
        (j - i + 1) - (capacity + rate * ((started[j] - started[i]).total_seconds() + token_to_row))
        for i in range(len(started))
        for j in range(i, len(started))
    )
    offsets = [round((moment - started[0]).total_seconds(), 2) for moment in started]
    assert worst <= 0, f"{worst:.1f} calls more than the bucket allows in some window; started at {offsets} s"


def test_duplicated_dispatch_tasks_and_two_beats_never_call_an_attempt_twice_nor_exceed_the_cap(
    celery_worker_thread, wall_clock, quick_simulator
):
    cap, max_attempts = 4, 2
    outcomes = outcome_plan(completed=14, no_answer=3, busy=1, failed=1, voicemail=1)
    campaign = running_campaign(
        outcomes,
        max_concurrent_calls=cap,
        calls_per_minute=6000,
        max_attempts=max_attempts,
        retry_delay_seconds=1,
    )
    with LiveCallSampler(campaign) as sampler:
        tick_until_completed(campaign, beats=2, duplicates=4)
    assert max(sampler.samples) <= cap, f"live calls sampled: max {max(sampler.samples)}, cap {cap}"
    assert not final_status_problems(campaign, max_attempts=max_attempts)
    audit = attempts_audit(campaign)
    assert not audit.problems
    assert audit.calls == len(outcomes) + 4 * (max_attempts - 1)


def test_dispatchers_in_several_threads_at_once_never_call_an_attempt_twice_nor_exceed_the_cap(
    on_postgres, celery_worker_thread, wall_clock, quick_simulator
):
    cap, max_attempts, threads = 4, 2, 4
    outcomes = outcome_plan(completed=14, no_answer=3, busy=1, failed=1, voicemail=1)
    campaign = running_campaign(
        outcomes,
        max_concurrent_calls=cap,
        calls_per_minute=6000,
        max_attempts=max_attempts,
        retry_delay_seconds=1,
    )
    done = threading.Event()
    start_together = threading.Barrier(threads)
    errors: list[BaseException] = []
    started: Counter[str] = Counter()

    def dispatcher(name: str) -> None:
        """Dispatch the campaign again and again, all threads together each round, until it completes."""
        try:
            while not done.is_set():
                start_together.wait(timeout=30)
                started[name] += campaign_dispatch(campaign_id=campaign.pk).started
                time.sleep(SAMPLE_SECONDS)  # a round every 50 ms: far more often than any beat
        except threading.BrokenBarrierError:
            pass  # another thread has stopped: so does this one
        except BaseException as exc:  # noqa: BLE001 -- reported by the test
            errors.append(exc)
            start_together.abort()
        finally:
            connection.close()

    workers = [
        threading.Thread(target=dispatcher, args=(f"dispatcher-{n}",), daemon=True) for n in range(threads)
    ]
    with LiveCallSampler(campaign) as sampler:
        for worker in workers:
            worker.start()
        try:
            tick_until_completed(campaign)  # the tick settles and finishes; the threads dispatch too
        finally:
            done.set()
            start_together.abort()
            for worker in workers:
                worker.join(timeout=30)
    assert not errors, errors
    assert max(sampler.samples) <= cap, f"live calls sampled: max {max(sampler.samples)}, cap {cap}"
    assert sum(count > 0 for count in started.values()) >= 2, f"calls started per thread: {dict(started)}"
    assert not final_status_problems(campaign, max_attempts=max_attempts)
    audit = attempts_audit(campaign)
    assert not audit.problems
    assert audit.calls == len(outcomes) + 4 * (max_attempts - 1)
