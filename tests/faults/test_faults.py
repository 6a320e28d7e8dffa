"""Process faults under load (#14): the embedded product (`make run`) keeps every call when one of its
processes is killed with SIGKILL, or when the whole of it is stopped with SIGTERM and started again.

One product runs for the module (tests/faults/harness.py starts it like `make run`, on its own DATA_DIR
and port, SQLite and the bundled Redis). Each fault is one drill, in this order: kill -9 the worker; kill
-9 Redis; kill -9 web; SIGTERM serve and start it again. A drill places calls of every simulator outcome
(some recorded, some with a max_duration), kills once some ring and some talk, places more calls while the
process is down, then waits for the process to be back. The tests below each check one promise on every
drill's outcome; each drill runs once, before the first test that asks for it."""

from __future__ import annotations

import re

import pytest

from tests.faults.harness import (
    FAULTS,
    RESTART_SECONDS,
    SETTLE_SECONDS,
    Drill,
    bad_answers,
    describe,
    double_dials,
    missing_recordings,
    run_drill,
    running_product,
    wrong_final_states,
)

pytestmark = pytest.mark.timeout(300)

EVIDENCE = re.compile(
    r"exited|restart|stopping|Traceback|Error|error|WARNING|CRITICAL|sweep|lost|redis|Redis", re.IGNORECASE
)


@pytest.fixture(scope="module")
def embedded(tmp_path_factory):
    with running_product(tmp_path_factory.mktemp("faults") / "data") as running:
        yield running


@pytest.fixture(scope="module", params=FAULTS)
def drill(request, embedded) -> Drill:
    product, api, live, agent_id = embedded
    result = run_drill(product, api, live, agent_id, request.param)
    print(f"\n{summary(result)}")
    return result


def summary(drill: Drill) -> str:
    back = None if drill.back_at is None else drill.back_at - drill.killed_at
    final = drill.settle_seconds()
    answers = [answer for plan in drill.plans for answer in plan.answers]
    counts = {answer: answers.count(answer) for answer in sorted(set(answers))}
    closes: dict[int, str] = {}
    for close in drill.closes:  # per code: how many, and the first one's seconds after the fault
        count = sum(other.code == close.code for other in drill.closes)
        closes.setdefault(close.code, f"{count}x, first after {close.at - drill.killed_at:.2f} s")
    return (
        f"[faults] {drill.fault}: in flight at the fault {drill.in_flight}; back after "
        f"{'never' if back is None else f'{back:.1f} s'} (pid {drill.killed_pid} → {drill.new_pid}"
        f"{', restarted by the harness' if drill.restarted_by_harness else ''}); every call final "
        f"{'never' if final is None else f'{final:.1f} s'} after the fault; POST answers {counts}; "
        f"websocket closes {closes}; probe seen after reconnecting: {drill.probe_seen} "
        f"(at all: {drill.probe_seen_any}); "
        f"placings asked more than once: {sum(n > 1 for n in drill.placings_asked.values())}"
        + "".join(f"\n[faults]   note: {note}" for note in drill.notes)
    )


def evidence(drill: Drill, lines: int = 40) -> str:
    """The product's console lines from the fault on that tell what happened (restarts, errors, sweeps)."""
    found = [line for line in drill.console.splitlines() if EVIDENCE.search(line)]
    return "\n".join(found[-lines:]) or drill.console[-3000:]


def test_the_supervisor_restarts_a_killed_process_and_names_its_new_pid_in_processes_json(drill):
    assert drill.processes_json, "DATA_DIR/run/processes.json is missing or names another supervisor"
    if drill.fault == "restart":
        return  # serve itself was stopped and started again: nothing for the supervisor to restart
    assert not drill.restarted_by_harness, (
        f"the {drill.fault} process was not running again with a new pid and /healthz 200 within "
        f"{RESTART_SECONDS:.0f} s of kill -9; {drill.notes}\n--- console ---\n{evidence(drill)}"
    )
    assert drill.new_pid != drill.killed_pid


def test_every_call_in_flight_reaches_its_true_final_state_within_30_s_of_the_process_coming_back(drill):
    hit = {status for status in ("ringing", "in_progress") if drill.in_flight.get(status)}
    assert hit == {"ringing", "in_progress"}, (
        f"the fault did not hit calls ringing and talking: {drill.in_flight}"
    )
    wrong = wrong_final_states(drill.plans, drill.settlement.calls)
    assert not wrong, (
        f"{len(wrong)} of {len(drill.plans)} calls did not end as the simulator decided within "
        f"{SETTLE_SECONDS:.0f} s of the {drill.fault} being back:\n"
        + "\n".join(wrong)
        + f"\n--- console ---\n{evidence(drill)}"
    )
    assert drill.settlement.final_at is not None


def test_no_call_is_failed_as_stale_or_ended_by_max_duration_with_a_made_up_talk_time(drill):
    invented = [
        f"{call_id}: {describe(call)}"
        for call_id, call in drill.settlement.calls.items()
        if call["end_reason"] == "max_duration" or (call["error"] or {}).get("code") == "stale"
    ]
    assert not invented, "\n".join(invented)


def test_no_call_is_dialled_twice(drill, embedded):
    product = embedded[0]
    problems = double_dials(product.database(), drill.plans)
    assert not problems, "\n".join(problems)


def test_every_recorded_call_that_talked_has_its_recording_stored(drill, embedded):
    api = embedded[1]
    missing = missing_recordings(api, drill.plans, drill.settlement.calls)
    assert not missing, "\n".join(missing) + f"\n--- console ---\n{evidence(drill)}"


def test_creating_a_call_during_the_fault_answers_201_or_503_with_retry_after_never_500(drill):
    problems = bad_answers(drill.plans)
    assert not problems, "\n".join(problems) + f"\n--- console ---\n{evidence(drill)}"


def test_live_clients_see_their_socket_closed_and_after_reconnecting_see_calls_made_after_the_fault(drill):
    codes = [close.code for close in drill.closes]
    if drill.fault == "redis":
        assert 4503 in codes, f"no 4503 close while Redis was away; closes: {codes}\n{evidence(drill)}"
    elif drill.fault == "web":
        assert 1006 in codes, f"the socket did not drop when web was killed; closes: {codes}"
    elif drill.fault == "restart":
        assert codes, "the socket was not closed when serve stopped"
    if drill.fault == "worker":
        assert drill.probe_seen_any, f"the live client never saw {drill.probe.id}, created after the restart"
    else:
        assert drill.probe_seen, (
            f"no reconnected socket saw {drill.probe.id}, created after the {drill.fault} was back "
            f"(seen on an older connection: {drill.probe_seen_any}); closes: {codes}"
        )
