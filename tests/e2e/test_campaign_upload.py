"""A campaign made from a CSV in a real Chromium: the file dropped on the page shows its header and the guessed
phone column, the upload shows its progress and the rows validated, the campaign's page its validation
counts, and Start starts it."""

import threading

import pytest
from playwright.sync_api import expect

from campaigns import views
from campaigns.models import Campaign, CampaignStatus, Contact
from tests.e2e.conftest import screenshot

pytestmark = pytest.mark.browser

CONTACTS_CSV = (
    "First Name;Mobile Phone;Plan\n"  # Salesforce-style headers, semicolons as Excel writes them in Europe
    "Jane;+14155550123;gold\n"
    "Omar;not a number;silver\n"
    "Mei;(415) 555-0131;bronze\n"
)
DROP_A_FILE = """(text) => {
  const transfer = new DataTransfer();
  transfer.items.add(new File([text], "spring-reminders.csv", { type: "text/csv" }));
  return transfer;
}"""


@pytest.fixture
def validation_held(monkeypatch) -> threading.Event:
    """The server's last report of the rows read (3, this file's) waits, before the page gets its answer, until
    the test has seen that report on the page and sets the event: without it the answer to so small a file
    would come before the page had polled its progress once."""
    seen = threading.Event()
    recorder = views.progress_recorder

    def held_recorder(request, token):
        record = recorder(request, token)

        def record_then_wait(rows: int) -> None:
            record(rows)
            if rows == len(CONTACTS_CSV.splitlines()) - 1:
                seen.wait(timeout=15)

        return record_then_wait

    monkeypatch.setattr(views, "progress_recorder", held_recorder)
    return seen


def test_an_operator_drops_a_csv_sees_its_header_uploads_it_and_starts_the_campaign(
    live_asgi_url, signed_in_page, alice, agent, validation_held
):
    page = signed_in_page(alice)
    page.goto(f"{live_asgi_url}/campaigns/new")

    transfer = page.evaluate_handle(DROP_A_FILE, CONTACTS_CSV)
    page.dispatch_event("[data-dropzone]", "drop", {"dataTransfer": transfer})
    preview = page.locator("#csv-preview")
    expect(preview).to_be_visible()
    expect(preview.locator("thead th")).to_have_text(["First Name", "Mobile Phone", "Plan"])
    expect(preview.locator("tbody tr")).to_have_count(3)
    expect(page.get_by_label("Phone column")).to_have_value("Mobile Phone")  # the guess, preselected
    expect(preview.locator("th.phone-column")).to_have_text("Mobile Phone")
    expect(page.locator('input[name="name"]')).to_have_value("spring-reminders")  # named after the file
    page.locator('input[name="max_attempts"]').fill("2")
    screenshot(page, "campaign-new-preview")

    page.get_by_role("button", name="Create campaign").click()
    expect(page.locator("[data-upload-percent]")).to_have_text("100 %")
    expect(page.locator("[data-validating]")).to_be_visible()
    expect(page.locator("[data-rows]")).to_have_text("3")  # every row read, as the server counted them
    screenshot(page, "campaign-new-validating")
    validation_held.set()  # the page has shown it: let the answer go

    campaign = Campaign.objects.get()
    page.wait_for_url(f"{live_asgi_url}/campaigns/{campaign.public_id}/")
    expect(page.get_by_role("heading", level=1)).to_have_text("spring-reminders")
    expect(page.locator('[data-validation="accepted"]')).to_have_text("2 accepted")
    expect(page.locator('[data-validation="rejected"]')).to_have_text("1 rejected")
    expect(page.locator("[data-campaign-status]")).to_have_text("Draft")
    expect(page.locator('[data-campaign-count="pending"]')).to_have_text("2")
    expect(page.locator("#forecast")).to_be_visible()
    assert (campaign.max_attempts, campaign.phone_column) == (2, "Mobile Phone")
    assert Contact.objects.filter(campaign=campaign).count() == 3
    screenshot(page, "campaign-draft")

    page.locator('[data-control="start"]').click()
    expect(page.locator("[data-campaign-status]")).to_have_text("Running")
    expect(page.locator('[data-control="pause"]')).to_be_visible()
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.RUNNING
    screenshot(page, "campaign-running")


def test_a_file_that_cannot_be_read_is_said_so_before_anything_is_uploaded(
    live_asgi_url, signed_in_page, alice, agent
):
    page = signed_in_page(alice)
    page.goto(f"{live_asgi_url}/campaigns/new")
    page.locator('input[type="file"]').set_input_files(
        files=[{"name": "empty.csv", "mimeType": "text/csv", "buffer": b""}]
    )
    expect(page.locator('[data-error-for="file"]')).to_be_visible()
    expect(page.locator("#csv-preview")).to_be_hidden()
    assert not Campaign.objects.exists()
