"""Every page sends a Content-Security-Policy (django-csp) that its markup satisfies: no inline script, no
inline style, no on*= handler, no javascript: URL; only our own vendored scripts and styles.

tests/e2e/test_csp.py loads the same pages in Chromium and watches for violations."""

from html.parser import HTMLParser

import pytest
from asgiref.sync import async_to_sync
from django.test import AsyncClient

from agents.links import number_readable
from agents.models import Agent, PhoneNumber
from calls.models import CallStatus
from campaigns.models import Campaign, CampaignStatus, ContactStatus, SkipReason
from compliance.models import ConsentOpener
from recordings.models import Recording, RecordingStatus
from tests.factories import AgentFactory, CallFactory, CampaignFactory, ContactFactory, PhoneNumberFactory

pytestmark = pytest.mark.django_db

EXPECTED_DIRECTIVES = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data:",
    "media-src": "'self'",
    "object-src": "'none'",
    "frame-ancestors": "'none'",
    "form-action": "'self'",
    "base-uri": "'none'",
}


def directives(header: str) -> dict[str, str]:
    parts = (part.strip().split(None, 1) for part in header.split(";") if part.strip())
    return {part[0]: part[1] if len(part) > 1 else "" for part in parts}


class InlineCode(HTMLParser):
    """Collects what a policy without 'unsafe-inline' refuses."""

    def __init__(self):
        super().__init__()
        self.found: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "script":
            data = (attrs.get("type") or "").lower() in {"application/json", "text/template"}
            if "src" not in attrs and not data:
                self.found.append(f"inline <script> {attrs}")
        if tag == "style":
            self.found.append("a <style> element")
        for name, value in attrs.items():
            if name.startswith("on") or name.startswith(("hx-on", "data-hx-on")):
                self.found.append(f"<{tag} {name}=…>")
            if name == "style":
                self.found.append(f"<{tag} style={value!r}>")
            if name in {"href", "src", "action", "formaction"} and (value or "").strip().lower().startswith(
                "javascript:"
            ):
                self.found.append(f"<{tag} {name}={value!r}>")


def inline_code(html: str) -> list[str]:
    parser = InlineCode()
    parser.feed(html)
    return parser.found


def one_of_everything(agent) -> dict:
    """One of each thing the main pages show, so that every page renders its full markup (a disabled
    agent, an unassigned number, a running campaign, a call with a stored recording, a consent opener)."""
    number = PhoneNumberFactory(agent=agent)
    PhoneNumberFactory()  # an unassigned one too
    AgentFactory(name="Disabled bot", is_active=False)
    campaign = Campaign.objects.create(name="Reminders", agent=agent, status=CampaignStatus.RUNNING)
    call = CallFactory(agent=agent, campaign=campaign, status=CallStatus.COMPLETED)
    CallFactory(agent=agent, status=CallStatus.IN_PROGRESS)
    Recording.objects.create(
        call=call,
        status=RecordingStatus.STORED,
        peaks=[10, 60, 30],
        size_bytes=3200,
        duration_seconds=0.2,
        sha256="0" * 64,
    )
    ConsentOpener.objects.create(
        jurisdiction="US-CA", language="en-US", text="This call is recorded.", audio=b"\xff"
    )
    # A draft made from a file: its forecast, validation report and contacts table.
    draft = CampaignFactory(agent=agent, validation={"rows": 2, "accepted": 1, "rejected": 1})
    ContactFactory(campaign=draft)
    ContactFactory(campaign=draft, status=ContactStatus.SKIPPED, skip_reason=SkipReason.DUPLICATE)
    return {"agent": agent, "number": number, "campaign": campaign, "call": call, "draft": draft}


@pytest.fixture
def everything(agent) -> dict:
    return one_of_everything(agent)


def main_pages(everything: dict) -> list[str]:
    agent, number = everything["agent"], everything["number"]
    disabled = Agent.objects.get(name="Disabled bot")
    return [
        "/",
        "/agents/",
        f"/agents/{agent.public_id}/",
        f"/agents/{disabled.public_id}/",
        "/numbers/",
        f"/numbers/{number.public_id}/",
        f"/numbers/{PhoneNumber.objects.filter(agent=None).get().public_id}/",
        "/calls/",
        f"/calls/{everything['call'].public_id}/",
        "/campaigns/",
        f"/campaigns/{everything['campaign'].public_id}/",
        f"/campaigns/{everything['draft'].public_id}/",
        "/campaigns/new",
        "/compliance/",
        "/compliance/openers/",
        "/audit/",
        "/settings/",
        "/settings/users/",
        "/settings/password/",
    ]


def test_every_main_page_sends_the_policy_and_has_no_inline_script_style_or_handler(client, ada, everything):
    client.force_login(ada)
    pages = {}
    for url in main_pages(everything):
        response = client.get(url)
        pages[url] = response.content.decode()
        assert response.status_code == 200, url
        policy = directives(response["Content-Security-Policy"])
        assert {name: policy.get(name) for name in EXPECTED_DIRECTIVES} == EXPECTED_DIRECTIVES, url
        assert policy["connect-src"].split() == ["'self'", "ws://127.0.0.1:8000"], url
        html = response.content.decode()
        assert inline_code(html) == [], url
        assert "<script" in html, url  # the page's scripts are there, and all of them vendored
        assert '<meta name="htmx-config" content=\'{"includeIndicatorStyles":false}\'>' in html, url
    # What used to be inline is on these pages, now without it.
    call, number = everything["call"], everything["number"]
    assert "data-player" in pages[f"/calls/{call.public_id}/"]
    assert (
        f'data-confirm="Release {number_readable(number.number)}?' in pages[f"/numbers/{number.public_id}/"]
    )
    assert "<rect data-agent-bar" in pages["/"]
    assert any('class="flash-error flash-banner"' in html for html in pages.values())


def test_the_partials_htmx_and_live_js_swap_in_have_no_inline_code_either(client, ada, everything):
    client.force_login(ada)
    call, campaign = everything["call"], everything["campaign"]
    for url in (
        "/dashboard/board",
        f"/calls/{call.public_id}/partial",
        f"/calls/{call.public_id}/row",
        f"/campaigns/{campaign.public_id}/board",
        "/agents/?q=Reminder",
        "/numbers/?q=415",
    ):
        response = client.get(url, HTTP_HX_REQUEST="true")
        assert response.status_code == 200, url
        assert inline_code(response.content.decode()) == [], url


def test_the_sign_in_page_and_the_error_pages_send_the_policy_too(client):
    for url, status in (("/login/", 200), ("/no-such-page/", 404)):
        response = client.get(url)
        assert response.status_code == status
        assert directives(response["Content-Security-Policy"])["script-src"] == "'self'"
        assert inline_code(response.content.decode()) == []


def test_the_policy_is_sent_through_the_async_chain(ada):
    client = AsyncClient()
    client.force_login(ada)
    response = async_to_sync(client.get)("/")
    assert response.status_code == 200
    assert directives(response["Content-Security-Policy"])["default-src"] == "'self'"


def test_the_vendored_scripts_and_styles_are_served_from_our_own_origin(client):
    html = client.get("/login/").content.decode()
    for asset in (
        "/static/vendor/htmx/htmx.min.js",
        "/static/js/app.js",
        "/static/vendor/pico/pico.min.css",
        "/static/css/app.css",
    ):
        assert f'"{asset}"' in html
        assert client.get(asset).status_code == 200, asset
