"""A campaign under process faults (#16): the embedded product (`make run`: web, worker, beat and the bundled
Redis, on SQLite) dispatches a running campaign while its worker is killed with SIGKILL and started again
by the supervisor, then while Redis is killed and started again. At the end every contact has been called
exactly once per attempt (one call with the attempt's key, one dial in the simulator's log), none is lost
(each in its final status, as its number's outcome says), and the campaign completes.

The drill runs once for the module (tests/faults/harness.py starts the product on its own DATA_DIR and
port); the tests below each check one promise on its outcome. Beat ticks the dispatch every 2 s, as in
production. The campaign's rows are made with `manage.py shell` (the CSV import is another test's matter)
and it is started through `POST /v1/campaigns/{id}/start`; what became of it is read from the product's
SQLite file, read-only."""

from __future__ import annotations

import contextlib
import json
import sqlite3
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.factories import number_inside_calling_hours
from tests.faults.harness import Api, Product, create_agent, create_api_key

pytestmark = pytest.mark.timeout(300)

SIMULATOR_SPEED = "3"  # an answered call rings and talks for 2 to 3.5 s: several are live at each fault
CAP, MAX_ATTEMPTS = 6, 2
# 30 contacts; the outcome's last four digits (docs/contract.md, "The simulator provider"). no_answer and
# busy are retried (the default), once here; the others are called once.
OUTCOMES = {"completed": 20, "no_answer": 3, "busy": 2, "failed": 2, "voicemail": 3}
LAST_FOUR = {
    "completed": "2{:03d}",
    "no_answer": "015{}",
    "busy": "016{}",
    "failed": "017{}",
    "voicemail": "018{}",
}
FINAL = {
    "completed": "completed",
    "voicemail": "completed",
    "failed": "failed",
    "no_answer": "no_answer",
    "busy": "no_answer",
}
RETRIED = {"no_answer", "busy"}
PROGRESS_SECONDS = 60.0  # for the campaign to reach each fault's point, from the one before
COMPLETE_SECONDS = 120.0  # for the campaign to complete once Redis is back

CREATE_CAMPAIGN = """
import json, sys
from agents.models import Agent
from campaigns.models import Campaign, Contact
plan = json.loads({plan!r})
campaign = Campaign.objects.create(
    name="Fault drill", agent=Agent.objects.get(public_id=plan["agent_id"]), **plan["settings"]
)
Contact.objects.bulk_create(
    Contact(campaign=campaign, row=row, phone_number=number, raw_number=number, context={{"outcome": outcome}})
    for row, (number, outcome) in enumerate(plan["contacts"], start=2)
)
sys.stdout.write(campaign.public_id)
"""


class QuickProduct(Product):
    """The embedded product with a faster simulator than the call drills' (they need calls in flight
    long enough to kill a process while some ring and some talk; here the campaign keeps calls in flight)."""

    def env(self) -> dict[str, str]:
        return {**super().env(), "SIMULATOR_SPEED": SIMULATOR_SPEED}


@dataclass
class Rows:
    """The product's SQLite file, read-only: one short connection per read, so none outlives a fault."""

    database: Path

    def all(self, sql: str, params: tuple = ()) -> list[tuple]:
        uri = f"file:{self.database}?mode=ro"
        with contextlib.closing(sqlite3.connect(uri, uri=True, timeout=10)) as db:
            return db.execute(sql, params).fetchall()

    def campaign(self, public_id: str) -> tuple[int, str]:
        return self.all("SELECT id, status FROM calls_campaign WHERE public_id = ?", (public_id,))[0]

    def contact_statuses(self, campaign_id: int) -> dict[str, int]:
        sql = "SELECT status, count(*) FROM campaigns_contact WHERE campaign_id = ? GROUP BY status"
        return dict(self.all(sql, (campaign_id,)))

    def call_statuses(self, campaign_id: int) -> dict[str, int]:
        return dict(
            self.all(
                "SELECT status, count(*) FROM calls_call WHERE campaign_id = ? GROUP BY status",
                (campaign_id,),
            )
        )


