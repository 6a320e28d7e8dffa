"""Checking a contact list's phone numbers in batches, the way agents.phone.normalize_e164 checks one, here
or in a helper process that works beside the import.

Why a helper process: phonenumbers costs about 20 µs a number, as much as everything else an imported row
costs (reading it, its context, its insert), so a large file is checked in a second process while this one
reads and inserts (`make bench BENCH=campaign_import`). `NumberChecks` hands a batch to the helper while it
has room and checks it here otherwise, so that both processes stay busy whatever their speeds; the verdicts
come back in the order the batches went. A helper that cannot start or dies only makes the import slower:
its batches are checked here again.

This module imports nothing of Django nor of the apps: the helper runs it alone (`python -c`, the
project's root as its working directory), reading batches on stdin and answering on stdout, each message a
4-byte length and UTF-8 text of NUL-separated items (a CSV cell holds no NUL: the reader refuses binary
files)."""

from __future__ import annotations

import contextlib
import functools
import queue
import struct
import subprocess
import sys
import threading
from collections import deque
from concurrent.futures import Future
from pathlib import Path
from typing import IO

import phonenumbers

# Keep phonenumbers' compiled metadata patterns rather than go through the re module's cache for each of
# the ~16 lookups a number costs (a fifth faster). Public API of the phonenumbers installed here, absent from
# older ones (tests/campaigns/test_number_checks.py says so if an upgrade drops it).
if hasattr(phonenumbers, "enable_pattern_cache"):
    phonenumbers.enable_pattern_cache()

MAX_LENGTH = 64  # as agents.phone.normalize_e164: a longer cell is not a number
INVALID = "no such number exists in its country's numbering plan"
# (E.164, its region) for a valid number, ("", why) for an invalid one: why completes "… is not a valid
# phone number: <why>", as agents.phone.InvalidPhoneNumber words it.
Verdict = tuple[str, str]
# A batch takes the helper well under a second; one it has not answered after this is checked here.
HELPER_PATIENCE_SECONDS = 60
_LENGTH = struct.Struct("!I")
_SEPARATOR, _FIELD = "\0", "\t"
ROOT = Path(__file__).resolve().parent.parent  # where `campaigns` is importable from


def number_verdict(raw: str, region: str) -> Verdict:
    """What agents.phone.normalize_e164(raw, region=region) decides, with the number's region.

    phonenumbers.is_valid_number(n) is is_valid_number_for_region(n, region_code_for_number(n)). For a
    country code shared by several regions (+1: the US, Canada and the Caribbean), region_code_for_number
    tries each region in turn and, for one without leading digits (the US, Canada), returns it only once
    the number has passed that region's full validation: checking it again would cost a quarter of the
    whole. So the second check runs only for a country code of one region or a region chosen by its leading
    digits. tests/campaigns/test_number_checks.py pins the verdicts to normalize_e164's."""
    text = raw.strip()
    if not text:
        return "", "it is empty"
    if len(text) > MAX_LENGTH:
        return "", "it is too long"
    try:
        parsed = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as exc:
        reason = str(exc.args[0]).rstrip(".") if exc.args else "unreadable"
        return "", reason[:1].lower() + reason[1:]
    number_region = phonenumbers.region_code_for_number(parsed)
    if number_region is None:
        return "", INVALID
    if _validated_by_region_lookup(parsed.country_code, number_region):
        valid = True
    else:
        valid = phonenumbers.is_valid_number_for_region(parsed, number_region)
    if not valid:
        return "", INVALID
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164), number_region


@functools.cache
def _validated_by_region_lookup(country_code: int, region: str) -> bool:
    """Whether region_code_for_number answers `region` for a number of `country_code` only after validating
    the number against it: the code is shared, and the region is not told by leading digits."""
    if len(phonenumbers.region_codes_for_country_code(country_code)) < 2:
        return False
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
    return metadata is not None and metadata.leading_digits is None


def number_verdicts(numbers: list[str], region: str) -> list[Verdict]:
    return [number_verdict(raw, region) for raw in numbers]


# The helper process --------------------------------------------------------------------------------------


def _message_write(stream: IO[bytes], items: list[str]) -> None:
    body = _SEPARATOR.join(items).encode("utf-8", "surrogatepass")
    stream.write(_LENGTH.pack(len(body)) + body)
    stream.flush()


def _message_read(stream: IO[bytes]) -> list[str] | None:
    """The next message's items, or None at the end of the stream."""
    head = stream.read(_LENGTH.size)
    if len(head) < _LENGTH.size:
        return None
    (size,) = _LENGTH.unpack(head)
    body = stream.read(size)
    if len(body) < size:
        return None
    return body.decode("utf-8", "surrogatepass").split(_SEPARATOR)


