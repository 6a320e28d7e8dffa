"""BENCH campaign_dispatch: contacts dispatched per second (claimed, keyed and handed to the provider),
against raw Celery no-op tasks on the same broker and the same worker.

One Celery worker runs as `make run` starts it (`--pool threads --concurrency 8`), in a process of its own,
on the bench's database and REDIS_URL (`make bench` starts a throwaway Redis). Both sides are timed on it:
- reference: BENCH_DISPATCH_NOOPS (default 5,000) no-op tasks sent from this process as fast as it can,
  from the first send until the worker has taken the last one off the queue;
- ours: BENCH_DISPATCH_CONTACTS (default 5,000) contacts in BENCH_DISPATCH_CAMPAIGNS running campaigns
  (default 10, `max_concurrent_calls` 1000 and `calls_per_minute` 6000, the highest the model allows),
  from the first `campaigns.dispatch_tick` (sent every 2 s from here, as beat sends it) until every contact's
  call has been dialled by the simulator (its dial logged, `provider_call_id` set). The contacts of a
  dispatch run are claimed with their attempts and calls together, each call cleared by compliance, then
  placed by the run's one `calls.place_many` task, whose dials store the carrier's status events (their
  delivery tasks are sent per bucket of time, and only for events due soon: none here, see below).
contacts/s = contacts dialled / seconds; tasks/s = no-op tasks run / seconds. Target: ours at least half.

Why several campaigns: pacing allows one campaign at most 6000 calls a minute (100/s, plus a burst of two
seconds' worth), which is the campaign's setting, not the dispatcher's speed; ten campaigns are paced at
1,000/s together. BENCH_DISPATCH_CAMPAIGNS=1 measures one paced campaign.
The simulated carrier's status events, which a real carrier sends to the web process, are slowed
(SIMULATOR_SPEED 0.001) so that they fall after the measured window rather than load the worker measured.

The database is its own: a temporary SQLite DATA_DIR, migrated here, or DATABASE_URL when it is set (the
bench's rows are removed at the end). It then prints the milliseconds per contact of each step run in one
thread (the dispatch run; placing the call), and with BENCH_DISPATCH_PROFILE=1 their cProfile.

    make bench BENCH=campaign_dispatch
    BENCH_DISPATCH_CONTACTS=2000 BENCH_DISPATCH_CAMPAIGNS=4 make bench BENCH=campaign_dispatch"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "wordcab_admin.settings")

from wordcab_admin.celery import app  # noqa: E402 -- after the path; imports no model

CONTACTS = int(os.environ.get("BENCH_DISPATCH_CONTACTS", "5000"))  # at most 7,450: numbers 2000-9999
CAMPAIGNS = int(os.environ.get("BENCH_DISPATCH_CAMPAIGNS", "10"))
NOOPS = int(os.environ.get("BENCH_DISPATCH_NOOPS", "5000"))
PROFILE = os.environ.get("BENCH_DISPATCH_PROFILE", "") == "1"
TARGET = 0.5
TICK_SECONDS = 2.0  # wordcab_admin/schedules.py: campaigns.dispatch_tick
POLL_SECONDS = 0.2
TIMEOUT_SECONDS = 600.0
QUEUE = "celery"  # the default queue, where every task of ours goes
WORKER_ARGS = ["--pool", "threads", "--concurrency", "8"]  # wordcab_admin/run.py: the worker of `make run`
NOOP = "bench.noop"
IN_PROCESS = 500  # contacts of the per-step breakdown


@app.task(name=NOOP, ignore_result=True)
def noop() -> None:
    """The reference: a task that does nothing (the worker imports this module with `--include`)."""


# --- the worker ----------------------------------------------------------------------------------------------


def start_worker(env: dict[str, str]) -> subprocess.Popen:
    celery = [
        "-m",
        "celery",
        "-A",
        "wordcab_admin",
        "worker",
        *WORKER_ARGS,
        "--loglevel",
        "WARNING",
        "--hostname",
        f"bench-dispatch@{os.getpid()}",
        "--include",
        "tests.bench.bench_campaign_dispatch",
    ]
    return subprocess.Popen([sys.executable, *celery], cwd=ROOT, env=env, start_new_session=True)


def wait_worker(worker: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if worker.poll() is not None:
            raise RuntimeError(f"the worker exited with code {worker.returncode}")
        if app.control.ping(timeout=0.5):
            return
    raise RuntimeError(f"the worker did not answer within {timeout:.0f} s")


def stop_worker(worker: subprocess.Popen) -> None:
    """Warm shutdown (SIGINT), then SIGKILL its group if it hangs."""
    if worker.poll() is None:
        os.killpg(worker.pid, signal.SIGINT)
        try:
            worker.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait(timeout=10)


def queue_length() -> int:
    with app.connection_for_write() as connection:
        return connection.default_channel.client.llen(QUEUE)


# --- the reference -------------------------------------------------------------------------------------------


def reference_rate(count: int) -> float:
    """No-op tasks run per second: from the first send until the queue is empty (the worker holds at most
    its concurrency of them then, each done in microseconds)."""
    started = time.monotonic()
    with app.producer_or_acquire() as producer:
        for _ in range(count):
            app.send_task(NOOP, ignore_result=True, producer=producer)
    while queue_length():
        time.sleep(0.005)
    return count / (time.monotonic() - started)


# --- ours ----------------------------------------------------------------------------------------------------


def campaigns_make(agent, count: int, contacts: int, tag: str, first: int = 0) -> list[int]:
    """`count` draft campaigns sharing `contacts` contacts, whose callees' numbers differ in their last four
    digits only (from 2000 + `first` on: completed calls, by the simulator's table; one area code, inside its
    calling hours now). Not timed."""
    from campaigns.models import Campaign, Contact
    from tests.factories import number_inside_calling_hours

    prefix = number_inside_calling_hours("2000", minutes=60)[:-4]
    numbers = iter(range(2000 + first, 2000 + first + contacts))
    ids = []
    for index in range(count):
        campaign = Campaign.objects.create(
            name=f"bench dispatch {tag} {index}",
            agent=agent,
            max_concurrent_calls=1000,
            calls_per_minute=6000,
            max_attempts=1,
        )
        share = contacts // count + (index < contacts % count)
        rows = [(row, f"{prefix}{next(numbers):04d}") for row in range(2, share + 2)]
        Contact.objects.bulk_create(
            (
                Contact(campaign=campaign, row=row, phone_number=number, context={"row": row})
                for row, number in rows
            ),
            batch_size=2000,
        )
        ids.append(campaign.pk)
    return ids


def dispatch_rate(campaign_ids: list[int], contacts: int) -> tuple[float, dict]:
    """Contacts dialled per second: from the first tick until the last contact's dial was logged."""
    from django.db.models import Max
    from django.utils import timezone

    from calls.models import Call
    from campaigns.models import Campaign
    from campaigns.services import campaign_start
    from telephony.models import SimulatorDial

    for campaign in Campaign.objects.filter(pk__in=campaign_ids):
        campaign_start(actor=None, campaign=campaign)
    calls = Call.objects.filter(campaign_id__in=campaign_ids)
    started_at, started = timezone.now(), time.monotonic()
    next_tick = started
    while calls.filter(provider_call_id__isnull=False).count() < contacts:
        if time.monotonic() >= next_tick:
            app.send_task("campaigns.dispatch_tick", ignore_result=True)
            next_tick += TICK_SECONDS
        if time.monotonic() - started > TIMEOUT_SECONDS:
            raise RuntimeError(
                f"only {calls.filter(provider_call_id__isnull=False).count()}/{contacts} dialled"
            )
        time.sleep(POLL_SECONDS)
    dials = SimulatorDial.objects.filter(request_key__in=calls.values("public_id"))
    last = dials.aggregate(last=Max("created_at"))["last"]
    created = calls.aggregate(last=Max("created_at"))["last"]
    seconds = (last - started_at).total_seconds()
    facts = {
        "calls": calls.count(),
        "keys": calls.values("idempotency_key").distinct().count(),
        "dials": dials.count(),
        "seconds": seconds,
        "created_by": (created - started_at).total_seconds(),
    }
    return contacts / seconds, facts


