"""Which tasks are acknowledged late (after they ran: run again when their worker dies midway, so they
must be safe to run twice) and which when they start (at most once). Every task of the project is listed
here with its reason: a new task fails this test until someone has decided."""

from django.conf import settings

from wordcab_admin.celery import app

# Late-acknowledged, with `reject_on_worker_lost`: why running it twice does no harm.
IDEMPOTENT = {
    "calls.place": "the row lock and the stored provider id make a second run a no-op; for a provider that "
    "cannot tell a repeated request the attempt is committed first, so a repeat never dials again",
    "calls.place_many": "locks its calls and places only those still to place, as calls.place does; the "
    "simulator answers a repeated request with its first dial, so a second run dials nothing",
    "calls.place_sweep": "places only calls still due, each through calls.place's own guard",
    "calls.provider_hangup": "hanging up an ended call again is a no-op (Twilio: 404 or not in progress)",
    "calls.max_duration_sweep": "ends only calls still over their limit, each under the lifecycle's lock",
    "calls.stale_sweep": "fails only calls still stale, each under the lifecycle's lock",
    "calls.idempotency_keys_prune": "forgets keys older than the cutoff; a second run finds none left",
    "calls.simulator_deliver": "applies the event and deletes its row in one transaction; again, no row",
    "telephony.simulator_deliver_due": "applies the events still stored and due, deleting each row in the "
    "transaction that applies it; again, those rows are gone",
    "telephony.simulator_sweep": "sends only events still stored and overdue, each applied once as above",
    "recordings.simulate": "deterministic audio, made again over a partial spool; a finished one is kept",
    "recordings.upload": "only a pending upload is sent; an object already stored with its size counts",
    "recordings.upload_sweep": "re-queues and salvages only what is still stuck",
    "recordings.retention_sweep": "claims rows under a lease and marks only what the store reports deleted "
    "(an object already gone is reported deleted); the receipt is one per recording",
    "campaigns.dispatch_tick": "settles, expires and finishes only what is still due, each under its row lock; "
    "a second tick only sends more dispatch tasks, each a no-op when another holds the campaign",
    "campaigns.dispatch": "claims under the campaign's row lock (SKIP LOCKED); a contact's attempt, its call "
    "and its claim commit together, the attempt unique per (contact, n) and its call's key unique",
    "webhooks.deliver": "claims the delivery under a lease first (a conditional update): a second run finds it "
    "held or settled and sends nothing; a worker that died mid-attempt is retried (at least once, same event id)",
    "webhooks.deliver_sweep": "only sends a webhooks.deliver task per due, unclaimed delivery, each guarded as above",
    "analytics.calls_rollup": "rewrites whole hours from the calls table in one transaction under the "
    "watermark's row lock; a second run rewrites the same rows",
    "recordings.retention_recompute": "writes the expiry the policies give; a second run writes the same",
    "transcripts.call_analyse": "the call's one analysis row is written with update_or_create (unique per call); "
    "without force a second run finds it and stops, with force it writes the same result again",
    "transcripts.analysis_sweep": "analyses only ended calls still without an analysis, each as call_analyse",
}
# Acknowledged when it starts: why a second run would do harm.
AT_MOST_ONCE: dict[str, str] = {
    "transcripts.caller_utterance_transcribe": "a second run would store the caller's line twice; a lost "
    "one costs one line of a transcript, never the call",
}


def project_tasks() -> dict:
    app.loader.import_default_modules()  # what the worker does at start: every app's tasks module
    # Celery's own, and those a test defines for itself (`tests.…`), are not the project's.
    return {name: task for name, task in app.tasks.items() if not name.startswith(("celery.", "tests."))}


def test_every_task_is_listed_with_the_reason_for_its_acknowledgement():
    listed = IDEMPOTENT.keys() | AT_MOST_ONCE.keys()
    registered = project_tasks().keys()
    assert not registered - listed, "decide for these tasks, and say why, in IDEMPOTENT or AT_MOST_ONCE"
    assert not listed - registered, "these tasks are gone: drop them from the lists"
    assert not IDEMPOTENT.keys() & AT_MOST_ONCE.keys()


def test_only_the_idempotent_tasks_are_acknowledged_late_and_requeued_when_their_worker_dies():
    for name, task in project_tasks().items():
        assert task.acks_late is (name in IDEMPOTENT), name
        if task.acks_late:
            assert task.reject_on_worker_lost is True, name


def test_a_task_that_does_not_say_otherwise_is_acknowledged_when_it_starts():
    assert settings.CELERY_TASK_ACKS_LATE is False
    assert app.conf.task_acks_late is False
