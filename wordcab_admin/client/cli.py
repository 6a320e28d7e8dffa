"""`wordcab-admin`: the common jobs from a shell, through the Python client.

    wordcab-admin call +14155551234 --agent agent_abc --record --wait
    wordcab-admin calls list --status completed --output csv
    wordcab-admin campaign upload contacts.csv --agent agent_abc --start
    wordcab-admin campaign watch camp_…
    wordcab-admin recording download call_… -o call.wav

The server and key come from `--base-url` / `--api-key` or `WORDCAB_BASE_URL` / `WORDCAB_API_KEY`. Data goes
to standard output; progress, status changes and errors to standard error. Exit codes (`EXIT_CODES`):
0 done; 1 done, but the outcome was not a success (a call that failed or was not answered, a cancelled
campaign); 2 wrong usage; 3 not found; 4 input refused (400, 413, 422, compliance refusals included);
5 no key, or the key may not do this (401, 403); 6 conflict (409); 7 rate limited (429); 8 server error
or no server (5xx, connection); 9 timed out."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Sequence
from enum import IntEnum
from pathlib import Path
from typing import Any

import click

from wordcab_admin.client import _output as out
from wordcab_admin.client._client import VERSION, Client
from wordcab_admin.client._http import DEFAULT_BASE_URL, DEFAULT_MAX_RETRIES, DEFAULT_TIMEOUT
from wordcab_admin.client.errors import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    AuthenticationError,
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
    ValidationError,
    WaitTimeoutError,
)
from wordcab_admin.client.models import Call, Campaign


class ExitCode(IntEnum):
    OK = 0
    UNSUCCESSFUL = 1  # the job ran to its end, and the end was not a success
    USAGE = 2  # click's own code for a wrong command line
    NOT_FOUND = 3
    INVALID = 4
    AUTH = 5
    CONFLICT = 6
    RATE_LIMITED = 7
    SERVER = 8
    TIMEOUT = 9


EXIT_CODES: list[tuple[type[APIError], ExitCode]] = [  # first match wins: subclasses before their bases
    (WaitTimeoutError, ExitCode.TIMEOUT),
    (APITimeoutError, ExitCode.TIMEOUT),
    (APIConnectionError, ExitCode.SERVER),
    (ServerError, ExitCode.SERVER),
    (NotFoundError, ExitCode.NOT_FOUND),
    (ValidationError, ExitCode.INVALID),
    (AuthenticationError, ExitCode.AUTH),
    (PermissionDeniedError, ExitCode.AUTH),
    (ConflictError, ExitCode.CONFLICT),
    (RateLimitError, ExitCode.RATE_LIMITED),
]
EPILOG = (
    "Exit codes: 0 done; 1 done but not a success (a call failed or went unanswered, a campaign was "
    "cancelled); 2 usage; 3 not found; 4 input refused (incl. compliance refusals); 5 no key or not "
    "allowed; 6 conflict; 7 rate limited; 8 server error or unreachable; 9 timed out."
)
OUTPUT = click.option(
    "--output", "-O", type=click.Choice(out.FORMATS), default="table", show_default=True,
    help="table for people; json or csv for other programs.",
)  # fmt: skip
OBJECT_OUTPUT = click.option(
    "--output", "-O", type=click.Choice(["table", "json"]), default="table", show_default=True
)


def exit_code_for(error: APIError) -> ExitCode:
    for kind, code in EXIT_CODES:
        if isinstance(error, kind):
            return code
    return ExitCode.INVALID if error.status is not None and error.status < 500 else ExitCode.SERVER


class MissingKey(click.ClickException):
    exit_code = ExitCode.AUTH


def client_of(ctx: click.Context) -> Client:
    """The client of this run, made on first use from the global options."""
    options = ctx.find_root().obj
    if "client" not in options:
        if not options["api_key"]:
            raise MissingKey("No API key: pass --api-key or set WORDCAB_API_KEY.")
        options["client"] = Client(
            base_url=options["base_url"], api_key=options["api_key"], timeout=options["timeout"],
            max_retries=options["max_retries"],
        )  # fmt: skip
        ctx.find_root().call_on_close(options["client"].close)
    return options["client"]


def note(message: str) -> None:
    click.echo(message, err=True)


@click.group(epilog=EPILOG, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--base-url", envvar="WORDCAB_BASE_URL", default=DEFAULT_BASE_URL, show_default=True,
              help="The server (env WORDCAB_BASE_URL).")  # fmt: skip
@click.option("--api-key", envvar="WORDCAB_API_KEY", help="An API key (env WORDCAB_API_KEY).")
@click.option("--timeout", type=click.FloatRange(min=0.1), default=DEFAULT_TIMEOUT, show_default=True,
              help="Seconds to wait for each answer.")  # fmt: skip
@click.option("--max-retries", type=click.IntRange(min=0), default=DEFAULT_MAX_RETRIES, show_default=True,
              help="Retries of a request that may safely be repeated.")  # fmt: skip
@click.version_option(VERSION, prog_name="wordcab-admin")
@click.pass_context
def cli(ctx: click.Context, base_url: str, api_key: str | None, timeout: float, max_retries: int) -> None:
    """Wordcab Admin from the command line: place calls, list them, run campaigns, fetch recordings."""
    ctx.obj = {"base_url": base_url, "api_key": api_key, "timeout": timeout, "max_retries": max_retries}


# --- calls --------------------------------------------------------------------------------------------------


def _context(raw_json: str | None, pairs: Sequence[str]) -> dict[str, Any] | None:
    context: dict[str, Any] = {}
    if raw_json:
        try:
            context = json.loads(raw_json)
        except ValueError as exc:
            raise click.BadParameter(f"not JSON: {exc}", param_hint="--context") from None
        if not isinstance(context, dict):
            raise click.BadParameter("must be a JSON object", param_hint="--context")
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{pair!r}: expected key=value", param_hint="--set")
        context[key] = value
    return context or None


def _status_changes(label: str) -> Callable[[Call], None]:
    seen: list[str] = []

    def show(call: Call) -> None:
        if not seen or seen[-1] != call.status:
            seen.append(call.status)
            note(f"{label}: {call.status}")

    return show


@cli.command(epilog=EPILOG)
@click.argument("phone_number")
@click.option("--agent", "-a", "agent_id", required=True, help="The agent that calls (agent_…).")
@click.option(
    "--context", "context_json", help='The call\'s context as a JSON object, e.g. \'{"name": "Jane"}\'.'
)
@click.option(
    "--set", "-s", "pairs", multiple=True, metavar="KEY=VALUE", help="One context entry (repeatable)."
)
@click.option("--max-duration", type=click.IntRange(1, 14_400), help="Seconds (default: the agent's).")
@click.option("--record/--no-record", default=None, help="Record the call (default: the agent's setting).")
@click.option("--idempotency-key", help="Send it again with the same key: the same call, never a second.")
@click.option("--wait", is_flag=True, help="Wait for the call to end, and a recorded one's recording to be "
              "stored (exit 1 unless it completed).")  # fmt: skip
@click.option("--wait-timeout", type=float, default=300, show_default=True, help="Seconds --wait waits.")
@OBJECT_OUTPUT
@click.pass_context
def call(
    ctx: click.Context, phone_number: str, agent_id: str, context_json: str | None, pairs: tuple[str, ...],
    max_duration: int | None, record: bool | None, idempotency_key: str | None, wait: bool,
    wait_timeout: float, output: str,
) -> ExitCode:  # fmt: skip
    """Place a call to PHONE_NUMBER (E.164, e.g. +14155551234)."""
    client = client_of(ctx)
    placed = client.agents.calls.create(
        agent_id=agent_id, phone_number=phone_number, context=_context(context_json, pairs),
        max_duration=max_duration, record=record, idempotency_key=idempotency_key,
    )  # fmt: skip
    if not wait:
        click.echo(out.render_object(placed, output))
        return ExitCode.OK
    ended = client.calls.wait_for(
        placed.id, timeout=wait_timeout, recording=bool(placed.record), on_update=_status_changes(placed.id)
    )
    click.echo(out.render_object(ended, output))
    return ExitCode.OK if ended.status == "completed" else ExitCode.UNSUCCESSFUL


@cli.group(epilog=EPILOG)
def calls() -> None:
    """List calls, read one, hang one up."""


@calls.command("list", epilog=EPILOG)
@click.option("--status", "statuses", multiple=True, help="initiating, ringing, in_progress, completed, failed, "
              "no_answer (repeatable, or comma-separated).")  # fmt: skip
@click.option("--agent", "agent_id", help="Only this agent's calls.")
@click.option("--campaign", "campaign_id", help="Only this campaign's calls.")
@click.option("--direction", type=click.Choice(["outbound", "inbound"]))
@click.option("--limit", type=click.IntRange(min=0), default=50, show_default=True, help="At most this many "
              "calls, newest first (0: all of them).")  # fmt: skip
@OUTPUT
@click.pass_context
def calls_list(
    ctx: click.Context, statuses: tuple[str, ...], agent_id: str | None, campaign_id: str | None,
    direction: str | None, limit: int, output: str,
) -> ExitCode:  # fmt: skip
    """List calls, newest first."""
    wanted = [s.strip() for status in statuses for s in status.split(",") if s.strip()] or None
    found = client_of(ctx).calls.list(
        status=wanted, agent_id=agent_id, campaign_id=campaign_id, direction=direction,
        limit=min(limit, 500) or 500,
    )  # fmt: skip
    items = found.first(limit) if limit else list(found)
    click.echo(out.render_rows(items, out.CALL_COLUMNS, output))
    return ExitCode.OK


@calls.command("get", epilog=EPILOG)
@click.argument("call_id")
@OBJECT_OUTPUT
@click.pass_context
def calls_get(ctx: click.Context, call_id: str, output: str) -> ExitCode:
    """Show one call."""
    click.echo(out.render_object(client_of(ctx).calls.get(call_id), output))
    return ExitCode.OK


@calls.command("hangup", epilog=EPILOG)
@click.argument("call_id")
@OBJECT_OUTPUT
@click.pass_context
def calls_hangup(ctx: click.Context, call_id: str, output: str) -> ExitCode:
    """Hang up a live call (exit 6 if it has ended already)."""
    click.echo(out.render_object(client_of(ctx).calls.hangup(call_id), output))
    return ExitCode.OK


# --- recordings ---------------------------------------------------------------------------------------------


@cli.group(epilog=EPILOG)
def recording() -> None:
    """Fetch a call's recording."""


