"""BENCH campaign_import: a contact list validated and imported into a campaign, against django-import-export
importing the same rows into the same model, and the import's peak memory as the file grows.

The file is a CRM export made up front, not timed (first and last name, email, "Phone Number", company,
city; the numbers written the ways people write them, with a few invalid and a few repeated ones), of
BENCH_CAMPAIGN_IMPORT_N rows (default 100,000) and of BENCH_CAMPAIGN_IMPORT_FLAT_N rows (default 1,000,000).
Each side runs in a process of its own, from an open file to its rows committed:
- ours: `campaigns.importing.contacts_import` in a transaction, as campaign_create runs it: every number
  checked as a single call's is (phonenumbers, part of them in the helper process), the do-not-call list,
  the allowed countries, duplicates, the skipped rows' reasons, the context JSON, the report;
- reference: django-import-export 4 with its defaults (`ModelResource` of Contact with the fields id,
  campaign, row, phone_number, raw_number, context and status; import_data in a transaction): tablib reads
  the same file, and each row becomes the resource's (campaign, row, the phone cell as both numbers, the
  other cells as context JSON, pending). It checks no number, no list and no duplicate: the comparison is in
  its favour.
rows/s = data rows / wall time. Target: ours at least 10 times the reference.

Memory: the process tree's RSS (the importing process and its children, the helper included) is sampled
every 10 ms from outside. A side's own peak is that peak less the tree's RSS just before the import began
(Django set up and its models loaded: what every web worker holds anyway). The memory line's `ours` is our
own peak at FLAT_N rows, `reference` import-export's at N rows, and `ratio` our tree's peak at FLAT_N rows
over the same at N rows: PASS means flat (ratio at most 1.1) and under 100 MB (ours).

The database is a temporary SQLite DATA_DIR, migrated here, or DATABASE_URL when it is set (the bench's rows
are removed at the end).

    make bench BENCH=campaign_import
    BENCH_CAMPAIGN_IMPORT_N=20000 BENCH_CAMPAIGN_IMPORT_FLAT_N=100000 make bench BENCH=campaign_import"""

from __future__ import annotations

import contextlib
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "wordcab_admin.settings")

N = int(os.environ.get("BENCH_CAMPAIGN_IMPORT_N", "100000"))
FLAT_N = int(os.environ.get("BENCH_CAMPAIGN_IMPORT_FLAT_N", "1000000"))
SPEED_TARGET = 10
FLAT_TARGET = 1.1
MEMORY_LIMIT_MB = 100
HEADER = ["First Name", "Last Name", "Email", "Phone Number", "Company", "City"]
AREA_CODES = [201, 212, 213, 305, 312, 404, 415, 503, 512, 617, 702, 713, 718, 805, 917, 919]
CITIES = ["New York", "San Francisco", "Chicago", "Austin", "Boston", "Miami", "Seattle", "Denver"]
SAMPLE_SECONDS = 0.01
MB = 1024 * 1024


# The file --------------------------------------------------------------------------------------------------


def phone_cell(rng: random.Random, index: int) -> str:
    if index % 97 == 0:
        return rng.choice(["", "n/a", "555-0101", "+1 415 55"])  # missing or invalid
    area, exchange, line = rng.choice(AREA_CODES), rng.randint(200, 999), rng.randint(0, 9999)
    style = index % 4
    if style == 0:
        return f"({area}) {exchange}-{line:04d}"
    if style == 1:
        return f"+1 {area} {exchange} {line:04d}"
    if style == 2:
        return f"+1{area}{exchange}{line:04d}"
    return f"{area}.{exchange}.{line:04d}"


def csv_write(path: Path, rows: int) -> None:
    import csv

    rng = random.Random(rows)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        for index in range(rows):
            first, last = f"First{index}", f"Last{index % 5000}"
            writer.writerow(
                [
                    first,
                    last,
                    f"{first.lower()}.{last.lower()}@example.com",
                    phone_cell(rng, index),
                    f"Company {index % 997}, Inc.",
                    CITIES[index % len(CITIES)],
                ]
            )


# The sides, each in its own process ------------------------------------------------------------------------


def rss_now() -> int:
    import psutil

    return psutil.Process().memory_info().rss


