"""BENCH wallboard: the calls list's search and the wallboard's metrics on a busy floor's history.

BENCH_WALLBOARD_N calls (default 300,000) over 30 days, a sixth of them today, each with a context of a few
fields (a customer's name, an order number, a note), every outcome represented. Measured, the median of 7 runs
each (ms), with the reference in the same run:

- `search_number`, `search_text`, `search_miss`: one page of the calls list's search (calls/selectors.py: the
  newest SEARCH_WINDOW calls read through the primary key, newest first, stopping at a full page) for a number
  typed "(415) 555-0142", a customer's name, and text that matches nothing (the worst case: the whole window
  read). Reference: the same search over every call, unbounded. Target: under 100 ms.
- `metrics_today`: the wallboard's metrics for today (live/metrics.py `metrics_compute`: one grouped query over
  today's slice of the creation-time index, the calls waiting, the names). Reference: the same figures
  counted in Python from today's rows. Target: under 250 ms (and the live refresh of every screen shares it,
  from a cache of 2 s).

The database is a temporary SQLite DATA_DIR, migrated here, or DATABASE_URL when it is set (the bench's rows
are removed at the end).

    make bench BENCH=wallboard
    BENCH_WALLBOARD_N=100000 DATABASE_URL=postgres://postgres@127.0.0.1:5432/wc_bench make bench BENCH=wallboard"""

from __future__ import annotations

import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "wordcab_admin.settings")

N = int(os.environ.get("BENCH_WALLBOARD_N", "300000"))
RUNS = 7
SEARCH_TARGET_MS = 100.0
METRICS_TARGET_MS = 250.0
NAMES = ["Jane Doe", "John Smith", "Maria Garcia", "Wei Chen", "Amara Okafor", "Lukas Meyer", "Sofia Rossi"]


def timed(work) -> float:
    samples = []
    for _ in range(RUNS):
        started = time.perf_counter()
        work()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def report(name: str, ours: float, reference: float, target: float) -> None:
    verdict = "PASS" if ours <= target else "MISS"
    # The unit is in the name, values are plain numbers: a script reads them (tests/bench/README.md).
    print(
        f"BENCH {name}_ms ours={ours:.1f} reference={reference:.1f} ratio={reference / ours:.1f} "
        f"target={target:.0f} {verdict}",
        flush=True,
    )


def populate() -> None:
    from django.db import connection
    from django.db.models import F
    from django.utils import timezone

    from agents.models import Agent
    from calls.models import Call, CallStatus, Direction, EndReason
    from campaigns.models import Campaign, CampaignStatus

    rng = random.Random(18)
    agents = [Agent.objects.create(name=f"Bench agent {i}", public_id=f"agent_bench_{i}") for i in range(10)]
    campaigns = [
        Campaign.objects.create(name=f"Bench campaign {i}", agent=agents[i], status=CampaignStatus.RUNNING)
        for i in range(5)
    ]
    outcomes = [
        (CallStatus.COMPLETED, EndReason.HANGUP, True),
        (CallStatus.COMPLETED, EndReason.VOICEMAIL, True),
        (CallStatus.NO_ANSWER, EndReason.NO_ANSWER, False),
        (CallStatus.NO_ANSWER, EndReason.BUSY, False),
        (CallStatus.FAILED, EndReason.ERROR, False),
        (CallStatus.FAILED, EndReason.CANCELED, False),
    ]
    now = timezone.now()
    batch = []
    for i in range(N):
        age = (
            timedelta(seconds=rng.randint(0, 6 * 3600)) if i % 6 == 0 else timedelta(days=rng.uniform(0, 30))
        )
        created = now - age
        status, reason, answered = rng.choice(outcomes)
        agent = rng.choice(agents)
        batch.append(
            Call(
                public_id=f"call_bench{i:09d}",
                agent=agent,
                campaign=rng.choice(campaigns) if i % 2 else None,
                direction=Direction.INBOUND if i % 10 == 0 else Direction.OUTBOUND,
                to_number=f"+1{rng.choice([212, 305, 415, 512, 617])}{rng.randint(2000000, 9999999)}",
                from_number="+14155550100",
                status=status,
                end_reason=reason,
                context={"customer_name": rng.choice(NAMES), "order": f"A-{i:07d}", "note": "renewal due"},
                answered_at=created + timedelta(seconds=8) if answered else None,
                ended_at=created + timedelta(seconds=rng.randint(10, 400)),
                last_event_at=created,  # created_at is auto_now_add: set from this below
            )
        )
        if len(batch) == 5000:
            Call.objects.bulk_create(batch, batch_size=500)
            batch = []
    if batch:
        Call.objects.bulk_create(batch, batch_size=500)
    # created_at is auto_now_add: spread over the month as the calls were made
    Call.objects.filter(public_id__startswith="call_bench").update(created_at=F("last_event_at"))
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")


