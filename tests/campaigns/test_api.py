"""/v1/campaigns: create from a multipart CSV plus settings, list, read, control, contacts and forecast
(docs/contract.md, docs/campaigns.md); who may do what; the error shape for every bad input."""

from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext

from calls.models import CallStatus
from campaigns.models import Campaign, CampaignStatus, Contact, ContactAttempt, ContactStatus, SkipReason
from tests.factories import (
    AgentFactory,
    CallFactory,
    CampaignFactory,
    ContactFactory,
    DoNotCallFactory,
    number_inside_calling_hours,
)

CONTACTS_CSV = (
    "name,phone,plan\n"
    "Jane Doe,+14155550123,gold\n"  # row 2: accepted
    "Omar Haddad,not a number,silver\n"  # row 3: invalid_number
    "Jane again,+14155550123,gold\n"  # row 4: duplicate of row 2
    "Mei Chen,(415) 555-0131,bronze\n"  # row 5: accepted, as people type numbers
)


def csv_file(text: str = CONTACTS_CSV, name: str = "spring.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, text.encode(), content_type="text/csv")


def create(client, **fields):
    body = {"name": "Spring reminders", "agent_id": "agent_abc", "file": csv_file(), **fields}
    return client.post("/v1/campaigns", {k: v for k, v in body.items() if v is not None}, format="multipart")


def error_of(response) -> tuple[int, str | None, str]:
    error = response.json()["error"]
    return response.status_code, error["field"], error["code"]


# --- create -------------------------------------------------------------------------------------------------


def test_an_operator_creates_a_draft_campaign_with_one_contact_per_row_and_its_validation(api, alice, agent):
    response = create(api(alice))
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["id"].startswith("camp_")
    assert (body["name"], body["agent_id"], body["status"]) == ("Spring reminders", "agent_abc", "draft")
    assert (body["file_name"], body["phone_column"], body["columns"]) == (
        "spring.csv",
        "phone",
        ["name", "phone", "plan"],
    )
    validation = body["validation"]
    assert (validation["rows"], validation["accepted"], validation["rejected"]) == (4, 2, 2)
    assert [(e["row"], e["field"], e["code"]) for e in validation["errors"]] == [
        (3, "phone", "invalid_number"),
        (4, "phone", "duplicate"),
    ]
    assert all(e["message"] for e in validation["errors"])
    assert body["counts"] == {
        "pending": 2, "calling": 0, "completed": 0, "failed": 0, "no_answer": 0, "skipped": 2, "total": 4,
    }  # fmt: skip
    assert body["calls"]["total"] == 0
    campaign = Campaign.objects.get(public_id=body["id"])
    assert campaign.created_by == alice
    jane = Contact.objects.get(campaign=campaign, row=2)
    assert (jane.phone_number, jane.context) == ("+14155550123", {"name": "Jane Doe", "plan": "gold"})
    assert body["created_at"].endswith("Z")
    assert body["started_at"] is None


def test_the_settings_are_read_from_the_form_fields(api, alice, agent):
    response = create(
        api(alice),
        start_at="2026-06-18T09:00:00Z",
        end_at="2026-06-20T18:00:00+02:00",
        max_concurrent_calls="2",
        calls_per_minute="12",
        max_attempts="4",
        retry_delay_seconds="600",
        retry_outcomes=["failed", "no_answer,voicemail"],  # repeated, and a comma list
        record="true",
        max_duration="300",
        window_start="09:30",
        window_end="17:00",
        phone_column="phone",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["start_at"], body["end_at"]) == ("2026-06-18T09:00:00Z", "2026-06-20T16:00:00Z")
    assert (body["max_concurrent_calls"], body["calls_per_minute"], body["max_attempts"]) == (2, 12, 4)
    assert (body["retry_delay_seconds"], body["retry_outcomes"]) == (
        600,
        ["no_answer", "failed", "voicemail"],
    )
    assert (body["record"], body["max_duration"]) == (True, 300)
    assert (body["window_start"], body["window_end"]) == ("09:30", "17:00")


def test_settings_left_out_take_their_defaults(api, alice, agent):
    body = create(api(alice)).json()
    assert (body["max_concurrent_calls"], body["calls_per_minute"], body["max_attempts"]) == (5, 30, 3)
    assert (body["retry_delay_seconds"], body["retry_outcomes"]) == (1800, ["no_answer", "busy"])
    assert (body["record"], body["max_duration"], body["window_start"], body["window_end"]) == (None,) * 4


def test_a_bad_setting_is_a_400_naming_its_field_and_creates_nothing(api, alice, agent):
    client = api(alice)
    cases = {
        "max_attempts": {"max_attempts": "0"},
        "calls_per_minute": {"calls_per_minute": "fast"},
        "max_concurrent_calls": {"max_concurrent_calls": "1001"},
        "retry_outcomes": {"retry_outcomes": "sometimes"},
        "window_end": {"window_start": "09:00"},
        "start_at": {"start_at": "tomorrow morning"},
        "record": {"record": "perhaps"},
    }
    for field, settings in cases.items():
        response = create(client, **settings)
        assert (response.status_code, response.json()["error"]["field"]) == (400, field), settings
    assert error_of(create(client, window_start="18:00", window_end="09:00")) == (
        400,
        "window_end",
        "invalid",
    )
    assert not Campaign.objects.exists()
    assert not Contact.objects.exists()


def test_a_missing_name_agent_or_file_is_a_400_naming_it(api, alice, agent):
    client = api(alice)
    for field in ("name", "agent_id", "file"):
        response = create(client, **{field: None})
        assert response.status_code == 400
        assert response.json()["error"]["field"] == field
    assert not Campaign.objects.exists()


def test_an_unknown_agent_in_the_body_is_a_400_unknown_agent(api, alice, agent):
    assert error_of(create(api(alice), agent_id="agent_nope")) == (400, "agent_id", "unknown_agent")


def test_a_disabled_agent_is_a_409(api, alice):
    AgentFactory(public_id="agent_off", is_active=False)
    assert error_of(create(api(alice), agent_id="agent_off")) == (409, "agent_id", "agent_disabled")


def test_an_unknown_field_is_a_400_naming_it(api, alice, agent):
    assert error_of(create(api(alice), max_calls="3")) == (400, "max_calls", "unknown_field")


def test_an_empty_or_binary_file_is_a_400_and_creates_nothing(api, alice, agent):
    client = api(alice)
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    for upload in (SimpleUploadedFile("empty.csv", b""), SimpleUploadedFile("photo.csv", png)):
        response = client.post(
            "/v1/campaigns", {"name": "Bad", "agent_id": "agent_abc", "file": upload}, format="multipart"
        )
        assert response.status_code == 400, upload.name
        assert response.json()["error"]["field"] == "file"
    assert not Campaign.objects.exists()
    assert not Contact.objects.exists()


def test_a_file_over_the_size_limit_is_a_413_and_creates_nothing(api, alice, agent, settings):
    settings.CAMPAIGN_CSV_MAX_BYTES = 20
    assert error_of(create(api(alice))) == (413, "file", "file_too_large")
    assert not Campaign.objects.exists()


def test_the_create_answer_lists_the_first_thousand_row_errors(api, alice, agent):
    text = "phone\n" + "nonsense\n" * 1005
    body = create(api(alice), file=csv_file(text)).json()
    assert (body["validation"]["rejected"], len(body["validation"]["errors"])) == (1005, 1000)
    assert body["validation"]["errors"][-1]["row"] == 1001


def test_creating_is_audited(api, alice, agent):
    from compliance.models import AuditEvent

    body = create(api(alice)).json()
    event = AuditEvent.objects.get(action="campaign.created")
    assert (event.object_id, event.actor_label) == (body["id"], "alice")


# --- who may ------------------------------------------------------------------------------------------------


def test_a_viewer_reads_campaigns_but_may_not_create_or_control_them(api, bob, agent):
    campaign = CampaignFactory(agent=agent)
    ContactFactory(campaign=campaign)
    client = api(bob)
    assert error_of(create(client)) == (403, None, "permission_denied")
    for verb in ("start", "pause", "resume", "cancel"):
        assert client.post(f"/v1/campaigns/{campaign.public_id}/{verb}").status_code == 403
    for path in (
        "",
        f"/{campaign.public_id}",
        f"/{campaign.public_id}/contacts",
        f"/{campaign.public_id}/forecast",
    ):
        assert client.get(f"/v1/campaigns{path}").status_code == 200, path
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.DRAFT
    assert Campaign.objects.count() == 1


def test_an_unknown_campaign_is_a_404_in_the_error_shape(api, bob):
    for path in ("", "/contacts", "/forecast"):
        assert error_of(api(bob).get(f"/v1/campaigns/camp_nope{path}")) == (404, "campaign_id", "not_found")


# --- control ------------------------------------------------------------------------------------------------


def test_start_pause_resume_and_cancel_move_the_campaign_and_a_move_its_status_forbids_is_a_409(api, alice):
    campaign = CampaignFactory()
    pending = ContactFactory(campaign=campaign)
    client = api(alice)
    url = f"/v1/campaigns/{campaign.public_id}"

    started = client.post(f"{url}/start")
    assert (started.status_code, started.json()["status"]) == (200, "running")
    assert started.json()["started_at"] is not None
    assert error_of(client.post(f"{url}/start")) == (409, "status", "invalid_state")
    assert error_of(client.post(f"{url}/resume")) == (409, "status", "invalid_state")
    assert client.post(f"{url}/pause").json()["status"] == "paused"
    assert client.post(f"{url}/resume").json()["status"] == "running"
    cancelled = client.post(f"{url}/cancel").json()
    assert (cancelled["status"], cancelled["counts"]["skipped"], cancelled["counts"]["pending"]) == (
        "cancelled",
        1,
        0,
    )
    assert cancelled["finished_at"] is not None
    pending.refresh_from_db()
    assert (pending.status, pending.skip_reason) == (ContactStatus.SKIPPED, SkipReason.CANCELLED)
    assert error_of(client.post(f"{url}/resume")) == (409, "status", "invalid_state")


# --- read ---------------------------------------------------------------------------------------------------


def test_the_campaign_object_counts_contacts_per_state_and_calls_per_status(api, bob):
    campaign = CampaignFactory(validation={"rows": 5, "accepted": 4, "rejected": 1})
    for status in (
        ContactStatus.PENDING,
        ContactStatus.PENDING,
        ContactStatus.CALLING,
        ContactStatus.COMPLETED,
    ):
        ContactFactory(campaign=campaign, status=status)
    ContactFactory(campaign=campaign, status=ContactStatus.SKIPPED, skip_reason=SkipReason.DUPLICATE)
    CallFactory(agent=campaign.agent, campaign=campaign, status=CallStatus.COMPLETED)
    CallFactory(agent=campaign.agent, campaign=campaign, status=CallStatus.RINGING)
    body = api(bob).get(f"/v1/campaigns/{campaign.public_id}").json()
    assert body["counts"] == {
        "pending": 2, "calling": 1, "completed": 1, "failed": 0, "no_answer": 0, "skipped": 1, "total": 5,
    }  # fmt: skip
    assert (body["calls"]["completed"], body["calls"]["ringing"], body["calls"]["total"]) == (1, 1, 2)
    assert body["validation"] == {"rows": 5, "accepted": 4, "rejected": 1}


def test_the_list_is_newest_first_paginated_and_filtered_by_status_and_agent(api, bob):
    other = AgentFactory(public_id="agent_other")
    oldest, middle = CampaignFactory(), CampaignFactory(agent=other)
    newest = CampaignFactory(status=CampaignStatus.RUNNING)
    client = api(bob)
    first = client.get("/v1/campaigns?limit=2").json()
    assert [c["id"] for c in first["results"]] == [newest.public_id, middle.public_id]
    second = client.get(first["next"]).json()
    assert [c["id"] for c in second["results"]] == [oldest.public_id]
    running = client.get("/v1/campaigns?status=running").json()["results"]
    assert [c["id"] for c in running] == [newest.public_id]
    drafts = client.get("/v1/campaigns?status=draft,paused&agent_id=agent_other").json()["results"]
    assert [c["id"] for c in drafts] == [middle.public_id]
    assert error_of(client.get("/v1/campaigns?status=finished")) == (400, "status", "invalid_choice")


def test_the_list_costs_the_same_queries_for_two_campaigns_or_twenty(api, bob):
    client = api(bob)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get("/v1/campaigns").status_code == 200
        return len(captured)

    for _ in range(2):
        ContactFactory(campaign=CampaignFactory())
    queries()  # the key's first use is recorded once
    few = queries()
    for _ in range(18):
        ContactFactory(campaign=CampaignFactory())
        CallFactory(campaign=Campaign.objects.order_by("-id").first())
    assert queries() == few


def test_contacts_come_in_the_files_order_with_their_attempts_calls_and_filters(api, bob):
    campaign = CampaignFactory()
    first = ContactFactory(campaign=campaign, row=2, status=ContactStatus.NO_ANSWER, attempts=2)
    calls = [
        CallFactory(agent=campaign.agent, campaign=campaign, status=CallStatus.NO_ANSWER) for _ in range(2)
    ]
    for number, call in enumerate(calls, start=1):
        ContactAttempt.objects.create(contact=first, number=number, call=call, outcome="no_answer")
    ContactFactory(campaign=campaign, row=3)
    ContactFactory(
        campaign=campaign, row=4, phone_number="", raw_number="n/a", status=ContactStatus.SKIPPED,
        skip_reason=SkipReason.INVALID_NUMBER, message="'n/a' is not a phone number.",
    )  # fmt: skip
    client = api(bob)
    url = f"/v1/campaigns/{campaign.public_id}/contacts"
    body = client.get(url).json()
    assert [c["row"] for c in body["results"]] == [2, 3, 4]
    contact = body["results"][0]
    assert contact["call_ids"] == [c.public_id for c in calls]
    assert (contact["status"], contact["attempts"], contact["skip_reason"]) == ("no_answer", 2, None)
    assert set(contact) == {
        "row", "phone_number", "raw_number", "context", "status", "skip_reason", "message", "attempts",
        "call_ids", "next_attempt_at", "updated_at",
    }  # fmt: skip
    skipped = client.get(f"{url}?skip_reason=invalid_number").json()["results"]
    assert [(c["row"], c["raw_number"], c["skip_reason"]) for c in skipped] == [(4, "n/a", "invalid_number")]
    assert [c["row"] for c in client.get(f"{url}?status=pending,no_answer").json()["results"]] == [2, 3]
    page = client.get(f"{url}?limit=2").json()
    assert [c["row"] for c in page["results"]] == [2, 3]
    assert [c["row"] for c in client.get(page["next"]).json()["results"]] == [4]
    assert error_of(client.get(f"{url}?status=lost")) == (400, "status", "invalid_choice")
    assert error_of(client.get(f"{url}?skip_reason=bored")) == (400, "skip_reason", "invalid_choice")


def test_the_forecast_puts_each_pending_contact_in_one_bucket_and_counts_the_blocked_by_reason(api, bob):
    campaign = CampaignFactory()
    for last_four in ("0123", "0131", "0142"):
        ContactFactory(campaign=campaign, phone_number=number_inside_calling_hours(last_four))
    ContactFactory(campaign=campaign, status=ContactStatus.SKIPPED, skip_reason=SkipReason.DUPLICATE)
    listed = ContactFactory(campaign=campaign, phone_number="+14155550150")
    DoNotCallFactory(number=listed.phone_number)  # listed since the import
    ContactFactory(campaign=campaign, status=ContactStatus.COMPLETED)
    body = api(bob).get(f"/v1/campaigns/{campaign.public_id}/forecast").json()
    assert body["now"] + body["later_today"] + body["other_days"] + body["never"] == 3
    assert body["blocked"] == {"duplicate": 1, "do_not_call": 1}
    assert (body["calling"], body["done"], body["total"]) == (0, 1, 6)


ODD_VALUES = [
    "", " ", "%", "\x00", "٣", "１２", "-1", "9" * 30, "1e999", "true", "null", "[]", "2026-99-99",
    "2026-02-30T25:00:00+99:00", "25:61", "x" * 3000, "no_answer,,busy", "😀", "' OR 1=1 --",
]  # fmt: skip
SETTINGS = [
    "start_at", "end_at", "max_concurrent_calls", "calls_per_minute", "max_attempts", "retry_delay_seconds",
    "retry_outcomes", "record", "max_duration", "window_start", "window_end", "phone_column", "name", "agent_id",
]  # fmt: skip


def test_no_odd_form_value_answers_a_5xx(api, alice, agent):
    client = api(alice)
    for field in SETTINGS:
        for value in ODD_VALUES:
            response = create(client, **{field: value})
            assert response.status_code in (201, 400, 409), (field, value, response.status_code)
            if response.status_code >= 400:
                assert {"code", "message", "field"} <= set(response.json()["error"]), (field, value)


def test_a_caller_id_the_agent_does_not_hold_is_a_400_naming_it(api, alice, agent):
    response = create(api(alice), from_number="+13125550100")
    assert error_of(response) == (400, "from_number", "invalid_from_number")
    assert not Campaign.objects.exists()