def side_setup(label: str):
    import django

    django.setup()
    from agents.models import Agent
    from campaigns.models import Campaign

    agent = Agent.objects.create(name=f"bench campaign import {label} {os.getpid()}")
    return Campaign.objects.create(name=f"bench {label}", agent=agent)


def side_ours(path: Path) -> dict:
    campaign = side_setup("ours")
    from django.db import transaction

    from campaigns.importing import contacts_import

    with path.open("rb") as stream:
        baseline = rss_now()
        started = time.perf_counter()
        with transaction.atomic():
            report = contacts_import(campaign=campaign, stream=stream)
        seconds = time.perf_counter() - started
    return {"seconds": seconds, "baseline": baseline, "campaign": campaign.pk, **report.counts()}


def side_reference(path: Path) -> dict:
    campaign = side_setup("reference")
    import tablib
    from import_export import resources

    from campaigns.models import Contact

    class ContactResource(resources.ModelResource):
        class Meta:
            model = Contact
            fields = ("id", "campaign", "row", "phone_number", "raw_number", "context", "status")

    baseline = rss_now()
    started = time.perf_counter()
    source = tablib.Dataset().load(path.read_text(encoding="utf-8"), format="csv")
    phone = source.headers.index("Phone Number")
    others = [(i, name) for i, name in enumerate(source.headers) if i != phone]
    dataset = tablib.Dataset(headers=["campaign", "row", "phone_number", "raw_number", "context", "status"])
    for index, cells in enumerate(source, start=2):
        context = json.dumps({name: cells[i] for i, name in others}, ensure_ascii=False)
        dataset.append([campaign.pk, index, cells[phone], cells[phone], context, "pending"])
    result = ContactResource().import_data(dataset, dry_run=False)
    seconds = time.perf_counter() - started
    if result.has_errors() or result.has_validation_errors():
        raise RuntimeError(f"import-export refused rows: {result.totals}")
    return {"seconds": seconds, "baseline": baseline, "campaign": campaign.pk, "rows": result.totals["new"]}


