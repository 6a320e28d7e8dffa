"""Take docs/dashboard.png from a running Wordcab Admin (the README's picture).

    make run   # in another terminal; note the admin's one-time password
    .venv/bin/python docs/screenshot.py http://127.0.0.1:8000 admin <password> [--demo]

--demo clicks the dashboard's "Start the demo" first and waits until calls are live, so the picture
shows a working wallboard. Uses Debian's /usr/bin/chromium (never a downloaded browser)."""

import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

HERE = Path(__file__).resolve().parent
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip


def main(argv: list[str]) -> int:
    if len(argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    base, username, password = argv[0].rstrip("/"), argv[1], argv[2]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 860})
        page.goto(f"{base}/login/")
        page.get_by_label("Username").fill(username)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(f"{base}/")
        if "--demo" in argv:
            page.get_by_role("button", name="Start the demo").click()
            page.wait_for_url(f"{base}/")
            page.wait_for_function(
                "document.querySelectorAll('#active-calls tr').length >= 3", timeout=60_000
            )
            page.wait_for_timeout(2500)  # let a few calls finish, so both tables have rows
        page.screenshot(path=str(HERE / "dashboard.png"), full_page=False)
        browser.close()
    print(f"saved {HERE / 'dashboard.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