@dataclass
class Moment:
    """The campaign as a fault hit it."""

    fault: str
    contacts: dict[str, int]
    calls: dict[str, int]
    back_after: float | None  # seconds until the supervisor had it running again with /healthz 200


@dataclass
class CampaignDrill:
    public_id: str
    campaign_id: int
    status: str
    contacts: list[dict]  # id, row, number, outcome, status, attempts
    attempts: list[tuple[int, int, int | None]]  # contact id, number, call id
    calls: list[tuple[int, str, str, str, str | None]]  # id, public id, key, to number, provider id
    dials: list[tuple[str, str, str]]  # request key (call public id), call sid, to number
    event_sids: dict[str, set[str]]  # call public id -> the CallSids its provider events carried
    moments: list[Moment]
    seconds: float  # from start to completed (or to giving up)
    console: str


def contact_plan() -> list[tuple[str, str]]:
    """(number, outcome) per contact in row order, outcomes interleaved; each number inside its calling
    hours now and for the drill's length (the product clears calls at the wall clock)."""
    queues = {outcome: list(range(count)) for outcome, count in OUTCOMES.items()}
    plan = []
    while any(queues.values()):
        for outcome, queue in queues.items():
            if queue:
                index = queue.pop(0)
                last_four = LAST_FOUR[outcome].format(index if outcome == "completed" else index % 10)
                plan.append((number_inside_calling_hours(last_four, minutes=15), outcome))
    return plan


def create_campaign(product: Product, agent_id: str, contacts: list[tuple[str, str]]) -> str:
    settings = {
        "max_concurrent_calls": CAP,
        "calls_per_minute": 6000,
        "max_attempts": MAX_ATTEMPTS,
        "retry_delay_seconds": 1,
    }
    plan = json.dumps({"agent_id": agent_id, "settings": settings, "contacts": contacts})
    result = product.manage("shell", "-c", CREATE_CAMPAIGN.format(plan=plan))
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


def wait_until(condition: Callable[[], bool], *, timeout: float, what: str, product: Product) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(
                f"timed out after {timeout:.0f} s waiting for {what}\n{product.output()[-4000:]}"
            )
        time.sleep(0.1)


def fault(product: Product, rows: Rows, campaign_id: int, name: str) -> Moment:
    """SIGKILL `name`'s process group and wait for the supervisor to have it running again."""
    contacts, calls = rows.contact_statuses(campaign_id), rows.call_statuses(campaign_id)
    pid, killed_at = product.kill(name)
    back_at, _new_pid = product.wait_back(name, pid)
    return Moment(name, contacts, calls, None if back_at is None else back_at - killed_at)


def run_campaign_drill(product: Product, api: Api, agent_id: str) -> CampaignDrill:
    rows = Rows(product.database())
    contacts = contact_plan()
    public_id = create_campaign(product, agent_id, contacts)
    campaign_id, _status = rows.campaign(public_id)
    console_from = product.output_size()
    answer = api.request("POST", f"/v1/campaigns/{public_id}/start")
    assert answer.status == 200, (answer.status, answer.body[:500])
    started = time.monotonic()

    def attempts_made() -> int:
        return rows.all("SELECT count(*) FROM calls_call WHERE campaign_id = ?", (campaign_id,))[0][0]

    def live_calls() -> int:
        sql = "SELECT count(*) FROM calls_call WHERE campaign_id = ? AND status IN ('ringing', 'in_progress')"
        return rows.all(sql, (campaign_id,))[0][0]

    moments = []
    # The worker: once a first wave is live (ringing or talking) and most contacts are still to call.
    wait_until(
        lambda: attempts_made() >= CAP and live_calls() >= 2,
        timeout=PROGRESS_SECONDS,
        what="the first calls of the campaign to ring",
        product=product,
    )
    moments.append(fault(product, rows, campaign_id, "worker"))
    # Redis: once the campaign has gone on after the worker came back, well before it is done.
    made = attempts_made()
    wait_until(
        lambda: attempts_made() >= made + CAP and live_calls() >= 1,
        timeout=PROGRESS_SECONDS,
        what="the campaign to go on after the worker was killed",
        product=product,
    )
    moments.append(fault(product, rows, campaign_id, "redis"))
    with contextlib.suppress(AssertionError):
        wait_until(
            lambda: rows.campaign(public_id)[1] == "completed",
            timeout=COMPLETE_SECONDS,
            what="the campaign to complete",
            product=product,
        )
    seconds = time.monotonic() - started
    return read_drill(rows, public_id, moments, seconds, product.output(console_from))


