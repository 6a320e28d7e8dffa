"""A database migrated by the previous main, where Campaign and Recording still lived in calls, migrates
forward with its rows: the moves to campaigns and recordings are state-only (the tables calls_campaign and
calls_recording stay), so every row keeps its id and values, the relations between calls, campaigns and
recordings still resolve, and the content types (so permissions and admin log entries) follow the models
to their new apps. The move is reversible too.

Each test migrates the test database back and forth with Django's MigrationExecutor, and leaves it fully
migrated whatever happens, so that the tests after it see the schema they expect."""

import datetime as dt
from collections.abc import Callable, Iterator

import pytest
from django.apps.registry import Apps
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.recorder import MigrationRecorder

from agents.models import Agent, PhoneNumber
from calls.models import Call, CallEvent
from campaigns.models import Campaign
from recordings.models import Recording

# Where the previous main left our apps: Campaign and Recording in calls, no campaigns or recordings app.
PRE_MOVE = [
    ("agents", "0001_initial"),
    ("calls", "0002_recording_upload_tracking"),
    ("compliance", "0002_consent_opener"),
    ("wordcab_admin", "0002_roles"),
    ("campaigns", None),
    ("recordings", None),
    ("transcripts", None),  # came later: its tables hang off calls' latest state
    ("analytics", None),  # came later: its rollup names campaigns
]
MOVED = {"campaign": "campaigns", "recording": "recordings"}  # model -> its app after the move
AT = dt.datetime(2026, 3, 14, 9, 26, 53, 589000, tzinfo=dt.UTC)

Migrate = Callable[[str], Apps]


@pytest.fixture
def migrate(transactional_db) -> Iterator[Migrate]:
    """`migrate("pre-move")` or `migrate("latest")` moves the test database there and answers the model
    registry of that state (historical models). The database ends fully migrated, even on failure."""
    executor = MigrationExecutor(connection)

    def targets(where: str) -> list[tuple[str, str | None]]:
        leaves = executor.loader.graph.leaf_nodes()
        if where == "latest":
            return leaves
        pinned = {app for app, _ in PRE_MOVE}
        return [leaf for leaf in leaves if leaf[0] not in pinned] + PRE_MOVE  # Django's apps stay latest

    def to(where: str) -> Apps:
        nodes = targets(where)
        executor.migrate(nodes)
        executor.loader.build_graph()  # reload which migrations are applied
        ContentType.objects.clear_cache()
        return executor.loader.project_state([node for node in nodes if node[1] is not None]).apps

    try:
        yield to
    finally:
        executor.loader.build_graph()
        executor.migrate(executor.loader.graph.leaf_nodes())
        executor.loader.build_graph()
        ContentType.objects.clear_cache()


def rows(model) -> list[dict]:
    return list(model.objects.order_by("pk").values())


def same_rows(before: list[dict], model) -> list[dict]:
    """The rows of model now, each cut to the columns it had before (a later migration may add some)."""
    now = {row["id"]: row for row in rows(model)}
    return [{column: now.get(row["id"], {}).get(column) for column in row} for row in before]


