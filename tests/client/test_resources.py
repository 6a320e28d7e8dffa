"""Each resource of the client against the live server: what it sends, what comes back as objects, and
lists read page after page."""

from __future__ import annotations

import io
import wave
from pathlib import Path

import pytest

from calls.models import CallStatus
from campaigns.models import Campaign
from compliance.models import DoNotCall
from tests.factories import AgentFactory, CallFactory, CampaignFactory, DoNotCallFactory
from wordcab_admin.client import (
    Agent,
    AuditEvent,
    Client,
    ConflictError,
    NotFoundError,
    Paginated,
    PermissionDeniedError,
    PhoneNumber,
    WaitTimeoutError,
)
from wordcab_admin.client import (
    Campaign as CampaignObject,
)

CONTACTS = (
    "name,phone,plan\nJane Doe,+14155550123,gold\nOmar,not a number,silver\nMei,(415) 555-0131,bronze\n"
)


# --- the client itself --------------------------------------------------------------------------------------


def test_the_client_reads_its_server_and_key_from_the_environment(live_asgi_url, key_of, alice, monkeypatch):
    monkeypatch.setenv("WORDCAB_BASE_URL", f"{live_asgi_url}/v1/")
    monkeypatch.setenv("WORDCAB_API_KEY", key_of(alice))
    with Client() as client:
        me = client.me()
    assert (me.username, me.role) == ("alice", "operator")
    assert client.base_url == live_asgi_url


def test_a_client_without_a_key_says_how_to_give_one(monkeypatch):
    monkeypatch.delenv("WORDCAB_API_KEY", raising=False)
    with pytest.raises(ValueError, match="WORDCAB_API_KEY"):
        Client(base_url="http://127.0.0.1:8000")


def test_objects_give_fields_as_attributes_nested_ones_too_and_keep_the_raw_answer(client_for, alice):
    call = CallFactory(status=CallStatus.FAILED, error_code="carrier_rejected", error_message="Rejected.")
    fetched = client_for(alice).calls.get(call.public_id)
    assert (fetched.id, fetched.status, fetched.error.code) == (call.public_id, "failed", "carrier_rejected")
    assert fetched.raw["error"] == {"code": "carrier_rejected", "message": "Rejected."}
    assert fetched["status"] == fetched.get("status") == "failed"
    assert fetched.context == {}
    assert isinstance(fetched.context, dict)
    assert fetched.ended
    assert "phone_number" in dir(fetched)
    with pytest.raises(AttributeError, match="no field 'nope'"):
        _ = fetched.nope


# --- agents -------------------------------------------------------------------------------------------------


def test_agents_are_created_read_updated_disabled_and_listed(client_for, alice):
    agents = client_for(alice).agents
    created = agents.create(
        agent_id="agent_help", name="Help desk", record=True, phone_numbers=["+14155550111"]
    )
    assert isinstance(created, Agent)
    assert (created.id, created.name, created.record, created.phone_numbers) == (
        "agent_help",
        "Help desk",
        True,
        ["+14155550111"],
    )
    assert agents.update("agent_help", name="Help line").name == "Help line"
    assert agents.disable("agent_help").active is False
    assert agents.enable("agent_help").active is True
    assert agents.get("agent_help").name == "Help line"
    assert [a.id for a in agents.list(search="help")] == ["agent_help"]


def test_a_number_held_by_another_agent_is_a_conflict_and_nothing_changes(client_for, alice, agent):
    client = client_for(alice)
    client.agents.create(agent_id="agent_other", name="Other", phone_numbers=["+14155559999"])
    with pytest.raises(ConflictError) as raised:
        client.agents.update(agent_id="agent_abc", phone_numbers=["+14155559999"])
    assert (raised.value.code, raised.value.details["agent_id"]) == ("number_in_use", "agent_other")
    assert client.agents.get("agent_abc").phone_numbers == []


# --- calls --------------------------------------------------------------------------------------------------