def read_drill(
    rows: Rows, public_id: str, moments: list[Moment], seconds: float, console: str
) -> CampaignDrill:
    campaign_id, status = rows.campaign(public_id)
    contacts = [
        {
            "id": pk,
            "row": row,
            "number": number,
            "outcome": json.loads(context)["outcome"],
            "status": state,
            "attempts": n,
        }
        for pk, row, number, context, state, n in rows.all(
            "SELECT id, row, phone_number, context, status, attempts FROM campaigns_contact WHERE campaign_id = ?",
            (campaign_id,),
        )
    ]
    attempts = rows.all(
        "SELECT a.contact_id, a.number, a.call_id FROM campaigns_contactattempt a"
        " JOIN campaigns_contact c ON c.id = a.contact_id WHERE c.campaign_id = ?",
        (campaign_id,),
    )
    calls = rows.all(
        "SELECT id, public_id, idempotency_key, to_number, provider_call_id FROM calls_call WHERE campaign_id = ?",
        (campaign_id,),
    )
    dials = rows.all(
        "SELECT d.request_key, d.call_sid, d.to_number FROM telephony_simulator_dial d"
        " WHERE d.request_key IN (SELECT public_id FROM calls_call WHERE campaign_id = ?)"
        " OR d.to_number IN (SELECT phone_number FROM campaigns_contact WHERE campaign_id = ?)",
        (campaign_id, campaign_id),
    )
    event_sids: dict[str, set[str]] = {}
    for call_public_id, payload in rows.all(
        "SELECT c.public_id, e.payload FROM calls_callevent e JOIN calls_call c ON c.id = e.call_id"
        " WHERE c.campaign_id = ?",
        (campaign_id,),
    ):
        sid = json.loads(payload or "{}").get("CallSid")
        if sid:
            event_sids.setdefault(call_public_id, set()).add(sid)
    return CampaignDrill(
        public_id,
        campaign_id,
        status,
        contacts,
        attempts,
        calls,
        dials,
        event_sids,
        moments,
        seconds,
        console,
    )


@contextlib.contextmanager
def quick_product(data_dir: Path) -> Iterator[tuple[Product, Api, str]]:
    product = QuickProduct(data_dir)
    try:
        product.start()
        product.wait_ready()
        api = Api(product.base_url, create_api_key(product))
        yield product, api, create_agent(api, "agent_campaign_faults")
    finally:
        product.cleanup()


@pytest.fixture(scope="module")
def drill(tmp_path_factory) -> CampaignDrill:
    with quick_product(tmp_path_factory.mktemp("campaign-faults") / "data") as (product, api, agent_id):
        result = run_campaign_drill(product, api, agent_id)
    print(f"\n{summary(result)}")
    return result


def summary(drill: CampaignDrill) -> str:
    moments = "; ".join(
        f"{m.fault} killed with contacts {m.contacts} and calls {m.calls}, back after "
        f"{'never' if m.back_after is None else f'{m.back_after:.1f} s'}"
        for m in drill.moments
    )
    return (
        f"[faults] campaign {drill.public_id}: {drill.status} after {drill.seconds:.1f} s; {moments}; "
        f"{len(drill.calls)} calls for {len(drill.contacts)} contacts"
    )


