"""Settings in Chromium: API keys created (shown once), used and revoked; an admin adds a user."""

import pytest
from playwright.sync_api import expect
from rest_framework.test import APIClient

from tests.e2e.conftest import screenshot

pytestmark = pytest.mark.browser


def test_an_api_key_is_created_shown_once_works_and_is_revoked_in_the_browser(
    signed_in_page, live_asgi_url, bob
):
    page = signed_in_page(bob)
    page.get_by_role("link", name="Settings", exact=True).click()
    expect(page.get_by_text("No API keys yet.")).to_be_visible()
    page.get_by_label("Key name").fill("reporting")
    page.get_by_role("button", name="Create API key").click()

    raw = page.locator("#new-key").inner_text().strip()
    assert raw.startswith("wck_")
    screenshot(page, "settings-new-api-key")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert client.get("/v1/me").json()["username"] == "bob"

    page.reload()
    expect(page.locator("#new-key")).to_have_count(0)  # shown once
    row = page.get_by_role("row").filter(has_text="reporting")
    expect(row).to_contain_text(raw[:12])
    expect(row).to_contain_text("active")
    questions = []
    page.once("dialog", lambda dialog: (questions.append(dialog.message), dialog.dismiss()))
    row.get_by_role("button", name="Revoke").click()
    assert questions == [
        f"Revoke the API key “reporting” ({raw[:12]}…)? Every program using it stops working at once."
    ]
    assert client.get("/v1/me").status_code == 200  # cancelled: the key still works

    page.once("dialog", lambda dialog: dialog.accept())
    row.get_by_role("button", name="Revoke").click()
    expect(page.get_by_role("status")).to_contain_text("revoked")
    expect(page.get_by_role("row").filter(has_text="reporting")).to_contain_text("revoked")
    assert client.get("/v1/me").status_code == 401


def test_an_admin_adds_a_colleague_with_a_role(signed_in_page, live_asgi_url, ada):
    page = signed_in_page(ada)
    page.goto(f"{live_asgi_url}/settings/")
    page.get_by_role("button", name="Users and roles").click()
    page.get_by_label("Username").fill("erin")
    page.get_by_label("Role", exact=True).select_option("compliance")
    page.get_by_role("button", name="Add user").click()
    password = page.locator("#new-password").inner_text().strip()
    expect(page.get_by_role("row").filter(has_text="erin")).to_contain_text("compliance")
    screenshot(page, "settings-users")

    page.get_by_role("button", name="Sign out").click()
    page.get_by_label("Username").fill("erin")
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_text("erin · compliance")).to_be_visible()