@recording.command("download", epilog=EPILOG)
@click.argument("call_id")
@click.option("--output-file", "-o", "destination", type=click.Path(dir_okay=False, allow_dash=True),
              help="Where to write the WAV (default: CALL_ID.wav; - for standard output).")  # fmt: skip
@click.pass_context
def recording_download(ctx: click.Context, call_id: str, destination: str | None) -> ExitCode:
    """Download CALL_ID's recording (a WAV file), with a progress bar."""
    client = client_of(ctx)
    target = destination or f"{call_id}.wav"
    with out.Progress("Downloading", unit_bytes=True) as progress:
        if target == "-":
            size = client.calls.download_recording_to(call_id, sys.stdout.buffer, on_progress=progress.update)
        else:
            size = client.calls.download_recording_to(call_id, target, on_progress=progress.update)
    if target != "-":
        note(f"Saved {size} bytes to {target}")
    return ExitCode.OK


# --- campaigns ----------------------------------------------------------------------------------------------


@cli.group(epilog=EPILOG)
def campaign() -> None:
    """Upload, start, pause, resume, cancel and watch outbound campaigns."""


@campaign.command("upload", epilog=EPILOG)
@click.argument("csv_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--agent", "-a", "agent_id", required=True, help="The agent that calls (agent_…).")
@click.option("--name", help="The campaign's name (default: the file's name).")
@click.option("--phone-column", help="The column of numbers (default: the first named like phone or number).")
@click.option("--start-at", help="Not before this instant (ISO 8601, e.g. 2026-06-17T09:00:00Z).")
@click.option("--end-at", help="No call starts after this instant (ISO 8601).")
@click.option("--max-concurrent-calls", type=click.IntRange(1, 1000), help="Live calls at most (default 5).")
@click.option("--calls-per-minute", type=click.IntRange(1, 6000), help="Pacing (default 30).")
@click.option("--max-attempts", type=click.IntRange(1, 10), help="Attempts per contact (default 3).")
@click.option("--retry-delay", "retry_delay_seconds", type=click.IntRange(0, 604_800),
              help="Seconds between attempts (default 1800).")  # fmt: skip
