"""Phone width (issue #18, item 10), in a real Chromium at 390 px: no page overflows sideways, no list needs
sideways scrolling (its table becomes cards), and every item of the menu is reachable, by touch and by
keyboard. Each page's screenshot is written to the test's tmp dir (and artifacts/)."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from calls.models import CallStatus, EndReason
from tests.core.test_csp import one_of_everything
from tests.e2e.conftest import screenshot
from tests.factories import AgentFactory, CallFactory
from wordcab_admin.kernel.audit import audit_record

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
PAGES = ["/", "/calls/", "/numbers/", "/audit/", "/campaigns/"]
# Layout rules, measured in the page: the document no wider than the screen, and no list wider than its box.
OVERFLOW = "() => document.documentElement.scrollWidth"
WIDE_LISTS = """() => Array.from(document.querySelectorAll('.table-wrap'))
    .filter(box => box.offsetParent !== null && box.scrollWidth > box.clientWidth + 1)
    .map(box => (box.querySelector('table') || box).id || box.innerText.slice(0, 40))"""
NAV_LINKS = "nav.mainnav a"


@pytest.fixture
def busy_floor(ada, agent):
    """A floor with something on every page: calls of each outcome, a campaign, numbers, audit events."""
    everything = one_of_everything(agent)
    now = timezone.now()
    long_name = AgentFactory(name="Appointment reminders for the north-east region")
    for status, reason in [(CallStatus.NO_ANSWER, EndReason.BUSY), (CallStatus.FAILED, EndReason.ERROR)]:
        CallFactory(
            agent=long_name,
            status=status,
            end_reason=reason,
            error_code="carrier_rejected" if status == CallStatus.FAILED else "",
            ended_at=now,
            context={"customer_name": "Jane Doe", "order": "A-10023"},
        )
    CallFactory(agent=long_name, status=CallStatus.RINGING)
    CallFactory(
        agent=agent, status=CallStatus.COMPLETED, answered_at=now - timedelta(seconds=75), ended_at=now
    )
    number = everything["number"]
    audit_record(
        actor=ada,
        action="number.assigned",
        object_type="number",
        object_id=number.public_id,
        before={"agent_id": None},
        after={"agent_id": agent.public_id, "number": number.number},
    )
    return everything


def test_no_page_overflows_or_scrolls_sideways_at_phone_width(
    live_asgi_url, browser, ada, busy_floor, tmp_path
):
    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    from tests.e2e.conftest import sign_in

    sign_in(page, live_asgi_url, ada)
    for path in PAGES:
        page.goto(f"{live_asgi_url}{path}")
        page.wait_for_load_state("networkidle")
        name = path.strip("/") or "dashboard"
        page.screenshot(path=str(tmp_path / f"phone-{name}.png"), full_page=True)
        screenshot(page, f"phone-{name}")
        assert page.evaluate(OVERFLOW) <= PHONE["width"], path
        assert page.evaluate(WIDE_LISTS) == [], path
        # a list's rows are cards, each cell led by its column's name
        first_cell = page.locator(".table-wrap > table:not(.details) > tbody > tr > td").first
        if first_cell.count():
            assert first_cell.evaluate("td => getComputedStyle(td).display") == "block", path
            assert first_cell.get_attribute("data-label"), path
    context.close()


def test_every_menu_item_is_reachable_at_phone_width_by_touch_and_by_keyboard(
    live_asgi_url, browser, ada, tmp_path
):
    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    from tests.e2e.conftest import sign_in

    sign_in(page, live_asgi_url, ada)
    page.goto(f"{live_asgi_url}/calls/")
    links = page.locator(NAV_LINKS)
    hrefs = links.evaluate_all("links => links.map(a => a.getAttribute('href'))")
    assert len(hrefs) == 11  # an admin's menu: every section, analytics and webhooks included
    expect(links.first).to_be_hidden()  # folded behind ☰
    page.locator("label.nav-toggle-label").click()
    for i in range(len(hrefs)):
        link = links.nth(i)
        expect(link).to_be_visible()
        box = link.bounding_box()
        assert box["x"] >= 0
        assert box["x"] + box["width"] <= PHONE["width"]
    page.screenshot(path=str(tmp_path / "phone-menu-open.png"), full_page=True)
    screenshot(page, "phone-menu-open")
    assert page.evaluate(OVERFLOW) <= PHONE["width"]

    page.reload()  # folded again; now with the keyboard only
    focused = []
    for _ in range(40):
        page.keyboard.press("Tab")
        target = page.evaluate(
            "() => { const el = document.activeElement;"
            " return el.id || (el.closest('nav.mainnav') ? el.getAttribute('href') : null); }"
        )
        if target == "nav-toggle":
            page.keyboard.press("Space")
            continue
        if target in hrefs:
            focused.append(target)
        if len(focused) == len(hrefs):
            break
    assert focused == hrefs
    page.keyboard.press("Enter")  # the last item, Settings, opens
    page.wait_for_url(f"{live_asgi_url}/settings/")
    context.close()
