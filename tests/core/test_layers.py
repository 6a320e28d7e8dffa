"""The layered order of the apps (pyproject.toml's import-linter contract, docs/architecture.md)."""

import pkgutil
import subprocess
import sys
import tomllib
from pathlib import Path

import wordcab_admin

ROOT = Path(__file__).resolve().parents[2]


def layers() -> list[str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    (contract,) = [c for c in config["contracts"] if c["type"] == "layers"]
    return contract["layers"]


def test_every_module_of_wordcab_admin_is_either_kernel_or_site_wiring_so_the_linter_sees_it():
    site_wiring = {name.strip() for name in layers()[0].split(":")}
    assert layers()[-1] == "wordcab_admin.kernel"
    top_level = {f"wordcab_admin.{m.name}" for m in pkgutil.iter_modules(wordcab_admin.__path__)}
    unlisted = top_level - site_wiring - {"wordcab_admin.kernel", "wordcab_admin.migrations"}
    assert not unlisted, (
        f"add these to the site-wiring layer in pyproject.toml (or move them to the kernel): {unlisted}"
    )


def test_the_apps_stand_in_the_documented_order():
    assert layers()[1:] == [
        "live",
        "telephony",
        "analytics",
        "webhooks",
        "campaigns",
        "transcripts",
        "recordings",
        "calls",
        "compliance",
        "agents",
        "wordcab_admin.kernel",
    ]
    assert "live → site wiring" in (ROOT / "docs" / "architecture.md").read_text()


def test_no_app_imports_one_above_it():
    linter = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run(
        [str(linter), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout[-3000:]
    contracts = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]
    assert f"{len(contracts)} kept, 0 broken" in result.stdout  # the layers, and the client's independence