@click.option(
    "--retry-outcomes", help="Outcomes that retry, comma-separated (default no_answer,busy; '' none)."
)
@click.option("--record/--no-record", default=None, help="Record the calls (default: the agent's setting).")
@click.option(
    "--max-duration", type=click.IntRange(1, 14_400), help="Seconds per call (default: the agent's)."
)
@click.option("--window-start", help="Call only from this local time of the contact (HH:MM) ...")
@click.option("--window-end", help="... until this one (HH:MM).")
@click.option("--start", "start_now", is_flag=True, help="Start the campaign once it is uploaded.")
@click.option("--watch", is_flag=True, help="Then follow it with a progress bar until it ends.")
@OBJECT_OUTPUT
@click.pass_context
def campaign_upload(ctx: click.Context, csv_file: Path, start_now: bool, watch: bool, output: str,
                    retry_outcomes: str | None, **settings: Any) -> ExitCode:  # fmt: skip
    """Create a campaign from CSV_FILE (a header row; a phone column; other columns become each call's
    context), print its validation report, and optionally start and watch it."""
    client = client_of(ctx)
    outcomes = None if retry_outcomes is None else [o.strip() for o in retry_outcomes.split(",") if o.strip()]
    with out.Progress("Uploading", unit_bytes=True) as progress:
        created = client.campaigns.create(
            csv_file, retry_outcomes=outcomes, on_progress=progress.update, **settings
        )
    _validation_report(created)
    if start_now:
        created = client.campaigns.start(created.id)
        note(f"{created.id}: started")
    click.echo(out.render_object(created, output) if output == "json" else _campaign_summary(created))
    if watch:
        return _watch(client, created.id, interval=2.0, timeout=None)
    return ExitCode.OK


