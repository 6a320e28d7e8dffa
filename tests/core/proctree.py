"""Find every process a command started (its whole tree), and tell later whether any is still alive.

Used by tests/core/test_run.py and .ci/run (`python3 tests/core/proctree.py watch PID OUT` records the tree of PID
until PID exits; `python3 tests/core/proctree.py alive OUT` lists what is left, exit 1 if anything).
Processes are keyed by (pid, start time), so a recycled pid is not mistaken for a survivor."""

import json
import os
import sys
import time
from pathlib import Path


def _stat(pid: int) -> tuple[int, int, int] | None:
    """(ppid, session id, start time) of pid, or None when it is gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = raw.rsplit(")", 1)[1].split()  # after "pid (comm)"
    state, ppid, _pgrp, session = fields[0], int(fields[1]), int(fields[2]), int(fields[3])
    if state == "Z":
        return None  # a zombie has exited; its parent has just not reaped it yet
    return ppid, session, int(fields[19])


def _command(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return ""


def tree(root: int) -> dict[tuple[int, int], str]:
    """The processes below root (root included), keyed by (pid, start time), with their command lines."""
    stats = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (stat := _stat(int(entry))) is not None:
            stats[int(entry)] = stat
    children: dict[int, list[int]] = {}
    for pid, (ppid, _session, _start) in stats.items():
        children.setdefault(ppid, []).append(pid)
    found, todo = {}, [root]
    while todo:
        pid = todo.pop()
        if pid in stats:
            found[(pid, stats[pid][2])] = _command(pid)
            todo.extend(children.get(pid, []))
    return found


def alive(known: dict[tuple[int, int], str]) -> dict[tuple[int, int], str]:
    """Which of the known processes still run (same pid and same start time)."""
    left = {}
    for (pid, start), command in known.items():
        stat = _stat(pid)
        if stat is not None and stat[2] == start:
            left[(pid, start)] = command
    return left


def watch(root: int, out: Path, interval: float = 0.2) -> None:
    """Record root's tree (cumulatively) until root exits, rewriting `out` as it grows."""
    seen: dict[tuple[int, int], str] = {}
    while _stat(root) is not None:
        seen.update(tree(root))
        out.write_text(json.dumps([[pid, start, cmd] for (pid, start), cmd in seen.items()]))
        time.sleep(interval)


def main(argv: list[str]) -> int:
    if argv[:1] == ["watch"]:
        watch(int(argv[1]), Path(argv[2]))
        return 0
    if argv[:1] == ["alive"]:
        known = {(pid, start): cmd for pid, start, cmd in json.loads(Path(argv[1]).read_text())}
        left = alive(known)
        for (pid, _start), command in left.items():
            print(f"still running: {pid} {command}")
        print(f"{len(known)} processes were started, {len(left)} still run")
        return 1 if left else 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
