"""BENCH history: the pages and lists must not slow down as the call history grows.

On PostgreSQL (DATABASE_URL: the server and user; the bench creates, and drops at the end, one database per
size beside the one named), a history is built twice, BENCH_HISTORY_CALLS calls (default 1,000,000) and
BENCH_HISTORY_REFERENCE_CALLS (default 1,000), each call with 4 events, half as many audit events. History
*grows*: both have the same last week (the reference's calls, the newest now), and the big one has the rest
over the 358 days before it (so "today" is as busy in both; a first run spread both evenly over the year,
which makes today 1,000 times busier too: see docs/analytics.md). 20 agents and 10 campaigns, five of them
running, so the wallboard counts them (their calls reach back over the whole year).
One agent and one campaign have only three calls: a filter on them is the worst case of the lists. The rows
are written by the database itself (INSERT … SELECT over generate_series: no Python per row), then the
analytics rollup runs once over the whole history (its time is printed), then VACUUM ANALYZE.

Each size runs in a process of its own, both built at once; then they take turns, ROUND requests at a time,
so that the load of a shared machine falls on both alike. Measured through the Django test client signed in
as an admin, 3 warm-ups then RUNS requests each, the p95 in ms:

- `analytics`: `/analytics/` as it opens (the last 7 days, per day), and `analytics_30d_agent`: the last 30
  days per agent (the hourly rollup plus the live hours).
- `calls_api`, `calls_api_status`, `calls_api_agent`, `calls_api_campaign`, `calls_api_direction`: the first
  page of `GET /v1/calls`, and with `status=no_answer`, `agent_id=` / `campaign_id=` of the quiet agent and
  campaign, `direction=inbound`.
- `wallboard`: the dashboard's first render (`/`: metrics of today, running campaigns' progress).
- `audit`: the audit log's page (`/audit/`, its action filter included).
- `export_first_byte`: `/calls/export.csv` until its first chunk.
- `transcript_search`: `GET /v1/transcripts/search?q=…` when that endpoint exists (a note otherwise).

Printed: `BENCH history_<what>_p95_ratio ours=<p95 at the big size, ms> reference=<p95 at the reference
size, ms> ratio=ours/reference target=1.5 PASS|MISS`. Then, for the four spots mended with this bench, the
same figure as it was before the mend, measured in the same processes with the old query forms
(`(before mend) …` lines): the audit action list as `SELECT DISTINCT`, the agent and campaign filters
through the join on the public id, the export's first row through a held cursor, and the running campaigns'
calls per status counted from the calls table without the `(campaign, status, id)` index; and after
(`(after mend) …`): the action list's index probes, the counts with that index, and from the analytics
rollup (what the wallboard now reads).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/wc_bench make bench BENCH=history
    BENCH_HISTORY_CALLS=200000 DATABASE_URL=… make bench BENCH=history"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "wordcab_admin.settings")

BIG = int(os.environ.get("BENCH_HISTORY_CALLS", "1000000"))
REFERENCE = int(os.environ.get("BENCH_HISTORY_REFERENCE_CALLS", "1000"))
RUNS = int(os.environ.get("BENCH_HISTORY_RUNS", "40"))
WARMUPS = 3
ROUND = 5  # requests of one size before the other's turn
BEFORE_RUNS = 7  # the old forms take seconds each at a million calls
TARGET = 1.5
EVENTS_PER_CALL = 4
HISTORY_DAYS = 365
RECENT_DAYS = (
    7  # both sizes have the same last week (REFERENCE calls); the big one has 358 more days behind it
)
AGENTS, CAMPAIGNS, RUNNING_CAMPAIGNS = 20, 10, 5
QUIET_CALLS = 3  # calls of the quiet agent and of the quiet campaign
OUTCOMES = [  # (status, end reason, answered)
    ("completed", "hangup", True),
    ("completed", "voicemail", True),
    ("no_answer", "no_answer", False),
    ("no_answer", "busy", False),
    ("failed", "error", False),
    ("failed", "canceled", False),
]
ORDER = [
    "analytics",
    "analytics_30d_agent",
    "calls_api",
    "calls_api_status",
    "calls_api_agent",
    "calls_api_campaign",
    "calls_api_direction",
    "wallboard",
    "audit",
    "export_first_byte",
    "transcript_search",
]
BEFORE = ["audit_actions", "calls_api_agent", "calls_api_campaign", "export_first_byte", "campaign_counts"]
AFTER = {  # the same work after its mend
    "audit_actions": "audit_actions_after",
    "campaign_counts": "campaign_counts_rollup",
}


def p95(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def measured(work, runs: int = RUNS) -> float:
    for _ in range(min(WARMUPS, runs)):
        work()
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        work()
        samples.append((time.perf_counter() - started) * 1000)
    return p95(samples)


# --- the history ---------------------------------------------------------------------------------------------


def populate(calls: int) -> dict:
    """The agents, campaigns, calls, events and audit events; the public ids the filters use."""
    from django.db import connection

    from agents.models import Agent
    from calls.models import Call, CallEvent
    from campaigns.models import Campaign, CampaignStatus
    from compliance.audit_sentences import SENTENCES
    from compliance.models import AuditEvent

    agents = [
        Agent.objects.create(name=f"History agent {i}", public_id=f"agent_hist_{i}") for i in range(AGENTS)
    ]
    campaigns = [
        Campaign.objects.create(
            name=f"History campaign {i}",
            public_id=f"campaign_hist_{i}",
            agent=agents[i],
            status=CampaignStatus.RUNNING if i < RUNNING_CAMPAIGNS else CampaignStatus.COMPLETED,
        )
        for i in range(CAMPAIGNS)
    ]
    # a campaign's calls are its agent's; an inbound call (odd ids only: never a campaign's) reaches our line
    quiet_agent, busy_agents = agents[-1], [a.pk for a in agents[:-1]]
    quiet_campaign, busy_campaigns = campaigns[-1], [c.pk for c in campaigns[:-1]]
    statuses = [o[0] for o in OUTCOMES]
    reasons = [o[1] for o in OUTCOMES]
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {Call._meta.db_table} (
                public_id, agent_id, campaign_id, direction, from_number, to_number, status, end_reason,
                error_code, error_message, context, max_duration, record, provider, last_sequence,
                last_event_at, request_fingerprint, jurisdiction, stream_token_hash, place_attempts,
                created_at, updated_at, answered_at, ended_at)
            SELECT
                'call_hist' || lpad(g::text, 10, '0'),
                CASE WHEN g <= %(quiet)s THEN %(quiet_agent)s
                     WHEN g %% 2 = 0 THEN (%(campaign_agents)s::bigint[])[1 + (g / 2) %% %(n_campaigns)s]
                     ELSE (%(agents)s::bigint[])[1 + g %% %(n_agents)s] END,
                CASE WHEN g <= %(quiet)s THEN %(quiet_campaign)s
                     WHEN g %% 2 = 0 THEN (%(campaigns)s::bigint[])[1 + (g / 2) %% %(n_campaigns)s] END,
                CASE WHEN g %% 10 = 1 THEN 'inbound' ELSE 'outbound' END,
                CASE WHEN g %% 10 = 1 THEN '+1212' || lpad((g %% 10000000)::text, 7, '0') ELSE '+14155550100' END,
                CASE WHEN g %% 10 = 1 THEN '+14155550199' ELSE '+1415' || lpad((g %% 10000000)::text, 7, '0') END,
                (%(statuses)s::text[])[1 + g %% 6],
                (%(reasons)s::text[])[1 + g %% 6],
                '', '', jsonb_build_object('order', 'A-' || g), 600, false, 'simulator', 3,
                t.created, '', '', '', 0,
                t.created, LEAST(t.created + interval '5 minutes', now() - interval '10 minutes'),
                CASE WHEN g %% 6 < 2 THEN t.created + interval '8 seconds' END,
                t.created + (10 + g %% 390) * interval '1 second'
            FROM generate_series(1, %(calls)s) AS g,
                 LATERAL (SELECT CASE
                     WHEN g > %(calls)s - %(recent)s
                     THEN now() - ((%(calls)s - g)::float8 / %(recent)s) * interval '{RECENT_DAYS} days'
                     ELSE now() - interval '{RECENT_DAYS} days'
                          - ((%(calls)s - %(recent)s - g)::float8 / greatest(1, %(calls)s - %(recent)s))
                            * interval '{HISTORY_DAYS - RECENT_DAYS} days'
                     END AS created) AS t
            """,  # noqa: S608 -- our tables' names
            {
                "calls": calls,
                "recent": min(calls, REFERENCE),
                "quiet": QUIET_CALLS,
                "quiet_agent": quiet_agent.pk,
                "quiet_campaign": quiet_campaign.pk,
                "agents": busy_agents,
                "n_agents": len(busy_agents),
                "campaigns": busy_campaigns,
                "campaign_agents": [c.agent_id for c in campaigns[:-1]],
                "n_campaigns": len(busy_campaigns),
                "statuses": statuses,
                "reasons": reasons,
            },
        )
        cursor.execute(
            f"""
            INSERT INTO {CallEvent._meta.db_table} (
                call_id, status, provider_status, provider_event_id, sequence, source, payload, received_at,
                applied, ignored_reason)
            SELECT c.id, (ARRAY['initiating', 'ringing', 'in_progress', c.status])[s], '', '', s, 'simulator',
                   '{{}}'::jsonb, c.created_at + s * interval '2 seconds', true, ''
            FROM {Call._meta.db_table} c, generate_series(1, {EVENTS_PER_CALL}) AS s
            """  # noqa: S608 -- our tables' names
        )
        cursor.execute(
            f"""
            INSERT INTO {AuditEvent._meta.db_table} (
                actor_label, action, object_type, object_id, created_at, request_id)
            SELECT 'bench', (%(actions)s::text[])[1 + g %% %(n_actions)s], 'call', 'call_hist' || g,
                   now() - ((%(events)s - g)::float8 / %(events)s) * interval '{HISTORY_DAYS} days', ''
            FROM generate_series(1, %(events)s) AS g
            """,  # noqa: S608 -- our tables' names
            {"actions": sorted(SENTENCES), "n_actions": len(SENTENCES), "events": max(1, calls // 2)},
        )
    return {"quiet_agent": quiet_agent.public_id, "quiet_campaign": quiet_campaign.public_id}


def vacuum_analyze() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")


# --- one size, in its own process ----------------------------------------------------------------------------


def child(calls: int) -> int:
    os.environ.update(
        DEBUG="false",
        SECRET_KEY="bench-" + "k" * 50,
        ALLOWED_HOSTS="testserver,127.0.0.1",
        SECURE_SSL_REDIRECT="false",
        LOG_LEVEL="WARNING",
    )
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.urls import resolve

    from analytics.rollup import calls_rollup
    from analytics.selectors import campaign_call_counts
    from calls.models import Call
    from campaigns.models import Campaign, CampaignStatus
    from campaigns.selectors import call_counts_by_campaign
    from compliance.models import AuditEvent
    from compliance.views import audit_actions
    from tests.factories import UserFactory
    from wordcab_admin.kernel.api_errors import api_not_found
    from wordcab_admin.kernel.roles import Role

    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    ids = populate(calls)
    built = time.perf_counter() - started
    started = time.perf_counter()
    hours = calls_rollup()
    rolled = time.perf_counter() - started
    vacuum_analyze()
    print(
        f"(history of {calls} calls: built in {built:.0f} s, rolled up ({hours} hours) in {rolled:.1f} s)",
        file=sys.stderr,
        flush=True,
    )

    client = Client()
    client.force_login(UserFactory(username="history_admin", role=Role.ADMIN))

    def get(url: str, data: dict | None = None):
        def work():
            response = client.get(url, data or {})
            assert response.status_code == 200, (url, response.status_code)

        return work

    def export_first_byte():
        response = client.get("/calls/export.csv")
        assert response.status_code == 200
        next(iter(response.streaming_content))
        response.close()

    works = {
        "analytics": get("/analytics/"),  # as it opens: the last 7 days, per day
        "analytics_30d_agent": get("/analytics/", {"period": "30d", "group_by": "agent"}),
        "calls_api": get("/v1/calls"),
        "calls_api_status": get("/v1/calls", {"status": "no_answer"}),
        "calls_api_agent": get("/v1/calls", {"agent_id": ids["quiet_agent"]}),
        "calls_api_campaign": get("/v1/calls", {"campaign_id": ids["quiet_campaign"]}),
        "calls_api_direction": get("/v1/calls", {"direction": "inbound"}),
        "wallboard": get("/"),
        "audit": get("/audit/"),
        "export_first_byte": export_first_byte,
    }
    if resolve("/v1/transcripts/search").func is not api_not_found:  # another part of #21 adds it
        answer = client.get("/v1/transcripts/search", {"q": "appointment"})
        if answer.status_code == 200:
            works["transcript_search"] = get("/v1/transcripts/search", {"q": "appointment"})
        else:
            print(f"(transcript search answered {answer.status_code}: not measured)", file=sys.stderr)
    for work in works.values():
        for _ in range(WARMUPS):
            work()

    # Before the mends: the old query forms, in the same process.
    def old_export_first_row():  # the held cursor `.iterator()` opened: the whole result before a row
        rows = Call.objects.order_by("-id").iterator(chunk_size=2000)
        next(rows)
        rows.close()

    def before() -> dict[str, float]:
        measures = {
            "audit_actions": measured(
                lambda: list(
                    AuditEvent.objects.order_by("action").values_list("action", flat=True).distinct()
                )
            ),
            "audit_actions_after": measured(audit_actions),
            "calls_api_agent": measured(
                lambda: list(Call.objects.filter(agent__public_id=ids["quiet_agent"]).order_by("-id")[:51])
            ),
            "calls_api_campaign": measured(
                lambda: list(
                    Call.objects.filter(campaign__public_id=ids["quiet_campaign"]).order_by("-id")[:51]
                )
            ),
            "export_first_byte": measured(old_export_first_row, runs=BEFORE_RUNS),
        }
        running = list(Campaign.objects.filter(status=CampaignStatus.RUNNING).values_list("pk", flat=True))
        measures["campaign_counts_rollup"] = measured(lambda: campaign_call_counts(running))
        measures["campaign_counts_index"] = measured(lambda: call_counts_by_campaign(running))
        with connection.cursor() as cursor:
            cursor.execute("DROP INDEX call_campaign_status")
        measures["campaign_counts"] = measured(lambda: call_counts_by_campaign(running), runs=BEFORE_RUNS)
        return measures

    # Serve the parent: `<what>` → that request ROUND times, its samples (ms); `before`; `quit`.
    print(json.dumps({"ready": sorted(works)}), flush=True)
    for line in sys.stdin:
        asked = line.strip()
        if asked == "quit":
            break
        if asked == "before":
            print(json.dumps(before()), flush=True)
            continue
        samples = []
        for _ in range(ROUND):
            started = time.perf_counter()
            works[asked]()
            samples.append((time.perf_counter() - started) * 1000)
        print(json.dumps(samples), flush=True)
    return 0


# --- both sizes ------------------------------------------------------------------------------------------------


def _database_url(base: str, name: str) -> str:
    parts = urlsplit(base)
    return urlunsplit(parts._replace(path=f"/{name}"))


def _admin(base: str, statement: str) -> None:
    import psycopg

    parts = urlsplit(base)
    with psycopg.connect(
        host=parts.hostname,
        port=parts.port or 5432,
        user=parts.username,
        password=parts.password,
        dbname=parts.path.lstrip("/") or "postgres",
        autocommit=True,
    ) as conn:
        conn.execute(statement)


class Size:
    """One size's process, on its own database, answering the parent's requests for measurements."""

    def __init__(self, base: str, calls: int) -> None:
        self.base, self.calls = base, calls
        self.name = f"{urlsplit(base).path.lstrip('/') or 'wc'}_history_{calls}"
        _admin(base, f'DROP DATABASE IF EXISTS "{self.name}"')
        _admin(base, f'CREATE DATABASE "{self.name}"')
        env = {**os.environ, "DATABASE_URL": _database_url(base, self.name), "PYTHONPATH": str(ROOT)}
        self.process = subprocess.Popen(
            [sys.executable, __file__, "--child", str(calls)],
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def answer(self) -> object:
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"the {self.calls}-call process ended (its errors are above)")
        return json.loads(line)

    def ask(self, what: str) -> object:
        self.process.stdin.write(what + "\n")
        self.process.stdin.flush()
        return self.answer()

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.stdin.write("quit\n")
            self.process.stdin.flush()
            self.process.wait(timeout=60)
        _admin(self.base, f'DROP DATABASE IF EXISTS "{self.name}"')


def main() -> int:
    base = os.environ.get("DATABASE_URL", "")
    if not base.startswith(("postgres://", "postgresql://")):
        print(
            "bench history: needs DATABASE_URL on PostgreSQL (the history is a PostgreSQL question); skipped"
        )
        return 0
    big = Size(base, BIG)
    reference = Size(base, REFERENCE)
    try:
        ready = set(big.answer()["ready"]) & set(reference.answer()["ready"])
        print(
            f"(history bench: {BIG} calls against {REFERENCE}, {RUNS} requests each, p95; the two sizes "
            f"take turns, {ROUND} requests at a time, so that the machine's load falls on both)",
            flush=True,
        )
        for what in ORDER:
            if what not in ready:
                print(
                    f"(history_{what}: skipped, /v1/transcripts/search absent or failing: see above)",
                    flush=True,
                )
                continue
            samples: dict[str, list[float]] = {"big": [], "reference": []}
            for _ in range(max(1, RUNS // ROUND)):
                samples["big"] += big.ask(what)
                samples["reference"] += reference.ask(what)
            ours, ref = p95(samples["big"]), p95(samples["reference"])
            ratio = ours / ref if ref else float("inf")
            verdict = "PASS" if ratio <= TARGET else "MISS"
            print(
                f"BENCH history_{what}_p95_ratio ours={ours:.1f} reference={ref:.1f} ratio={ratio:.2f} "
                f"target={TARGET} {verdict}",
                flush=True,
            )
        old = {"big": big.ask("before"), "reference": reference.ask("before")}
    finally:
        big.close()
        reference.close()
    for what in BEFORE:
        print(
            f"(before mend) history_{what}_p95 ms at {BIG}={old['big'][what]:.1f} "
            f"at {REFERENCE}={old['reference'][what]:.1f}",
            flush=True,
        )
    for what in [*AFTER.values(), "campaign_counts_index"]:
        print(
            f"(after mend) history_{what}_p95 ms at {BIG}={old['big'][what]:.1f} "
            f"at {REFERENCE}={old['reference'][what]:.1f}",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--child":
        sys.exit(child(int(sys.argv[2])))
    sys.exit(main())