def test_each_fault_hit_the_campaign_mid_way_and_its_process_came_back(drill):
    for moment in drill.moments:
        assert moment.back_after is not None, f"{moment.fault} not back: {summary(drill)}"
        assert moment.contacts.get("pending", 0) > 0, f"nothing left to call at the {moment.fault} fault"
        in_flight = sum(moment.calls.get(status, 0) for status in ("initiating", "ringing", "in_progress"))
        assert in_flight > 0, f"no call in flight at the {moment.fault} fault: {summary(drill)}"


def test_the_campaign_completes(drill):
    assert drill.status == "completed", f"{summary(drill)}\n--- console ---\n{drill.console[-4000:]}"


def test_every_contact_ends_in_the_final_status_its_outcome_gives_after_its_attempts(drill):
    wrong = []
    for contact in drill.contacts:
        attempts = MAX_ATTEMPTS if contact["outcome"] in RETRIED else 1
        if (contact["status"], contact["attempts"]) != (FINAL[contact["outcome"]], attempts):
            wrong.append(
                f"row {contact['row']} ({contact['outcome']}): {contact['status']} after {contact['attempts']} "
                f"attempts, want {FINAL[contact['outcome']]} after {attempts}"
            )
    assert not wrong, "\n".join(wrong)


def test_every_attempt_has_exactly_one_call_with_its_key_and_every_call_an_attempt(drill):
    calls = {pk: (key, number) for pk, _public, key, number, _sid in drill.calls}
    by_contact: dict[int, list[tuple[int, int | None]]] = {}
    for contact_id, number, call_id in drill.attempts:
        by_contact.setdefault(contact_id, []).append((number, call_id))
    problems = []
    for contact in drill.contacts:
        made = sorted(by_contact.get(contact["id"], []))
        if [number for number, _call in made] != list(range(1, contact["attempts"] + 1)):
            problems.append(f"row {contact['row']}: attempts {made}, the contact says {contact['attempts']}")
        for number, call_id in made:
            want = f"campaign:{drill.public_id}:contact:{contact['id']}:attempt:{number}"
            if calls.get(call_id) != (want, contact["number"]):
                problems.append(
                    f"row {contact['row']} attempt {number}: call {calls.get(call_id)}, want {want}"
                )
    attempted = {call_id for _contact, _number, call_id in drill.attempts}
    problems += [
        f"call {key} belongs to no attempt" for pk, (key, _n) in calls.items() if pk not in attempted
    ]
    keys = Counter(key for key, _number in calls.values())
    problems += [f"{count} calls with the key {key}" for key, count in keys.items() if count > 1]
    assert not problems, "\n".join(problems)


def test_the_simulator_dialled_each_call_once_and_each_contact_once_per_attempt(drill):
    dials = Counter(request_key for request_key, _sid, _to in drill.dials)
    sids = {request_key: sid for request_key, sid, _to in drill.dials}
    problems = [f"{key}: {count} dials" for key, count in dials.items() if count > 1]
    for _pk, public_id, _key, _number, provider_call_id in drill.calls:
        if sids.get(public_id) != provider_call_id:
            problems.append(
                f"{public_id}: dialled as {sids.get(public_id)}, its provider id is {provider_call_id}"
            )
        others = drill.event_sids.get(public_id, set()) - {provider_call_id}
        if others:
            problems.append(f"{public_id}: events came from {sorted(others)} too (a second dial)")
    per_number = Counter(to for _key, _sid, to in drill.dials)
    for contact in drill.contacts:
        if per_number[contact["number"]] != contact["attempts"]:
            problems.append(
                f"row {contact['row']}: {per_number[contact['number']]} dials for {contact['attempts']} attempts"
            )
    assert not problems, "\n".join(problems)