def test_the_call_list_is_read_page_after_page_newest_first_with_its_filters(client_for, alice):
    agent = AgentFactory(public_id="agent_list")
    completed = [CallFactory(agent=agent, status=CallStatus.COMPLETED) for _ in range(7)]
    CallFactory(agent=agent, status=CallStatus.FAILED)
    CallFactory(status=CallStatus.COMPLETED)  # another agent's
    listed = client_for(alice).calls.list(status="completed", agent_id="agent_list", limit=3)
    assert isinstance(listed, Paginated)
    assert [len(page) for page in listed.pages()] == [3, 3, 1]
    assert [call.id for call in listed] == [call.public_id for call in reversed(completed)]
    assert [call.id for call in listed.first(4)] == [call.public_id for call in reversed(completed)][:4]
    both = client_for(alice).calls.list(status=["completed", "failed"], agent_id="agent_list")
    assert len(list(both)) == 8


def test_a_live_call_is_hung_up_and_hanging_up_again_is_a_conflict(client_for, alice):
    call = CallFactory(status=CallStatus.IN_PROGRESS)
    client = client_for(alice)
    ended = client.calls.hangup(call.public_id)
    assert (ended.status, ended.end_reason) == ("completed", "hangup")
    with pytest.raises(ConflictError) as raised:
        client.calls.hangup(call.public_id)
    assert raised.value.code == "invalid_state"
    assert [event.status for event in client.calls.events(call.public_id)] == ["completed"]


def test_waiting_for_a_call_that_does_not_end_in_time_raises_with_what_it_saw_last(client_for, alice):
    call = CallFactory(status=CallStatus.RINGING)
    with pytest.raises(WaitTimeoutError) as raised:
        client_for(alice).calls.wait_for(call.public_id, timeout=0.3, poll_interval=0.1)
    assert raised.value.last.status == "ringing"
    assert "completed or failed or no_answer" in raised.value.message


def test_a_recording_streams_to_a_file_with_progress_and_a_call_without_one_is_not_found(
    client_for, alice, agent, celery_worker_thread, quick_calls, tmp_path: Path
):
    client = client_for(alice)
    call = client.agents.calls.create(agent_id="agent_abc", phone_number="+14155550123", record=True)
    client.calls.wait_for(call.id, timeout=60, recording=True, poll_interval=0.2)
    seen: list[tuple[int, int | None]] = []
    size = client.calls.download_recording_to(
        call.id, tmp_path / "call.wav", on_progress=lambda *p: seen.append(p)
    )
    assert size == (tmp_path / "call.wav").stat().st_size == seen[-1][0] == seen[-1][1]
    assert not (tmp_path / "call.wav.part").exists()
    with wave.open(str(tmp_path / "call.wav"), "rb") as wav:
        assert wav.getframerate() == 8000
    buffer = io.BytesIO()
    client.calls.download_recording_to(call.id, buffer)
    assert (
        buffer.getvalue() == (tmp_path / "call.wav").read_bytes() == client.calls.download_recording(call.id)
    )

    unrecorded = CallFactory(status=CallStatus.COMPLETED)
    with pytest.raises(NotFoundError):
        client.calls.download_recording_to(unrecorded.public_id, tmp_path / "none.wav")
    assert not (tmp_path / "none.wav").exists()
    assert not (tmp_path / "none.wav.part").exists()


# --- campaigns ----------------------------------------------------------------------------------------------


def test_a_campaign_is_created_from_a_path_with_its_settings_and_its_validation(
    client_for, alice, agent, tmp_path: Path
):
    contacts = tmp_path / "spring.csv"
    contacts.write_text(CONTACTS)
    uploaded: list[tuple[int, int | None]] = []
    campaign = client_for(alice).campaigns.create(
        contacts, agent_id="agent_abc", max_concurrent_calls=2, calls_per_minute=10, max_attempts=1,
        retry_outcomes=[], record=False, window_start="09:00", window_end="17:30",
        start_at="2026-06-17T16:00:00Z", on_progress=lambda *p: uploaded.append(p),
    )  # fmt: skip
    assert isinstance(campaign, CampaignObject)
    assert (campaign.name, campaign.file_name, campaign.status) == ("spring", "spring.csv", "draft")
    assert (campaign.max_concurrent_calls, campaign.calls_per_minute, campaign.max_attempts) == (2, 10, 1)
    assert (campaign.retry_outcomes, campaign.record) == ([], False)
    assert (campaign.window_start, campaign.window_end, campaign.start_at) == (
        "09:00",
        "17:30",
        "2026-06-17T16:00:00Z",
    )
    assert (campaign.validation.rows, campaign.validation.accepted, campaign.validation.rejected) == (3, 2, 1)
    assert [(e.row, e.code) for e in campaign.validation.errors] == [(3, "invalid_number")]
    assert uploaded[-1] == (len(CONTACTS), len(CONTACTS))


