"""`wordcab-admin` against the live server: the documented jobs, their output formats, and the exit codes a
shell script relies on (README, "The wordcab-admin command"). Run in process through `main([...])`, as the
console script runs it, and once as the installed script itself."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
import wave
from dataclasses import dataclass
from pathlib import Path

import click
import pytest

from calls.models import CallStatus
from campaigns.models import Campaign, CampaignStatus
from tests.client.fakes import Answer, scripted_server, unused_port_url
from tests.factories import CallFactory, CampaignFactory, DoNotCallFactory
from wordcab_admin.client.cli import ExitCode, cli, main


@dataclass
class Run:
    code: int
    out: str
    err: str


@pytest.fixture
def wordcab_admin(live_asgi_url, key_of, alice, jurisdictions_as_migrated, monkeypatch, capsys):
    """`wordcab_admin("calls", "list")` runs the command line as alice (WORDCAB_BASE_URL, WORDCAB_API_KEY)."""
    monkeypatch.setenv("WORDCAB_BASE_URL", live_asgi_url)
    monkeypatch.setenv("WORDCAB_API_KEY", key_of(alice))

    def run(*args: str) -> Run:
        code = main(list(args))
        captured = capsys.readouterr()
        return Run(code, captured.out, captured.err)

    return run


def fields_of(table: str) -> dict[str, str]:
    """An object printed as a table: one `name  value` line per field."""
    return dict((line.split(None, 1) + [""])[:2] for line in table.splitlines())


def command_paths(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    paths = [prefix]
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            paths += command_paths(command, (*prefix, name))
        else:
            paths.append((*prefix, name))
    return paths


@pytest.mark.parametrize("path", command_paths(cli), ids=lambda path: " ".join(path) or "wordcab-admin")
def test_every_command_has_help(path, capsys):
    assert main([*path, "--help"]) == ExitCode.OK
    help_text = capsys.readouterr().out
    assert help_text.startswith(f"Usage: wordcab-admin {' '.join(path)}".rstrip())
    assert "Exit codes: 0 done" in help_text


# --- the jobs -----------------------------------------------------------------------------------------------


def test_call_with_wait_places_a_recorded_call_follows_it_and_exits_0_once_it_completed(
    wordcab_admin, agent, celery_worker_thread, quick_calls
):
    run = wordcab_admin(
        "call", "+14155551234", "--agent", "agent_abc", "--record", "--wait", "--output", "json"
    )
    assert run.code == ExitCode.OK, run.err
    call = json.loads(run.out)
    assert (call["status"], call["record"], call["recording_url"]) == (
        "completed",
        True,
        f"/v1/calls/{call['id']}/recording",
    )
    prefix = f"{call['id']}: "
    changes = [line.removeprefix(prefix) for line in run.err.splitlines() if line.startswith(prefix)]
    assert changes[0] in ("initiating", "ringing", "in_progress")
    assert changes[-1] == "completed"


def test_call_with_wait_exits_1_when_the_call_fails(wordcab_admin, agent, celery_worker_thread, quick_calls):
    run = wordcab_admin("call", "+14155550170", "-a", "agent_abc", "--set", "name=Jane", "--wait")
    assert run.code == ExitCode.UNSUCCESSFUL
    printed = fields_of(run.out)
    assert (printed["status"], printed["context"]) == ("failed", '{"name":"Jane"}')
    assert json.loads(printed["error"])["code"] == "carrier_rejected"


def test_calls_list_prints_csv_json_and_a_table(wordcab_admin):
    calls = [CallFactory(status=CallStatus.COMPLETED, to_number=f"+1415555012{i}") for i in range(3)]
    CallFactory(status=CallStatus.FAILED)

    as_csv = wordcab_admin("calls", "list", "--status", "completed", "--output", "csv")
    assert as_csv.code == ExitCode.OK
    rows = list(csv.DictReader(io.StringIO(as_csv.out)))
    assert [(r["id"], r["status"], r["phone_number"]) for r in rows] == [
        (c.public_id, "completed", c.to_number) for c in reversed(calls)
    ]

    as_json = wordcab_admin("calls", "list", "--status", "completed", "--limit", "2", "--output", "json")
    assert [c["id"] for c in json.loads(as_json.out)] == [c.public_id for c in reversed(calls)][:2]

    as_table = wordcab_admin("calls", "list")
    header, *lines = as_table.out.splitlines()
    assert header.split()[:3] == ["ID", "CREATED_AT", "DIRECTION"]
    assert len(lines) == 4


def test_campaign_upload_with_start_then_watch_runs_a_campaign_to_its_end(
    wordcab_admin, agent, dispatch_beat, quick_calls, tmp_path: Path
):
    contacts = tmp_path / "contacts.csv"
    contacts.write_text("name,phone\nJane,+14155550123\nOmar,+14155550124\nMei,+14155550170\nBad,12\n")
    run = wordcab_admin(
        "campaign", "upload", str(contacts), "--agent", "agent_abc", "--max-attempts", "1",
        "--calls-per-minute", "600", "--start",
    )  # fmt: skip
    assert run.code == ExitCode.OK, run.err
    campaign = Campaign.objects.get()
    assert f"{campaign.public_id}: 4 rows, 3 accepted, 1 rejected" in run.err
    assert "row 5: invalid_number" in run.err
    assert f"{campaign.public_id}: started" in run.err
    assert campaign.public_id in run.out
    assert "running" in run.out

    watched = wordcab_admin("campaign", "watch", campaign.public_id, "--interval", "0.3", "--timeout", "90")
    assert watched.code == ExitCode.OK, watched.err
    prefix = f"{campaign.public_id}: "
    assert [line for line in watched.err.splitlines() if line.startswith(prefix)][-1] == f"{prefix}completed"
    header, line = watched.out.splitlines()
    summary = dict(zip(header.lower().split(), line.split(), strict=True))
    assert (summary["id"], summary["status"]) == (campaign.public_id, "completed")
    counts = {
        state: summary[state] for state in ("total", "pending", "calling", "completed", "failed", "skipped")
    }
    assert counts == {
        "total": "4",
        "pending": "0",
        "calling": "0",
        "completed": "2",
        "failed": "1",
        "skipped": "1",
    }


def test_watching_a_cancelled_campaign_exits_1_and_a_watch_that_runs_out_exits_9(wordcab_admin):
    cancelled = CampaignFactory(status=CampaignStatus.CANCELLED)
    draft = CampaignFactory()
    assert wordcab_admin("campaign", "watch", cancelled.public_id).code == ExitCode.UNSUCCESSFUL
    run = wordcab_admin("campaign", "watch", draft.public_id, "--interval", "0.2", "--timeout", "0.5")
    assert run.code == ExitCode.TIMEOUT
    assert "Gave up after 0.5 s" in run.err


def test_campaign_controls_print_the_new_status_and_a_move_not_allowed_exits_6(wordcab_admin, agent):
    campaign = CampaignFactory(agent=agent)
    assert wordcab_admin("campaign", "start", campaign.public_id).out == f"{campaign.public_id}: running\n"
    assert wordcab_admin("campaign", "pause", campaign.public_id).out == f"{campaign.public_id}: paused\n"
    run = wordcab_admin("campaign", "pause", campaign.public_id)
    assert run.code == ExitCode.CONFLICT
    assert "409 invalid_state" in run.err


def test_recording_download_writes_the_wav(wordcab_admin, agent, celery_worker_thread, quick_calls, tmp_path):
    placed = json.loads(
        wordcab_admin("call", "+14155550123", "-a", "agent_abc", "--record", "--wait", "-O", "json").out
    )
    target = tmp_path / "call.wav"
    run = wordcab_admin("recording", "download", placed["id"], "-o", str(target))
    assert run.code == ExitCode.OK
    assert f"Saved {target.stat().st_size} bytes to {target}" in run.err
    with wave.open(str(target), "rb") as wav:
        assert wav.getframerate() == 8000


# --- exit codes ---------------------------------------------------------------------------------------------


def test_a_call_that_does_not_exist_exits_3(wordcab_admin):
    run = wordcab_admin("calls", "get", "call_nope")
    assert run.code == ExitCode.NOT_FOUND == 3
    assert run.err.startswith("Error: 404 call_not_found: No call call_nope. (request ")


def test_input_the_server_refuses_exits_4_compliance_refusals_included(wordcab_admin, agent):
    assert wordcab_admin("call", "555-0123", "--agent", "agent_abc").code == ExitCode.INVALID == 4
    DoNotCallFactory(number="+14155550123")
    run = wordcab_admin("call", "+14155550123", "--agent", "agent_abc")
    assert run.code == ExitCode.INVALID
    assert "422 do_not_call" in run.err


def test_no_key_a_wrong_key_or_a_key_not_allowed_exits_5(wordcab_admin, agent, key_of, bob, monkeypatch):
    assert wordcab_admin("--api-key", key_of(bob), "call", "+14155550123", "-a", "agent_abc").code == 5
    assert wordcab_admin("--api-key", "wck_wrong", "calls", "list").code == ExitCode.AUTH
    monkeypatch.delenv("WORDCAB_API_KEY")
    run = wordcab_admin("calls", "list")
    assert run.code == ExitCode.AUTH
    assert "No API key: pass --api-key or set WORDCAB_API_KEY." in run.err


def test_a_rate_limit_exits_7_a_server_error_or_no_server_8_and_a_wrong_command_line_2(wordcab_admin):
    limited = {"error": {"code": "too_many_failures", "message": "Try again later.", "field": None}}
    with scripted_server(Answer(429, limited, {"Retry-After": "900"})) as server:
        assert wordcab_admin("--base-url", server.url, "calls", "list").code == ExitCode.RATE_LIMITED == 7
    with scripted_server(Answer(500, {"error": {"code": "server_error", "message": "Oops."}})) as server:
        failing = wordcab_admin("--base-url", server.url, "--max-retries", "0", "calls", "list")
    assert failing.code == ExitCode.SERVER == 8
    nothing = wordcab_admin("--base-url", unused_port_url(), "--max-retries", "0", "calls", "list")
    assert nothing.code == ExitCode.SERVER
    assert "connection_error" in nothing.err
    assert wordcab_admin("calls", "list", "--no-such-option").code == ExitCode.USAGE == 2


def test_the_installed_console_script_exits_with_the_documented_code(live_asgi_url, key_of, alice):
    script = Path(sys.executable).with_name("wordcab-admin")
    environment = {**os.environ, "WORDCAB_BASE_URL": live_asgi_url, "WORDCAB_API_KEY": key_of(alice)}
    result = subprocess.run(
        [str(script), "calls", "get", "call_nope"],
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == ExitCode.NOT_FOUND
    assert "404 call_not_found" in result.stderr
