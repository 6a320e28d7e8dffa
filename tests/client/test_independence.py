"""The client is usable by anyone who installs the project: it needs no Django settings, no database and
none of the server's apps (import-linter's contract in pyproject.toml checks its imports; this checks what
a fresh interpreter actually loads)."""

import json
import subprocess
import sys

SERVER_PACKAGES = {
    "agents",
    "calls",
    "campaigns",
    "compliance",
    "recordings",
    "telephony",
    "live",
    "rest_framework",
}
PROBE = """
import json, os, sys
os.environ.pop("DJANGO_SETTINGS_MODULE", None)
import wordcab_admin.client, wordcab_admin.client.cli
from django.conf import settings
print(json.dumps({"modules": sorted(sys.modules), "settings_configured": settings.configured}))
"""


def test_importing_the_client_and_its_command_line_loads_no_app_no_settings_and_no_server_module():
    result = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=60, check=True
    )
    loaded = json.loads(result.stdout)
    modules = set(loaded["modules"])
    assert not {m for m in modules if m.split(".")[0] in SERVER_PACKAGES}
    assert not {m for m in modules if m.startswith(("wordcab_admin.settings", "wordcab_admin.kernel"))}
    assert "httpx" in modules
    assert loaded["settings_configured"] is False
