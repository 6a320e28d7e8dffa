"""The first sign-in with a one-time password, and the sign-in lockout, in a real Chromium against the real
ASGI server (axes' middleware and ours on their async paths)."""

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import PASSWORD, screenshot
from wordcab_admin.kernel.accounts import password_change_required, user_create
from wordcab_admin.kernel.roles import Role

pytestmark = pytest.mark.browser

NEW_PASSWORD = "a brand new long passphrase"


def submit_sign_in(page, base_url: str, username: str, password: str) -> None:
    page.goto(f"{base_url}/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def test_the_first_sign_in_with_a_one_time_password_leads_to_the_password_change(live_asgi_url, browser_page):
    user, one_time = user_create(username="erin", role=Role.OPERATOR)
    page = browser_page
    submit_sign_in(page, live_asgi_url, "erin", one_time)

    expect(page).to_have_url(f"{live_asgi_url}/settings/password/")
    expect(page.get_by_role("status").filter(has_text="one-time password")).to_be_visible()
    screenshot(page, "first-sign-in-password-change")
    for elsewhere in ["/", "/agents/", "/settings/"]:
        page.goto(f"{live_asgi_url}{elsewhere}")
        expect(page).to_have_url(f"{live_asgi_url}/settings/password/")

    page.get_by_label("Current password").fill(one_time)
    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("New password again").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Change password").click()

    expect(page).to_have_url(f"{live_asgi_url}/settings/")
    expect(page.get_by_text("Your password was changed.")).to_be_visible()
    assert not password_change_required(user)
    page.goto(f"{live_asgi_url}/agents/")
    expect(page).to_have_url(f"{live_asgi_url}/agents/")
    expect(page.get_by_role("heading", name="Agents", level=1)).to_be_visible()


def test_a_locked_out_user_reads_why_on_the_sign_in_page(live_asgi_url, browser_page, alice):
    page = browser_page
    for _ in range(10):
        submit_sign_in(page, live_asgi_url, "alice", "not her password")
    submit_sign_in(page, live_asgi_url, "alice", PASSWORD)

    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("Too many failed sign-ins")
    expect(alert).to_contain_text("15 minutes")
    expect(page.get_by_label("Username")).to_have_value("alice")
    assert "/login/" in page.url
    screenshot(page, "login-locked-out")
    page.goto(f"{live_asgi_url}/")
    expect(page).to_have_url(f"{live_asgi_url}/login/?next=/")  # not signed in


def test_an_admin_issues_a_one_time_password_and_deactivates_on_the_users_page(
    live_asgi_url, signed_in_page, ada, alice
):
    page = signed_in_page(ada)
    page.goto(f"{live_asgi_url}/settings/users/")
    page.on("dialog", lambda dialog: dialog.accept())  # each of these actions asks first
    page.get_by_role("button", name="Issue a one-time password to alice").click()
    expect(page.get_by_text("alice's new one-time password")).to_be_visible()
    issued = page.locator("#new-password").inner_text().strip()
    assert len(issued) >= 12

    page.get_by_role("button", name="Deactivate alice").click()
    expect(page.get_by_role("status").filter(has_text="alice is deactivated")).to_be_visible()
    expect(page.get_by_role("button", name="Reactivate alice")).to_be_visible()
    screenshot(page, "users-deactivated")
    alice.refresh_from_db()
    assert not alice.is_active
    assert alice.check_password(issued)