def helper_serve(region: str, requests: IO[bytes], answers: IO[bytes]) -> None:
    """The helper's loop: a batch of numbers in, their verdicts out, until its input ends."""
    while (numbers := _message_read(requests)) is not None:
        _message_write(
            answers, [f"{e164}{_FIELD}{detail}" for e164, detail in number_verdicts(numbers, region)]
        )


HELPER_CODE = (
    "import sys; from campaigns.number_checks import helper_serve;"
    " helper_serve(sys.argv[1], sys.stdin.buffer, sys.stdout.buffer)"
)


class HelperGone(RuntimeError):
    """The checking process died or stalled: its batches are checked in the main process instead."""


class _Helper:
    """The helper process, with a thread that writes its batches (a write never blocks the import) and one
    that reads its answers (it never blocks on a full pipe) into futures, in order."""

    def __init__(self, region: str) -> None:
        self.process = subprocess.Popen(  # noqa: S603 -- our own interpreter running our own module
            [sys.executable, "-c", HELPER_CODE, region],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            cwd=ROOT,
        )
        self.waiting: deque[Future] = deque()
        self.ended = False  # the helper answers no more: its reader has failed what was waiting
        self.lock = threading.Lock()
        self.outbox: queue.SimpleQueue[list[str] | None] = queue.SimpleQueue()
        self.threads = [
            threading.Thread(target=self._write_all, name="number-checks-writer", daemon=True),
            threading.Thread(target=self._read_all, name="number-checks-reader", daemon=True),
        ]
        for thread in self.threads:
            thread.start()

    def submit(self, numbers: list[str]) -> Future:
        future: Future = Future()
        with self.lock:
            if self.ended:
                future.set_exception(HelperGone("the number-check helper has ended"))
                return future
            self.waiting.append(future)
        self.outbox.put(numbers)
        return future

    def in_flight(self) -> int:
        return len(self.waiting)

    def _write_all(self) -> None:
        stdin = self.process.stdin
        try:
            while (numbers := self.outbox.get()) is not None:
                _message_write(stdin, numbers)
        except OSError:
            pass  # the helper is gone: the reader fails what it did not answer
        finally:
            with contextlib.suppress(OSError):
                stdin.close()  # the helper's input ends: it exits

    def _read_all(self) -> None:
        stdout = self.process.stdout
        try:
            while (items := _message_read(stdout)) is not None:
                with self.lock:
                    future = self.waiting.popleft()
                future.set_result([tuple(item.split(_FIELD, 1)) for item in items])
        finally:  # the helper's end, or an answer this thread could not read: what waits is checked here
            with self.lock:
                self.ended = True
                waiting, self.waiting = list(self.waiting), deque()
            for future in waiting:
                future.set_exception(HelperGone("the number-check helper ended before answering"))

    def close(self) -> None:
        self.outbox.put(None)
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        for thread in self.threads:
            thread.join(timeout=5)
        self.process.stdout.close()


class PendingVerdicts:
    """A batch's verdicts: checked here already, or awaited from the helper (and checked here after all if
    the helper died first)."""

    def __init__(self, numbers: list[str], region: str, *, awaited: Future | None = None) -> None:
        self.numbers, self.region, self.awaited = numbers, region, awaited
        self.checked = number_verdicts(numbers, region) if awaited is None else None

    def done(self) -> bool:
        return self.awaited is None or self.awaited.done()

    def verdicts(self) -> list[Verdict]:
        if self.checked is None:
            try:
                self.checked = self.awaited.result(timeout=HELPER_PATIENCE_SECONDS)
            except (HelperGone, TimeoutError):
                self.checked = number_verdicts(self.numbers, self.region)
        return self.checked


class NumberChecks:
    """Batches of numbers checked in the order they are submitted: by the helper process while fewer than
    `depth` of its batches wait, here otherwise."""

    def __init__(self, region: str, *, helper: bool, depth: int = 4) -> None:
        self.region, self.depth = region, depth
        self.helper: _Helper | None = None
        if helper:
            try:
                self.helper = _Helper(region)
            except OSError:  # no interpreter to start (an embedded Python): everything is checked here
                self.helper = None

    def submit(self, numbers: list[str]) -> PendingVerdicts:
        if self.helper is not None and not self.helper.ended and self.helper.in_flight() < self.depth:
            return PendingVerdicts(numbers, self.region, awaited=self.helper.submit(numbers))
        return PendingVerdicts(numbers, self.region)

    def close(self) -> None:
        if self.helper is not None:
            self.helper.close()
            self.helper = None

    def __enter__(self) -> NumberChecks:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