def test_a_campaign_is_created_from_a_binary_file_object_and_moved_through_its_statuses(
    client_for, alice, agent
):
    campaigns = client_for(alice).campaigns
    created = campaigns.create(io.BytesIO(CONTACTS.encode()), agent_id="agent_abc", name="Reminders")
    assert (created.name, created.file_name) == ("Reminders", "contacts.csv")
    assert campaigns.start(created.id).status == "running"
    assert campaigns.pause(created.id).status == "paused"
    assert campaigns.resume(created.id).status == "running"
    cancelled = campaigns.cancel(created.id)
    assert cancelled.status == "cancelled"
    assert cancelled.finished
    assert campaigns.wait_for(created.id, timeout=5).status == "cancelled"
    with pytest.raises(ConflictError) as raised:
        campaigns.start(created.id)
    assert raised.value.code == "invalid_state"
    assert campaigns.get(created.id).counts.skipped == 3
    assert [(c.row, c.status) for c in campaigns.contacts(created.id, limit=2)] == [
        (2, "skipped"),
        (3, "skipped"),
        (4, "skipped"),
    ]
    assert campaigns.forecast(created.id).total == 3


def test_a_text_mode_file_is_refused_before_anything_is_sent(client_for, alice, tmp_path: Path):
    contacts = tmp_path / "contacts.csv"
    contacts.write_text(CONTACTS)
    with contacts.open() as text, pytest.raises(TypeError, match="binary mode"):
        client_for(alice).campaigns.create(text, agent_id="agent_abc")
    assert Campaign.objects.count() == 0


def test_campaigns_are_listed_by_status_newest_first(client_for, alice):
    drafts = [CampaignFactory(), CampaignFactory()]
    CampaignFactory(status="cancelled")
    listed = client_for(alice).campaigns.list(status="draft")
    assert [c.id for c in listed] == [c.public_id for c in reversed(drafts)]


# --- numbers, do-not-call, audit events ---------------------------------------------------------------------


def test_numbers_are_added_assigned_unassigned_and_released(client_for, alice, agent):
    numbers = client_for(alice).numbers
    added = numbers.create("+14155550177", agent_id="agent_abc", friendly_name="Front desk")
    assert isinstance(added, PhoneNumber)
    assert (added.number, added.provider, added.agent_id) == ("+14155550177", "simulator", "agent_abc")
    assert numbers.get("+14155550177").id == added.id
    assert numbers.update(added.id, agent_id=None).agent_id is None
    assert numbers.update(added.id, friendly_name="Lobby").agent_id is None  # left as it was
    assert [n.id for n in numbers.list(assigned=False)] == [added.id]
    numbers.release(added.id)
    with pytest.raises(NotFoundError):
        numbers.get(added.id)


def test_a_compliance_officer_keeps_the_do_not_call_list_and_reads_the_audit_log(client_for, carol):
    client = client_for(carol)
    DoNotCallFactory(number="+12125550100")
    entry = client.do_not_call.add("(415) 555-0123", reason="Asked on the phone")
    assert (entry.number, entry.reason, entry.added_by) == ("+14155550123", "Asked on the phone", "carol")
    assert client.do_not_call.add("+14155550123").reason == "Asked on the phone"  # listed already: unchanged
    assert client.do_not_call.get("+14155550123").number == "+14155550123"
    assert [e.number for e in client.do_not_call.list()] == ["+14155550123", "+12125550100"]
    report = client.do_not_call.import_csv(io.BytesIO(b"phone\n+14155550124\nnope\n"))
    assert (report.rows, report.accepted, report.rejected) == (2, 1, 1)
    client.do_not_call.remove("+14155550123")
    assert not DoNotCall.objects.filter(number="+14155550123").exists()

    events = list(client.audit_events.list(actor="carol", object_type="do_not_call"))
    assert events
    assert all(isinstance(e, AuditEvent) for e in events)
    assert events[0].action.startswith("do_not_call.")
    assert events[0].created_at >= events[-1].created_at


def test_an_operator_may_not_read_the_audit_log(client_for, alice):
    with pytest.raises(PermissionDeniedError):
        client_for(alice).audit_events.list().first(1)