def _validation_report(created: Campaign) -> None:
    report = created.validation
    note(f"{created.id}: {report.rows} rows, {report.accepted} accepted, {report.rejected} rejected")
    for error in (report.get("errors") or [])[:20]:
        note(f"  row {error['row']}: {error['code']}: {error['message']}")
    if report.rejected > 20:
        note(f"  … and {report.rejected - 20} more (the campaign's page lists every one)")


def _campaign_summary(item: Campaign) -> str:
    return out.render_rows([item], out.CAMPAIGN_COLUMNS, "table")


@campaign.command("list", epilog=EPILOG)
@click.option("--status", help="draft, running, paused, completed, cancelled (comma-separated).")
@click.option("--agent", "agent_id", help="Only this agent's campaigns.")
@click.option("--limit", type=click.IntRange(min=0), default=50, show_default=True, help="0: all.")
@OUTPUT
@click.pass_context
def campaign_list(
    ctx: click.Context, status: str | None, agent_id: str | None, limit: int, output: str
) -> ExitCode:
    """List campaigns, newest first, with their contacts' counts."""
    found = client_of(ctx).campaigns.list(status=status, agent_id=agent_id, limit=min(limit, 500) or 500)
    items = found.first(limit) if limit else list(found)
    click.echo(out.render_rows(items, out.CAMPAIGN_COLUMNS, output))
    return ExitCode.OK


@campaign.command("get", epilog=EPILOG)
@click.argument("campaign_id")
@OBJECT_OUTPUT
@click.pass_context
def campaign_get(ctx: click.Context, campaign_id: str, output: str) -> ExitCode:
    """Show one campaign."""
    click.echo(out.render_object(client_of(ctx).campaigns.get(campaign_id), output))
    return ExitCode.OK


def _control(verb: str, summary: str) -> None:
    @campaign.command(verb, epilog=EPILOG, help=f"{summary} (exit 6 when its status does not allow it).")
    @click.argument("campaign_id")
    @click.pass_context
    def move(ctx: click.Context, campaign_id: str) -> ExitCode:
        moved = getattr(client_of(ctx).campaigns, verb)(campaign_id)
        click.echo(f"{moved.id}: {moved.status}")
        return ExitCode.OK


_control("start", "Start a draft campaign")
_control("pause", "Pause a running campaign")
_control("resume", "Resume a paused campaign")
_control("cancel", "Cancel a campaign: its pending contacts are skipped")


@campaign.command("watch", epilog=EPILOG)
@click.argument("campaign_id")
@click.option(
    "--interval",
    type=click.FloatRange(min=0.2),
    default=2.0,
    show_default=True,
    help="Seconds between reads.",
)
@click.option("--timeout", "timeout", type=float, help="Give up after this many seconds (exit 9).")
@click.pass_context
def campaign_watch(ctx: click.Context, campaign_id: str, interval: float, timeout: float | None) -> ExitCode:
    """Follow a campaign with a progress bar until it is completed (exit 0) or cancelled (exit 1)."""
    return _watch(client_of(ctx), campaign_id, interval=interval, timeout=timeout)


def _watch(client: Client, campaign_id: str, *, interval: float, timeout: float | None) -> ExitCode:
    progress = out.Progress(f"{campaign_id}")
    last_status: list[str] = []

    def show(current: Campaign) -> None:
        counts = current.counts
        progress.update(counts.total - counts.pending - counts.calling, counts.total)
        if not last_status or last_status[-1] != current.status:
            last_status.append(current.status)
            note(f"{campaign_id}: {current.status}")

    with progress:
        finished = client.campaigns.wait_for(
            campaign_id, timeout=timeout, poll_interval=interval, on_update=show
        )
    click.echo(_campaign_summary(finished))
    return ExitCode.OK if finished.status == "completed" else ExitCode.UNSUCCESSFUL


# --- the entry point ----------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    """The console script: run the command line, answer its exit code (see EXIT_CODES)."""
    try:
        result = cli.main(args=list(argv) if argv is not None else None, prog_name="wordcab-admin",
                          standalone_mode=False)  # fmt: skip
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except click.Abort:
        note("Interrupted.")
        return 130
    except APIError as exc:
        request = f" (request {exc.request_id})" if exc.request_id else ""
        note(f"Error: {exc}{request}")
        return exit_code_for(exc)
    return int(result) if isinstance(result, int) else ExitCode.OK


if __name__ == "__main__":
    sys.exit(main())
