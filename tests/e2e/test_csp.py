"""The Content-Security-Policy in a real Chromium: every main page loads without one violation (no inline
script, style or handler left, htmx's injected indicator style turned off), the wallboard's socket to its
own host still connects, and what moved out of the markup (the release confirmation) still works."""

import pytest
from playwright.sync_api import expect

from agents.links import number_readable
from agents.models import PhoneNumber
from tests.core.test_csp import main_pages, one_of_everything
from tests.e2e.conftest import screenshot
from tests.helpers import wait_for

pytestmark = pytest.mark.browser

# Polled with page.evaluate (the DevTools protocol, outside the page's policy): `page.wait_for_function`
# evaluates its predicate with the page's eval, which the policy refuses ('unsafe-eval' is not allowed).
LIVE = "!!(window.wordcabLive && window.wordcabLive.connected() && window.wordcabLive.synced())"

# Runs before any script of the page (CDP, not subject to the page's policy): keeps every violation.
RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", function (event) {
  window.__cspViolations.push(event.violatedDirective + " blocked " + (event.blockedURI || "inline") +
    " at " + (event.sourceFile || "") + ":" + event.lineNumber);
});
"""


class Watch:
    """What the browser reported: CSP violations (events and console), script errors, failed requests."""

    def __init__(self, page):
        self.page, self.console, self.errors = page, [], []
        page.add_init_script(RECORD_VIOLATIONS)
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.errors.append(str(error)))

    def _console(self, message):
        text = message.text
        if "Content Security Policy" in text or "Refused to" in text:
            self.console.append(text)

    def violations(self) -> list[str]:
        return self.page.evaluate("window.__cspViolations || []") + self.console


def test_every_main_page_loads_without_a_policy_violation_and_the_wallboard_goes_live(
    live_asgi_url, signed_in_page, ada, agent
):
    everything = one_of_everything(agent)
    page = signed_in_page(ada)
    watch = Watch(page)
    for url in main_pages(everything):
        response = page.goto(f"{live_asgi_url}{url}")
        assert response.status == 200, url
        assert "script-src 'self'" in response.headers["content-security-policy"], url
        page.wait_for_load_state("load")
        if url == "/":
            # /ws/calls on our own host: allowed by 'self' alone (the policy's ws:// origin is PUBLIC_BASE_URL's,
            # another port than this live server's).
            expect(page.locator("[data-live-status]")).to_have_text("Live")
            wait_for(lambda: page.evaluate(LIVE), what="the wallboard's socket to be open and synced")
        stylesheets = page.evaluate("Array.from(document.styleSheets).map(s => s.href)")
        assert all(href and href.startswith(f"{live_asgi_url}/static/") for href in stylesheets), (
            url,
            stylesheets,
        )
        assert watch.violations() == [], url
    assert watch.errors == []

    # htmx at work under the policy: the live search swaps rows in, with no violation.
    page.goto(f"{live_asgi_url}/agents/")
    page.get_by_label("Search agents").fill("Disabled")
    expect(page.locator("#agent-rows")).not_to_contain_text("Reminder bot")
    expect(page.locator("#agent-rows")).to_contain_text("Disabled bot")
    assert watch.violations() == []
    screenshot(page, "csp-agents-search")

    # The watch does see a violation when there is one: an inline script added now is refused.
    page.evaluate(
        "() => { const s = document.createElement('script'); s.textContent = 'window.__ran = 1';"
        " document.head.appendChild(s); }"
    )
    wait_for(lambda: page.evaluate("window.__cspViolations.length > 0"), what="the violation to be reported")
    assert page.evaluate("window.__ran") is None
    assert any("script-src" in violation for violation in watch.violations())


def test_the_live_indicator_connects_with_only_self_in_connect_src(
    live_asgi_url, signed_in_page, ada, settings
):
    directives = dict(settings.CONTENT_SECURITY_POLICY["DIRECTIVES"], **{"connect-src": ["'self'"]})
    settings.CONTENT_SECURITY_POLICY = {"DIRECTIVES": directives}
    page = signed_in_page(ada)
    watch = Watch(page)
    response = page.goto(f"{live_asgi_url}/")
    policy = dict(d.strip().split(" ", 1) for d in response.headers["content-security-policy"].split(";"))
    assert policy["connect-src"] == "'self'"  # the directives come in no fixed order
    expect(page.locator("[data-live-status]")).to_have_text("Live")
    wait_for(lambda: page.evaluate(LIVE), what="the wallboard's socket to be open and synced")
    assert watch.violations() == []


def test_releasing_a_number_still_asks_first(live_asgi_url, signed_in_page, alice, agent):
    number = one_of_everything(agent)["number"]
    page = signed_in_page(alice)
    watch = Watch(page)
    page.goto(f"{live_asgi_url}/numbers/{number.public_id}/")
    asked = []

    def dismiss(dialog):
        asked.append(dialog.message)
        dialog.dismiss()

    page.once("dialog", dismiss)
    page.get_by_role("button", name="Release number").click()
    expect(page.get_by_role("button", name="Release number")).to_be_visible()
    readable = number_readable(number.number)
    assert asked == [f"Release {readable}? It leaves the inventory, and {agent.name} loses it."]
    assert page.url == f"{live_asgi_url}/numbers/{number.public_id}/"
    assert PhoneNumber.objects.filter(pk=number.pk).exists()

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Release number").click()
    page.wait_for_url(f"{live_asgi_url}/numbers/")
    expect(page.locator(".flash")).to_contain_text(f"{readable} released; {agent.name} lost it.")
    assert not PhoneNumber.objects.filter(pk=number.pk).exists()
    assert watch.violations() == []
