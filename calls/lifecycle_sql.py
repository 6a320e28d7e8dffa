"""The lifecycle's hand-written SQL: one locked read and one write per batch of status events.

Justified by `make bench BENCH=status_callbacks` (status callbacks at least 0.5x the bare view's rate):
on this path Django spent more time compiling its four-table select (`select_related` +
`select_for_update(of=...)`) and `bulk_update`'s CASE expressions than the database spent running them.
Without the benchmark these would be `Call.objects.select_for_update(of=("self",)).select_related(
"agent", "campaign", "recording").filter(...)` and `Call.objects.bulk_update(calls, LIFECYCLE_COLUMNS)`.

It leans on private Django API: `Call.recording.related.set_cached_value` (the reverse one-to-one
descriptor's `related` and `FieldCacheMixin.set_cached_value`: caching the recording, or its absence) and
`connection.features.has_select_for_update` / `has_select_for_update_of` (the lock clause), pinned by
tests/core/test_fastpath.py, and `connection.ops.quote_name`, which every lifecycle test runs. Beside it,
documented but rare API: `Model.from_db` (partial related rows, their other fields deferred: pinned in
test_fastpath.py too), `Field.get_db_prep_save` and `_meta.get_field(...).related_model`, run by every
lifecycle test (tests/calls/test_event_batches.py checks the call object built from the batch's read).
The campaign and recording tables are found through Call's relations (campaigns and recordings stand
above calls in the layers)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import connection

from calls.models import Call

if TYPE_CHECKING:
    from django.db.models import Model

    from calls.lifecycle import EventIn


def calls_lock(events: list[EventIn]) -> dict[tuple, Call]:
    """Lock the calls of a batch in one statement, keyed as `EventIn.call_key` names them. Hand-written
    SQL, since on this path Django spent more time compiling its four-table select than the database spent
    running it; the agent's and campaign's ids and the recording's status come along for the live call
    object (`CallOutput`)."""
    pks = sorted({e.call_id for e in events if e.call_id is not None})
    public_ids = sorted({e.public_id for e in events if e.call_id is None and e.public_id})
    by_provider: dict[str, set[str]] = {}
    for e in events:
        if e.call_key[0] == "provider" and e.provider and e.provider_call_id:
            by_provider.setdefault(e.provider, set()).add(e.provider_call_id)
    conditions, params = [], []
    for column, values in (("id", pks), ("public_id", public_ids)):
        if values:
            conditions.append(f"c.{column} IN ({', '.join(['%s'] * len(values))})")
            params += values
    for provider, sids in sorted(by_provider.items()):
        conditions.append(f"(c.provider = %s AND c.provider_call_id IN ({', '.join(['%s'] * len(sids))}))")
        params += [provider, *sorted(sids)]
    if not conditions:
        return {}
    found: dict[tuple, Call] = {}
    for call in Call.objects.raw(_locked_calls_sql(" OR ".join(conditions)), params):
        _attach_related(call)
        found[("pk", call.pk)] = found[("id", call.public_id)] = call
        if call.provider_call_id:
            found[("provider", call.provider, call.provider_call_id)] = call
    return found


def _related_models() -> tuple[type[Model], type[Model], type[Model]]:
    """Agent, Campaign and Recording, through Call's relations."""
    agent = Call._meta.get_field("agent").related_model
    campaign = Call._meta.get_field("campaign").related_model
    recording = Call._meta.get_field("recording").related_model
    return agent, campaign, recording


def _locked_calls_sql(where: str) -> str:
    agent, campaign, recording = _related_models()
    lock = ""
    if connection.features.has_select_for_update:  # PostgreSQL; SQLite has one writer at a time anyway
        lock = " FOR UPDATE OF c" if connection.features.has_select_for_update_of else " FOR UPDATE"
    return (
        f"SELECT c.*, a.public_id AS _agent_public_id, g.public_id AS _campaign_public_id,"  # noqa: S608 -- names from the models, values are parameters
        f" r.id AS _recording_id, r.status AS _recording_status"
        f" FROM {Call._meta.db_table} c"
        f" JOIN {agent._meta.db_table} a ON a.id = c.agent_id"
        f" LEFT JOIN {campaign._meta.db_table} g ON g.id = c.campaign_id"
        f" LEFT JOIN {recording._meta.db_table} r ON r.call_id = c.id"
        f" WHERE {where} ORDER BY c.id{lock}"
    )


def _attach_related(call: Call) -> None:
    """Partial related rows from the joined columns: what the call object shows; any other field of
    them loads on first use, as a deferred field does."""
    db = call._state.db
    agent_model, campaign_model, recording_model = _related_models()
    call.agent = agent_model.from_db(db, ["id", "public_id"], [call.agent_id, call._agent_public_id])
    if call.campaign_id:
        call.campaign = campaign_model.from_db(
            db, ["id", "public_id"], [call.campaign_id, call._campaign_public_id]
        )
    recording = None
    if call._recording_id is not None:
        recording = recording_model.from_db(
            db, ["id", "call_id", "status"], [call._recording_id, call.pk, call._recording_status]
        )
    Call.recording.related.set_cached_value(call, recording)


# The columns the lifecycle owns, written for each changed call by one statement (see calls_write).
LIFECYCLE_COLUMNS = (
    "status",
    "last_sequence",
    "sip_response_code",
    "answered_at",
    "ended_at",
    "end_reason",
    "error_code",
    "error_message",
    "last_event_at",
    "updated_at",
    "provider_call_id",  # adopted from the provider's first event when placing's own write was lost
    "place_due_at",  # an ended call is no longer to be placed
)


def calls_write(calls: list[Call]) -> None:
    """One UPDATE statement run for every changed call (executemany). Django's bulk_update would build a
    CASE expression per column and row, costlier to compile than the whole batch is to apply."""
    fields = [Call._meta.get_field(name) for name in LIFECYCLE_COLUMNS]
    quote = connection.ops.quote_name
    assignments = ", ".join(f"{quote(f.column)} = %s" for f in fields)
    sql = (
        f"UPDATE {quote(Call._meta.db_table)} SET {assignments}"  # noqa: S608 -- names from the models
        f" WHERE {quote(Call._meta.pk.column)} = %s"
    )
    rows = [
        [f.get_db_prep_save(getattr(call, f.attname), connection) for f in fields] + [call.pk]
        for call in calls
    ]
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)
