"""BENCH faults: how long calls in flight take to settle after a process fault, against the stale-call watchdog.

Starts the embedded product (`python -m wordcab_admin.run serve`, what `make run` starts) on a temporary
DATA_DIR and a free port, with SQLite and the bundled Redis, and runs the drills of tests/faults (see
tests/faults/harness.py): calls of every simulator outcome in flight, some ringing and some talking, then
one fault: kill -9 the worker, kill -9 Redis, kill -9 web, SIGTERM serve and start it again; more calls
are placed while the process is down. Ours is the seconds from the fault until every one of those calls
has reached a final status; the reference is 600 s, the CALL_STALE_AFTER_SECONDS default: before #14 the
stale-call watchdog was what settled calls whose events were lost with the worker or the broker. The
ratio is ours / reference; the target is under 30 s (the calls' own ring and talk times included).

    make bench BENCH=faults
    BENCH_FAULTS=worker,redis make bench BENCH=faults       (a subset; default worker,redis,web,restart)"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "wordcab_admin.settings")

import django  # noqa: E402

django.setup()  # the harness picks numbers inside their calling hours from the project's seed data

from tests.faults.harness import FAULTS, REFERENCE_SECONDS, run_drill, running_product  # noqa: E402

TARGET = 30.0
WANTED = [name for name in os.environ.get("BENCH_FAULTS", ",".join(FAULTS)).split(",") if name]


def line(fault: str, seconds: float | None) -> None:
    ours = float("inf") if seconds is None else seconds
    passed = ours < TARGET
    print(
        f"BENCH faults_{fault}_settle_s ours={ours:.1f} reference={REFERENCE_SECONDS:.0f} "
        f"ratio={ours / REFERENCE_SECONDS:.3f} target={TARGET:.0f} {'PASS' if passed else 'MISS'}",
        flush=True,
    )


def main() -> int:
    unknown = sorted(set(WANTED) - set(FAULTS))
    if unknown:
        print(f"bench faults: unknown fault(s) {unknown}; have {', '.join(FAULTS)}", file=sys.stderr)
        return 2
    temp_dir = Path(tempfile.mkdtemp(prefix=f"bench-faults-{os.getpid()}-"))
    try:
        with running_product(temp_dir / "data") as (product, api, live, agent_id):
            for fault in WANTED:
                drill = run_drill(product, api, live, agent_id, fault)
                back = None if drill.back_at is None else drill.back_at - drill.killed_at
                print(
                    f"# {fault}: {len(drill.plans)} calls, in flight at the fault {drill.in_flight}; process back "
                    f"after {'never' if back is None else f'{back:.1f} s'}"
                    f"{' (restarted by the bench: the supervisor did not)' if drill.restarted_by_harness else ''}",
                    flush=True,
                )
                line(fault, drill.settle_seconds())
    finally:
        shutil.rmtree(temp_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