def run(temp_dir: Path) -> int:
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    populate()
    print(f"(made {N} calls in {time.perf_counter() - started:.0f} s)", flush=True)

    from calls.selectors import call_search_parse, calls_matching, calls_search_slice
    from calls.services import calls_for_display
    from live.metrics import metrics_compute, period_from_query

    def page(typed: str):
        search = call_search_parse(typed)
        return lambda: list(
            calls_search_slice(calls_for_display(), search, below=None).calls.order_by("-id")[:51]
        )

    def unbounded(typed: str):
        search = call_search_parse(typed)
        return lambda: list(calls_matching(calls_for_display(), search).order_by("-id")[:51])

    for name, typed in [
        ("search_number", "(415) 555-0142"),
        ("search_text", "Maria Garcia"),
        ("search_miss", "nobody by this name"),
    ]:
        report(f"wallboard_{name}", timed(page(typed)), timed(unbounded(typed)), SEARCH_TARGET_MS)

    today, _ = period_from_query({})
    report(
        "wallboard_metrics_today",
        timed(lambda: metrics_compute(today)),
        timed(lambda: _naive(today)),
        METRICS_TARGET_MS,
    )
    _cleanup()
    return 0


def _naive(period) -> dict:
    """The reference: today's calls fetched and counted in Python."""
    from calls.models import Call

    figures: dict = {}
    rows = Call.objects.filter(created_at__gte=period.start, created_at__lt=period.end).values_list(
        "agent_id", "campaign_id", "end_reason", "answered_at", "ended_at"
    )
    for agent_id, campaign_id, reason, answered, ended in rows.iterator(chunk_size=5000):
        for key in (("agent", agent_id), ("campaign", campaign_id)):
            row = figures.setdefault(key, {"calls": 0, "connected": 0, "talk": 0.0})
            row["calls"] += 1
            if answered and ended and reason != "voicemail":
                row["connected"] += 1
                row["talk"] += (ended - answered).total_seconds()
    return figures


def _cleanup() -> None:
    from django.db import connection

    from agents.models import Agent
    from calls.models import Call
    from campaigns.models import Campaign

    # no events nor contacts refer to them: one statement, not 300,000 ids
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {Call._meta.db_table} WHERE public_id LIKE %s", ["call_bench%"])  # noqa: S608 -- our table's name
    Campaign.objects.filter(name__startswith="Bench campaign").delete()
    Agent.objects.filter(public_id__startswith="agent_bench_").delete()


def main() -> int:
    temp_dir = Path(tempfile.mkdtemp(prefix="wc-bench-wallboard-"))
    if not os.environ.get("DATABASE_URL"):
        os.environ["DATA_DIR"] = str(temp_dir)
    os.environ.update(DEBUG="false", SECRET_KEY="bench-" + "k" * 50, LOG_LEVEL="WARNING")
    try:
        return run(temp_dir)
    finally:
        shutil.rmtree(temp_dir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