def test_a_database_of_the_previous_main_migrates_forward_with_its_campaigns_calls_and_recordings(migrate):
    old = migrate("pre-move")
    ours = {app for app, _ in PRE_MOVE}
    applied = {node for node in MigrationRecorder(connection).applied_migrations() if node[0] in ours}
    assert applied == {
        ("agents", "0001_initial"),
        ("calls", "0001_initial"),
        ("calls", "0002_recording_upload_tracking"),
        ("compliance", "0001_initial"),
        ("compliance", "0002_consent_opener"),
        ("wordcab_admin", "0001_initial"),
        ("wordcab_admin", "0002_roles"),
    }
    with pytest.raises(LookupError):
        old.get_model("campaigns", "Campaign")  # not there yet: this is the previous main's schema

    # The previous main's database, written with its own (historical) models.
    OldUser = old.get_model(settings.AUTH_USER_MODEL)
    OldAgent = old.get_model("agents", "Agent")
    OldPhoneNumber = old.get_model("agents", "PhoneNumber")
    OldCampaign = old.get_model("calls", "Campaign")
    OldCall = old.get_model("calls", "Call")
    OldCallEvent = old.get_model("calls", "CallEvent")
    OldRecording = old.get_model("calls", "Recording")
    OldContentType = old.get_model("contenttypes", "ContentType")
    OldPermission = old.get_model("auth", "Permission")

    user = OldUser.objects.create(username="migrated-alice", password="!", email="alice@example.com")
    agent = OldAgent.objects.create(
        public_id="agent_migrated",
        name="Reminder bot",
        instructions="Remind them of the appointment.",
        language="fr-FR",
        max_duration=900,
        record=True,
    )
    number = OldPhoneNumber.objects.create(
        public_id="num_migrated",
        number="+14155550100",
        provider="twilio",
        friendly_name="San Francisco line",
        jurisdiction="US-CA",
        agent=agent,
    )
    campaign = OldCampaign.objects.create(
        public_id="camp_migrated", name="Spring reminders", agent=agent, status="running"
    )
    in_campaign = OldCall.objects.create(
        public_id="call_migrated_in_campaign",
        agent=agent,
        campaign=campaign,
        owner=user,
        from_number=number.number,
        to_number="+14155550123",
        status="completed",
        end_reason="hangup",
        context={"patient": "P-1", "slots": [9, 10.5], "note": "café"},
        max_duration=900,
        record=True,
        provider="twilio",
        provider_call_id="CA0123456789",
        last_sequence=3,
        last_event_at=AT,
        idempotency_key="key-1",
        consent_opener={"jurisdiction": "US-CA", "language": "fr-FR"},
        consent_delivered_at=AT,
        jurisdiction="US-CA",
        decision={"record": True, "reason": "two-party consent given"},
        answered_at=AT,
        ended_at=AT + dt.timedelta(seconds=42),
    )
    loose = OldCall.objects.create(
        public_id="call_migrated_inbound",
        agent=agent,
        direction="inbound",
        from_number="+14155550999",
        to_number=number.number,
        status="no_answer",
        end_reason="no_answer",
        sip_response_code=480,
    )
    for sequence, status in enumerate(["ringing", "in_progress", "completed"], start=1):
        OldCallEvent.objects.create(
            call=in_campaign,
            status=status,
            provider_status=status.replace("_", "-"),
            provider_event_id=f"evt-{sequence}",
            sequence=sequence,
            source="twilio",
            payload={"CallStatus": status, "SequenceNumber": str(sequence)},
            applied=True,
        )
    OldCallEvent.objects.create(call=loose, status="no_answer", source="simulator", ignored_reason="late")
    recording = OldRecording.objects.create(
        call=in_campaign,
        status="stored",
        storage_key="recordings/call_migrated_in_campaign.wav",
        size_bytes=672_044,
        duration_seconds=42.0,
        sha256="ab" * 32,
        peaks=[0.0, 0.25, 0.5, 0.125],
        upload_attempts=2,
        last_attempt_at=AT,
        last_error="",
        stored_at=AT,
        expires_at=AT + dt.timedelta(days=90),
    )

    # The previous main had content types (and permissions) for calls.campaign and calls.recording only.
    OldContentType.objects.filter(app_label__in=set(MOVED.values())).delete()
    old_types = {
        model: OldContentType.objects.get_or_create(app_label="calls", model=model)[0].pk for model in MOVED
    }
    view_campaign, _ = OldPermission.objects.get_or_create(
        content_type_id=old_types["campaign"],
        codename="view_campaign",
        defaults={"name": "Can view campaign"},
    )
    user.user_permissions.add(view_campaign)

    models = {
        "agent": (OldAgent, Agent),
        "phone number": (OldPhoneNumber, PhoneNumber),
        "campaign": (OldCampaign, Campaign),
        "call": (OldCall, Call),
        "call event": (OldCallEvent, CallEvent),
        "recording": (OldRecording, Recording),
    }
    before = {name: rows(old_model) for name, (old_model, _) in models.items()}
    assert [len(before[name]) for name in models] == [1, 1, 1, 2, 4, 1]

    migrate("latest")

    # Every row, with the same id and the same value in every column, read through the current models.
    for name, (_, model) in models.items():
        assert same_rows(before[name], model) == before[name], name

    # The relations resolve to the models' new homes, both ways.
    call = Call.objects.get(pk=in_campaign.pk)
    assert isinstance(call.campaign, Campaign)
    assert (call.campaign.pk, call.campaign.public_id) == (campaign.pk, "camp_migrated")
    assert isinstance(call.recording, Recording)
    assert (call.recording.pk, call.recording.call_id) == (recording.pk, call.pk)
    assert [event.sequence for event in call.events.all()] == [1, 2, 3]
    assert call.owner.username == "migrated-alice"
    assert list(Campaign.objects.get(pk=campaign.pk).calls.values_list("pk", flat=True)) == [in_campaign.pk]
    assert Recording.objects.get(pk=recording.pk).call.public_id == "call_migrated_in_campaign"
    inbound = Call.objects.get(pk=loose.pk)
    assert inbound.campaign is None
    assert not hasattr(inbound, "recording")  # the reverse one-to-one raises: no recording
    current_agent = Agent.objects.get(pk=agent.pk)
    assert list(current_agent.campaigns.values_list("pk", flat=True)) == [campaign.pk]
    assert set(current_agent.calls.values_list("pk", flat=True)) == {in_campaign.pk, loose.pk}
    assert list(current_agent.phone_numbers.values_list("number", flat=True)) == ["+14155550100"]
    assert list(Call.objects.filter(campaign__name="Spring reminders").values_list("pk", flat=True)) == [
        in_campaign.pk
    ]
    assert list(Campaign.objects.filter(calls__recording__status="stored").values_list("pk", flat=True)) == [
        campaign.pk
    ]

    # The content types moved with their rows (same ids), and nothing is left under calls for them.
    for model, app_label in MOVED.items():
        assert ContentType.objects.get(app_label=app_label, model=model).pk == old_types[model]
    assert ContentType.objects.get_for_model(Campaign).pk == old_types["campaign"]
    assert ContentType.objects.get_for_model(Recording).pk == old_types["recording"]
    assert not ContentType.objects.filter(app_label="calls", model__in=list(MOVED)).exists()
    # So a permission granted before the move is the campaigns app's permission now, still held.
    assert Permission.objects.get(pk=view_campaign.pk).content_type.app_label == "campaigns"
    migrated_user = get_user_model().objects.get(pk=user.pk)
    assert migrated_user.has_perm("campaigns.view_campaign")

    # New rows continue the tables' id sequences (on PostgreSQL, they still own them).
    new_campaign = Campaign.objects.create(name="Summer reminders", agent=current_agent)
    new_recording = Recording.objects.create(call=inbound)
    assert new_campaign.pk > campaign.pk
    assert new_recording.pk > recording.pk
    assert Call.objects.get(pk=loose.pk).recording == new_recording