def campaigns_remove(agent) -> None:
    from calls.models import Call, CallEvent
    from campaigns.models import Campaign
    from telephony.models import SimulatorDial, SimulatorEvent

    calls = Call.objects.filter(agent=agent)
    SimulatorEvent.objects.filter(call_public_id__in=calls.values("public_id")).delete()
    SimulatorDial.objects.filter(request_key__in=calls.values("public_id")).delete()
    CallEvent.objects.filter(call__agent=agent).delete()
    Campaign.objects.filter(agent=agent).delete()  # contacts and attempts with it
    calls.delete()
    agent.delete()


def per_contact_costs(agent, contacts: int, first: int) -> dict[str, float]:
    """Milliseconds per contact of each step, run here in one thread with the worker stopped: the dispatch
    runs (claim, attempts, clearance, calls, and after commit the `calls.place_many` send and the
    announcement), then placing the calls as `calls.place_many` does, a dispatch run's worth at a time
    (`calls.services.calls_place_many`: their row locks and the simulator's dials, which store the carrier's
    events). With BENCH_DISPATCH_PROFILE=1, under cProfile."""
    import cProfile
    import pstats

    from calls.models import Call
    from calls.services import calls_place_many
    from campaigns.dispatch import CLAIM_BATCH, campaign_dispatch
    from campaigns.models import Campaign
    from campaigns.pacing import _client, bucket_key
    from campaigns.services import campaign_start

    (campaign_id,) = campaigns_make(agent, 1, contacts, "in process", first=first)
    campaign = campaign_start(actor=None, campaign=Campaign.objects.get(pk=campaign_id))
    profiler = cProfile.Profile() if PROFILE else None
    started = time.perf_counter()
    if profiler:
        profiler.enable()
    dispatched = 0
    while dispatched < contacts:
        _client().delete(
            bucket_key(campaign.public_id)
        )  # a full bucket each run: pacing is not measured here
        dispatched += campaign_dispatch(campaign_id=campaign_id).started
    dispatch_seconds = time.perf_counter() - started
    call_ids = list(Call.objects.filter(campaign_id=campaign_id).order_by("pk").values_list("pk", flat=True))
    started = time.perf_counter()
    for first in range(0, len(call_ids), CLAIM_BATCH):
        calls_place_many(call_ids=call_ids[first : first + CLAIM_BATCH])
    place_seconds = time.perf_counter() - started
    if profiler:
        profiler.disable()
        print("# in-process profile of dispatching and placing, by own time then cumulative:")
        stats = pstats.Stats(profiler, stream=sys.stdout).strip_dirs()
        stats.sort_stats("tottime").print_stats(25)
        stats.sort_stats("cumulative").print_stats(60)
    return {"dispatch_ms": dispatch_seconds / contacts * 1000, "place_ms": place_seconds / contacts * 1000}


