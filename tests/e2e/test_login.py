"""The login page in a real Chromium against the real ASGI server."""

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import PASSWORD, screenshot

pytestmark = pytest.mark.browser


def test_a_wrong_password_shows_a_readable_error_and_stays_on_the_login_page(
    live_asgi_url, browser_page, alice
):
    page = browser_page
    page.goto(f"{live_asgi_url}/login/")
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill("not her password")
    page.get_by_role("button", name="Sign in").click()

    expect(page.get_by_role("alert")).to_contain_text("did not match")
    assert "/login/" in page.url
    expect(page.get_by_label("Username")).to_have_value("alice")  # kept, so only the password is retyped
    screenshot(page, "login-wrong-password")


def test_the_right_password_lands_on_the_dashboard_with_the_navigation(live_asgi_url, browser_page, alice):
    page = browser_page
    page.goto(f"{live_asgi_url}/")  # signed out: sent to the login page first
    expect(page).to_have_url(f"{live_asgi_url}/login/?next=/")
    screenshot(page, "login")
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()

    expect(page).to_have_url(f"{live_asgi_url}/")
    expect(page.get_by_role("heading", name="Dashboard", level=1)).to_be_visible()
    nav = page.get_by_role("navigation", name="Main")
    for section in [
        "Dashboard",
        "Agents",
        "Numbers",
        "Calls",
        "Campaigns",
        "Compliance",
        "Settings",
    ]:
        expect(nav.get_by_role("link", name=section, exact=True)).to_be_visible()
    # The audit log and the do-not-call list are for compliance officers and admins: not an operator's links.
    for section in ["Audit", "Do not call"]:
        expect(nav.get_by_role("link", name=section, exact=True)).to_have_count(0)
    expect(page.get_by_text("operator")).to_be_visible()
    # The vendored stylesheets are served by the app itself (no CDN) and applied.
    assert page.evaluate("getComputedStyle(document.querySelector('.topbar')).display") == "flex"
    assert "system-ui" in page.evaluate("getComputedStyle(document.body).fontFamily")  # Pico's font stack
    screenshot(page, "dashboard-after-login")


def test_signing_out_returns_to_the_login_page(live_asgi_url, browser_page, alice):
    from tests.e2e.conftest import sign_in

    page = browser_page
    sign_in(page, live_asgi_url, alice)
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(f"{live_asgi_url}/login/")
    page.goto(f"{live_asgi_url}/settings/")
    expect(page).to_have_url(f"{live_asgi_url}/login/?next=/settings/")


def test_the_navigation_folds_into_a_menu_on_a_phone(live_asgi_url, browser_page, alice):
    from tests.e2e.conftest import sign_in

    page = browser_page
    sign_in(page, live_asgi_url, alice)
    menu = page.locator(".nav-toggle-label")
    calls_link = page.get_by_role("navigation", name="Main").get_by_role("link", name="Calls", exact=True)
    expect(menu).to_be_hidden()  # a laptop shows the links themselves
    expect(calls_link).to_be_visible()

    page.set_viewport_size({"width": 390, "height": 844})
    expect(menu).to_be_visible()
    expect(calls_link).to_be_hidden()
    menu.click()
    expect(calls_link).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # no sideways scrolling
    screenshot(page, "dashboard-phone-menu")
    calls_link.click()
    expect(page).to_have_url(f"{live_asgi_url}/calls/")
