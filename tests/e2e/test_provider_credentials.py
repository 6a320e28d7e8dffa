"""Settings → Telephony providers in Chromium: an admin stores Twilio's auth token, sees it once, and after a
reload only masked; the page reads at phone width (390 px) without sideways scrolling."""

import pytest
from playwright.sync_api import expect

from telephony.credentials import credential, credentials_cache_clear
from telephony.models import ProviderCredential
from tests.e2e.conftest import screenshot

pytestmark = pytest.mark.browser

TOKEN = "9d8c7b6a5f4e3d2c1b0a99887766tok1"  # noqa: S105 -- a made-up Twilio auth token
OVERFLOW = "() => document.documentElement.scrollWidth"


@pytest.fixture(autouse=True)
def fresh_cache():
    """The live server shares this process's copy of the stored rows: start and end without it."""
    credentials_cache_clear()
    yield
    credentials_cache_clear()


def test_an_admin_stores_a_twilio_auth_token_sees_it_once_then_masked(
    signed_in_page, live_asgi_url, ada, settings
):
    settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN = "", ""
    page = signed_in_page(ada)
    page.goto(f"{live_asgi_url}/settings/")
    page.get_by_role("button", name="Telephony providers").click()
    twilio = page.locator("#provider-twilio")
    expect(page.locator("#provider-twilio-status")).to_have_text("Missing: Account SID, Auth token")
    expect(twilio).to_contain_text("/v1/twilio/status")

    page.get_by_label("Twilio Auth token", exact=True).fill(TOKEN)
    page.get_by_role("button", name="Save Twilio Auth token").click()
    expect(page.locator("#new-credential")).to_have_text(TOKEN)  # shown once
    expect(page.get_by_role("status")).to_contain_text("Twilio Auth token saved")
    row = page.locator("#credential-twilio-auth_token")
    expect(row).to_contain_text("••••tok1")
    screenshot(page, "provider-credentials-saved")

    page.reload()
    expect(page.locator("#new-credential")).to_have_count(0)
    expect(row).to_contain_text("••••tok1")
    expect(row).to_contain_text("stored here, encrypted")
    assert TOKEN not in page.content()
    expect(page.locator("#provider-twilio-status")).to_have_text("Missing: Account SID")
    assert TOKEN not in ProviderCredential.objects.get(provider="twilio", key="auth_token").encrypted_value
    assert credential("twilio", "auth_token") == TOKEN

    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    assert page.evaluate(OVERFLOW) <= 390, "the providers page scrolls sideways at 390 px"
    expect(page.get_by_label("Twilio Auth token", exact=True)).to_be_visible()
    screenshot(page, "provider-credentials-phone")
