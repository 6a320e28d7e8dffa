"""`make bench [BENCH=name]`: run each tests/bench/bench_<name>.py in a process of its own.

Each module measures our code and its reference in the same run and prints, per target, one line:
`BENCH <name> ours=<value> reference=<value> ratio=<value> target=<value> PASS|MISS`.
The exit code is non-zero when a module fails to run; a MISS is reported, not fatal."""

import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main(argv: list[str]) -> int:
    wanted = argv[0] if argv else ""
    modules = sorted(HERE.glob("bench_*.py"))
    if wanted:
        modules = [m for m in modules if wanted in m.stem.removeprefix("bench_")]
    if not modules:
        print(
            f"no benchmark matches {wanted!r}; have: {', '.join(m.stem for m in sorted(HERE.glob('bench_*.py')))}"
        )
        return 2
    env = {
        **os.environ,
        "PYTHONPATH": str(HERE.parent.parent),
        "DJANGO_SETTINGS_MODULE": "wordcab_admin.settings",
    }
    failures = 0
    for module in modules:
        print(f"== {module.stem}", flush=True)
        failures += subprocess.run([sys.executable, str(module)], env=env, check=False).returncode != 0
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