# --- main ----------------------------------------------------------------------------------------------------


def main() -> int:
    if (
        CONTACTS + 50 + IN_PROCESS > 8000
    ):  # the warm-up's and the breakdown's numbers follow the measured ones
        print("bench campaign_dispatch: BENCH_DISPATCH_CONTACTS may be at most 7,450", file=sys.stderr)
        return 2
    temp_dir = None
    if not os.environ.get("DATABASE_URL"):
        temp_dir = tempfile.mkdtemp(prefix="wc-bench-dispatch-")
        os.environ["DATA_DIR"] = temp_dir
    os.environ.update(
        DEBUG="false",  # no query log in the worker
        SECRET_KEY="bench-" + "k" * 50,
        ALLOWED_HOSTS="127.0.0.1",
        SECURE_SSL_REDIRECT="false",
        LOG_LEVEL="WARNING",
        SIMULATOR_SPEED="0.001",  # the carrier's first status event 100 to 300 s after the dial
        SIMULATOR_DISORDER="false",
        PYTHONPATH=str(ROOT),
    )
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from agents.models import Agent, PhoneNumber

    call_command("migrate", verbosity=0)
    agent = Agent.objects.create(name=f"bench dispatch {os.getpid()}")
    PhoneNumber.objects.create(agent=agent, number=f"+1415555{os.getpid() % 10000:04d}")
    warm_ids = campaigns_make(agent, 1, 50, "warm-up", first=CONTACTS)
    ids = campaigns_make(agent, CAMPAIGNS, CONTACTS, "measured")

    worker = start_worker(os.environ.copy())
    try:
        wait_worker(worker)
        app.control.purge()  # what an earlier, interrupted run left in the queue
        reference_rate(200)  # the worker's threads, connections and imports warmed up, not timed
        dispatch_rate(warm_ids, 50)
        reference = reference_rate(NOOPS)
        ours, facts = dispatch_rate(ids, CONTACTS)
        reference = (reference + reference_rate(NOOPS)) / 2
    finally:
        stop_worker(worker)
        app.control.purge()  # the carrier's countdown tasks, given back to the queue at the worker's shutdown
    costs = per_contact_costs(agent, IN_PROCESS, first=CONTACTS + 50)
    app.control.purge()  # the tasks the in-process run sent, with no worker to take them
    if facts["calls"] != CONTACTS or facts["keys"] != CONTACTS or facts["dials"] != CONTACTS:
        print(f"bench campaign_dispatch: wrong run {facts}", file=sys.stderr)
        return 1
    if temp_dir:
        shutil.rmtree(temp_dir, ignore_errors=True)
    else:
        campaigns_remove(agent)

    ratio = ours / reference
    print(
        f"# {CONTACTS} contacts in {CAMPAIGNS} campaign(s) dialled in {facts['seconds']:.1f} s (the last call "
        f"created after {facts['created_by']:.1f} s); {NOOPS} no-op tasks twice; one worker "
        f"({' '.join(WORKER_ARGS)}), {connection.vendor}"
    )
    print(
        f"# per contact, in one thread: dispatch run {costs['dispatch_ms']:.2f} ms (claim, attempts, "
        f"clearance, calls, sends), placing {costs['place_ms']:.2f} ms (locks, dials, events, sends); a no-op task "
        f"{1000 / reference:.2f} ms of the worker's wall time"
    )
    print(
        f"BENCH campaign_dispatch_contacts_per_s ours={ours:.0f} reference={reference:.0f} "
        f"ratio={ratio:.2f} target={TARGET} {'PASS' if ratio >= TARGET else 'MISS'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