def test_the_move_is_reversible_and_rows_survive_the_round_trip(migrate):
    agent = Agent.objects.create(public_id="agent_round_trip", name="Round trip")
    campaign = Campaign.objects.create(public_id="camp_round_trip", name="Autumn", agent=agent)
    call = Call.objects.create(
        public_id="call_round_trip", agent=agent, campaign=campaign, to_number="+15550100"
    )
    recording = Recording.objects.create(
        call=call, status="stored", storage_key="r/round-trip.wav", peaks=[1]
    )
    CallEvent.objects.create(call=call, status="ringing", sequence=1, payload={"n": 1})
    types = {
        model: ContentType.objects.get_for_model(m).pk
        for model, m in [("campaign", Campaign), ("recording", Recording)]
    }
    models = {"campaign": Campaign, "call": Call, "call event": CallEvent, "recording": Recording}
    before = {name: rows(model) for name, model in models.items()}

    old = migrate("pre-move")

    # Back in the previous main's schema: calls owns Campaign and Recording again, over the same rows.
    old_models = {
        "campaign": old.get_model("calls", "Campaign"),
        "call": old.get_model("calls", "Call"),
        "call event": old.get_model("calls", "CallEvent"),
        "recording": old.get_model("calls", "Recording"),
    }
    for name, old_model in old_models.items():
        # Columns a later migration added (the media stream's token, say) are not in this schema.
        old_columns = {field.attname for field in old_model._meta.concrete_fields}
        expected = [{c: v for c, v in row.items() if c in old_columns} for row in before[name]]
        assert same_rows(expected, old_model) == expected, name
    old_call = old_models["call"].objects.get(pk=call.pk)
    assert old_call.campaign.public_id == "camp_round_trip"
    assert old_call.recording.pk == recording.pk
    OldContentType = old.get_model("contenttypes", "ContentType")
    for model, app_label in MOVED.items():
        assert OldContentType.objects.get(app_label="calls", model=model).pk == types[model]
        assert not OldContentType.objects.filter(app_label=app_label, model=model).exists()

    migrate("latest")

    for name, model in models.items():
        assert same_rows(before[name], model) == before[name], name
    assert Call.objects.get(pk=call.pk).campaign == campaign
    assert Call.objects.get(pk=call.pk).recording == recording
    for model, app_label in MOVED.items():
        assert ContentType.objects.get(app_label=app_label, model=model).pk == types[model]
    assert not ContentType.objects.filter(app_label="calls", model__in=list(MOVED)).exists()