def side_main(side: str, path: str) -> int:
    outcome = (side_ours if side == "ours" else side_reference)(Path(path))
    import resource

    outcome["maxrss"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print("RESULT " + json.dumps(outcome), flush=True)
    return 0


# The runner ------------------------------------------------------------------------------------------------


class TreeSampler(threading.Thread):
    """The peak, over time, of the summed RSS of a process and all its descendants."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.peak, self.child_peak, self.stop = pid, 0, 0, threading.Event()

    def run(self) -> None:
        import psutil

        try:
            root = psutil.Process(self.pid)
        except psutil.NoSuchProcess:
            return
        while not self.stop.is_set():
            try:
                children = root.children(recursive=True)
                own = root.memory_info().rss
            except psutil.NoSuchProcess:
                return
            helpers = 0
            for child in children:
                with contextlib.suppress(psutil.NoSuchProcess):  # a helper that ended meanwhile
                    helpers += child.memory_info().rss
            self.peak = max(self.peak, own + helpers)
            self.child_peak = max(self.child_peak, helpers)
            self.stop.wait(SAMPLE_SECONDS)


def side_run(side: str, path: Path) -> dict:
    process = subprocess.Popen(  # noqa: S603 -- this very file, in a process of its own
        [sys.executable, __file__, side, str(path)], stdout=subprocess.PIPE, text=True
    )
    sampler = TreeSampler(process.pid)
    sampler.start()
    output, _ = process.communicate()
    sampler.stop.set()
    sampler.join()
    if process.returncode != 0:
        raise RuntimeError(f"the {side} side failed ({process.returncode})")
    result = json.loads(next(line for line in output.splitlines() if line.startswith("RESULT "))[7:])
    result.update(peak=sampler.peak, helper_peak=sampler.child_peak)
    result["own"] = sampler.peak - result["baseline"]
    return result


def bench_rows_remove(campaign_ids: list[int]) -> None:
    """On a database given by DATABASE_URL: the bench's contacts, campaigns and agents."""
    from django.db import connection

    from campaigns.models import Campaign, Contact

    agents = list(Campaign.objects.filter(pk__in=campaign_ids).values_list("agent_id", flat=True))
    with connection.cursor() as cursor:
        table = connection.ops.quote_name(Contact._meta.db_table)
        placeholders = ", ".join(["%s"] * len(campaign_ids))
        cursor.execute(f"DELETE FROM {table} WHERE campaign_id IN ({placeholders})", campaign_ids)  # noqa: S608
    Campaign.objects.filter(pk__in=campaign_ids).delete()
    from agents.models import Agent

    Agent.objects.filter(pk__in=agents).delete()


def mb(value: float) -> str:
    return f"{value / MB:.0f}"


def main() -> int:
    temp_dir = Path(tempfile.mkdtemp(prefix="wc-bench-campaign-import-"))
    if not os.environ.get("DATABASE_URL"):
        os.environ["DATA_DIR"] = str(temp_dir)
    os.environ.update(DEBUG="false", SECRET_KEY="bench-" + "k" * 50, LOG_LEVEL="WARNING")
    try:
        return run(temp_dir)
    finally:
        shutil.rmtree(temp_dir, ignore_errors=True)


def run(temp_dir: Path) -> int:
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    connection.close()  # the sides open their own
    small, large = temp_dir / f"contacts-{N}.csv", temp_dir / f"contacts-{FLAT_N}.csv"
    started = time.perf_counter()
    csv_write(small, N)
    csv_write(large, FLAT_N)
    print(
        f"# wrote {N:,} rows ({mb(small.stat().st_size)} MB) and {FLAT_N:,} rows ({mb(large.stat().st_size)} MB)"
        f" in {time.perf_counter() - started:.0f} s",
        flush=True,
    )
    ours = side_run("ours", small)
    reference = side_run("reference", small)
    flat = side_run("ours", large)
    vendor = connection.vendor
    if os.environ.get("DATABASE_URL"):
        bench_rows_remove([ours["campaign"], reference["campaign"], flat["campaign"]])

    problems = []
    if (ours["rows"], flat["rows"], reference["rows"]) != (N, FLAT_N, N):
        problems.append(
            f"rows imported: ours {ours['rows']}/{N} and {flat['rows']}/{FLAT_N},"
            f" reference {reference['rows']}/{N}"
        )
    if ours["accepted"] < 0.9 * N:
        problems.append(f"ours accepted only {ours['accepted']} of {N}")
    if problems:
        print("bench campaign_import: " + "; ".join(problems), file=sys.stderr)
        return 1

    ours_rate, reference_rate = N / ours["seconds"], N / reference["seconds"]
    speed = ours_rate / reference_rate
    flatness = flat["peak"] / ours["peak"]
    memory_ok = (
        flatness <= FLAT_TARGET and flat["own"] < MEMORY_LIMIT_MB * MB and ours["own"] < MEMORY_LIMIT_MB * MB
    )
    print(
        f"# ours: {N:,} rows in {ours['seconds']:.1f} s ({ours['accepted']:,} accepted,"
        f" {ours['rejected']:,} skipped), {FLAT_N:,} rows in {flat['seconds']:.1f} s"
        f" ({FLAT_N / flat['seconds']:.0f} rows/s); reference: {N:,} rows"
        f" in {reference['seconds']:.1f} s; {vendor}, {os.cpu_count()} CPUs"
    )
    print(
        f"# RSS MB, peak of the process tree (own = over the {mb(ours['baseline'])} MB before the import):"
        f" ours {N:,} rows {mb(ours['peak'])} (own {mb(ours['own'])}, helper {mb(ours['helper_peak'])}),"
        f" ours {FLAT_N:,} rows {mb(flat['peak'])} (own {mb(flat['own'])}, helper {mb(flat['helper_peak'])});"
        f" reference {N:,} rows {mb(reference['peak'])} (own {mb(reference['own'])})"
    )
    print(
        f"BENCH campaign_import_rows_per_s ours={ours_rate:.0f} reference={reference_rate:.0f} "
        f"ratio={speed:.1f} target={SPEED_TARGET} {'PASS' if speed >= SPEED_TARGET else 'MISS'}"
    )
    print(
        f"BENCH campaign_import_peak_rss_mb ours={mb(flat['own'])} reference={mb(reference['own'])} "
        f"ratio={flatness:.2f} target={FLAT_TARGET} {'PASS' if memory_ok else 'MISS'}"
    )
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 3:
        sys.exit(side_main(sys.argv[1], sys.argv[2]))
    sys.exit(main())
