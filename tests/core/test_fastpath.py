"""The private framework APIs that the workarounds (wordcab_admin/kernel/fastpath/, calls/lifecycle_sql.py)
lean on, each pinned by the behaviour the workaround needs from it: an upgrade of Django, WhiteNoise or
channels-redis that changes one fails here, naming the module and what to re-check.

Pinned elsewhere and not repeated here: the stock middleware's hooks kept off threads, and sessions,
messages and CSRF through the async chain, and the start-up heap freeze (tests/core/test_asgi_chain.py);
Django's deploy checks seeing the inline middleware (tests/core/test_settings.py); `ASGIRequest` and DRF's
`Request._request` choosing the async stream (`response.is_async` in tests/core/test_streaming.py and
tests/recordings/test_recording_api.py); the batches on the database threads
(tests/core/test_hot_db_threads.py, tests/calls/test_event_batches.py)."""

import asyncio
import contextlib
import threading
import uuid
import warnings
from contextlib import contextmanager
from importlib import import_module

import pytest
from asgiref.sync import async_to_sync
from channels_redis.core import RedisChannelLayer
from django.conf import settings as django_settings
from django.contrib import messages
from django.contrib.messages.storage.base import BaseStorage
from django.core.handlers.asgi import ASGIHandler
from django.core.signals import request_finished
from django.db import (
    DEFAULT_DB_ALIAS,
    DatabaseError,
    IntegrityError,
    close_old_connections,
    connection,
    connections,
    transaction,
)
from django.db.models.fields.related_descriptors import ReverseOneToOneDescriptor
from django.http import HttpResponse
from django.test.utils import CaptureQueriesContext
from django.urls import path
from whitenoise.middleware import WhiteNoiseMiddleware

from calls.lifecycle import EventIn
from calls.lifecycle_sql import _locked_calls_sql, calls_lock
from calls.models import Call, CallStatus
from campaigns.models import Campaign, Contact
from recordings.models import Recording
from tests.factories import CallFactory, CampaignFactory
from tests.helpers import SYNC_ITERATOR_WARNING
from wordcab_admin.kernel.fastpath.asgi_streaming import streaming_response
from wordcab_admin.kernel.fastpath.async_middleware import MessageMiddleware
from wordcab_admin.kernel.fastpath.bulk_insert import rows_insert
from wordcab_admin.kernel.fastpath.db_threads import db_threads_stop, run_db_batched
from wordcab_admin.kernel.fastpath.layer_receive import raise_if_cancelling, receive_many
from wordcab_admin.kernel.fastpath.static_files import AsyncCapableWhiteNoiseMiddleware

ASYNC_MIDDLEWARE = "wordcab_admin/kernel/fastpath/async_middleware.py"
STATIC_FILES = "wordcab_admin/kernel/fastpath/static_files.py"
DB_THREADS = "wordcab_admin/kernel/fastpath/db_threads.py"
ASGI_STREAMING = "wordcab_admin/kernel/fastpath/asgi_streaming.py"
LAYER_RECEIVE = "wordcab_admin/kernel/fastpath/layer_receive.py"
LIFECYCLE_SQL = "calls/lifecycle_sql.py"
BULK_INSERT = "wordcab_admin/kernel/fastpath/bulk_insert.py"


@contextmanager
def pinned(why: str):
    """An error inside (an attribute gone, a signature changed) fails the test with `why`, not a bare
    traceback into the workaround."""
    try:
        yield
    except AssertionError:
        raise
    except Exception as exc:  # noqa: BLE001 -- any upgrade breakage is reported the same way
        pytest.fail(f"{why}\n({type(exc).__name__}: {exc})")


# --- async_middleware.py: when MessageMiddleware's response hook needs a thread -------------------------


def test_the_inline_message_middleware_sends_its_response_hook_to_a_thread_exactly_when_messages_get_stored(
    rf,
):
    why = (
        f"{ASYNC_MIDDLEWARE} reads request._messages and its storage's used / added_new (the condition under "
        "which BaseStorage.update stores anything) to run MessageMiddleware.process_response on the event "
        "loop: Django changed them; re-check MessageMiddleware.response_needs_thread"
    )
    middleware = MessageMiddleware(lambda request: HttpResponse())
    session_store = import_module(django_settings.SESSION_ENGINE).SessionStore

    def request_with_storage():
        request = rf.get("/")
        request.session = session_store()
        middleware.process_request(request)
        return request

    with pinned(why):
        idle = request_with_storage()
        storage = getattr(idle, "_messages", None)
        assert isinstance(storage, BaseStorage), why
        assert (storage.used, storage.added_new) == (False, False), why
        response = HttpResponse()
        assert not middleware.response_needs_thread(idle, response), why
        storage.update(response)  # what process_response does: here it must store nothing, touch no database
        assert not response.cookies, why
        assert not idle.session.modified, why

        added = request_with_storage()
        messages.info(added, "Agent created.")
        assert middleware.response_needs_thread(added, HttpResponse()), why
        stored = HttpResponse()
        added._messages.update(stored)
        assert stored.cookies, why  # the flag said there was work, and there was

        read = request_with_storage()
        list(messages.get_messages(read))
        assert middleware.response_needs_thread(read, HttpResponse()), why


# --- static_files.py: a copy of WhiteNoiseMiddleware.__call__ ----------------------------------------------


def _answer(response) -> tuple:
    body = b"".join(response)
    # Closed as Django's test client closes one: without close_old_connections on request_finished, which
    # would reach for the test thread's database connection.
    request_finished.disconnect(close_old_connections)
    try:
        response.close()
    finally:
        request_finished.connect(close_old_connections)
    return response.status_code, sorted(response.items()), body


@pytest.mark.parametrize("autorefresh", [False, True], ids=["files", "autorefresh"])
def test_the_async_whitenoise_middleware_answers_every_path_as_whitenoise_itself_does(
    settings, rf, autorefresh
):
    why = (
        f"{STATIC_FILES} copies WhiteNoiseMiddleware.__call__ (autorefresh, find_file, files, serve): "
        "WhiteNoise changed how it answers; copy its __call__ again into _static_response"
    )
    settings.WHITENOISE_AUTOREFRESH = autorefresh

    def downstream(request):
        return HttpResponse(b"not a static file", status=418)

    async def async_downstream(request):
        return downstream(request)

    with pinned(why):
        stock = WhiteNoiseMiddleware(downstream)
        assert stock.autorefresh is autorefresh, why
        ours = AsyncCapableWhiteNoiseMiddleware(downstream)
        ours_async = AsyncCapableWhiteNoiseMiddleware(async_downstream)

        async def through_the_async_chain(request):
            return await ours_async(request)

        for url in ("/static/css/app.css", "/static/css/no-such-file.css", "/v1/calls"):
            expected = _answer(stock(rf.get(url)))
            assert _answer(ours(rf.get(url))) == expected, f"{url}: {why}"
            assert _answer(async_to_sync(through_the_async_chain)(rf.get(url))) == expected, f"{url}: {why}"
        assert _answer(stock(rf.get("/static/css/app.css")))[0] == 200  # a file was served, not passed on


def test_whitenoise_is_still_sync_only_so_the_async_wrapper_still_earns_its_place():
    assert not getattr(WhiteNoiseMiddleware, "async_capable", False), (
        f"WhiteNoiseMiddleware is async-capable now: {STATIC_FILES} may go. Put "
        "whitenoise.middleware.WhiteNoiseMiddleware back in MIDDLEWARE and check that "
        "tests/core/test_asgi_chain.py still finds the chain async"
    )


# --- db_threads.py: dropping a broken connection on a long-lived thread ----------------------------------

DB_THREADS_WHY = (
    f"{DB_THREADS} calls connections.all(initialized_only=True) and connection.is_usable() after a "
    "DatabaseError (to drop a connection a database restart broke) and connections.close_all() when a "
    "thread ends: Django changed them; re-check _Batcher._apply and _Batcher._run"
)


@pytest.mark.django_db(transaction=True)
def test_a_thread_lists_only_the_connections_it_opened_and_can_tell_a_broken_one():
    seen: dict = {}

    def database_thread() -> None:
        try:
            seen["before"] = [c.alias for c in connections.all(initialized_only=True)]
            connection.ensure_connection()
            seen["opened"] = [c.alias for c in connections.all(initialized_only=True)]
            seen["usable"] = connection.is_usable()
            connection.connection.close()  # what a database restart leaves behind
            seen["usable_once_broken"] = connection.is_usable()
            connections.close_all()
            seen["closed"] = connection.connection is None
        except Exception as exc:  # noqa: BLE001 -- reported below, naming the module
            seen["error"] = exc

    thread = threading.Thread(target=database_thread)
    thread.start()
    thread.join(30)
    assert "error" not in seen, f"{DB_THREADS_WHY}\n({seen.get('error')!r})"
    assert seen == {
        "before": [],
        "opened": [DEFAULT_DB_ALIAS],
        "usable": True,
        # SQLite's is_usable() is always True (nothing to lose); PostgreSQL's asks the server.
        "usable_once_broken": connection.vendor != "postgresql",
        "closed": True,
    }, DB_THREADS_WHY


@pytest.mark.django_db(transaction=True)
def test_a_database_error_fails_its_own_batch_and_the_database_thread_goes_on_to_the_next(settings):
    settings.HOT_DB_THREADS = 1

    def batch(items: list[str]) -> list[int]:
        with connection.cursor() as cursor:
            if "bad" in items:
                cursor.execute("SELECT * FROM fastpath_no_such_table")
            cursor.execute("SELECT 1")
            (one,) = cursor.fetchone()
        return [one] * len(items)

    async def submit(item: str):
        try:
            return await asyncio.wait_for(run_db_batched(batch, item), 10)
        except DatabaseError as exc:
            return exc
        except TimeoutError:
            return "no answer: the database thread died"

    async def one_after_the_other():
        return await submit("bad"), await submit("good")

    try:
        bad, good = asyncio.run(one_after_the_other())
    finally:
        db_threads_stop()
    assert isinstance(bad, DatabaseError), f"{bad!r}: {DB_THREADS_WHY}"
    assert good == 1, f"{good!r}: {DB_THREADS_WHY}"


# --- asgi_streaming.py: the pulls run on the view's thread --------------------------------------------------


def _stream_of_threads(request):
    """Streams, per item, the thread that ran this view and the thread that pulled the item."""
    view_thread = threading.get_ident()

    def lines():
        for _ in range(3):
            yield f"{view_thread} {threading.get_ident()}\n"

    return streaming_response(request, lines(), batch=1, content_type="text/plain")


urlpatterns = [path("fastpath/stream-of-threads", _stream_of_threads)]


async def _asgi_get(application, url: str) -> tuple[int, bytes]:
    """One GET through an ASGI application, driven the way a server drives it."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": url,
        "raw_path": url.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"testserver")],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }
    answered = asyncio.Event()
    sent: list[dict] = []
    asked = False

    async def receive() -> dict:
        nonlocal asked
        if not asked:
            asked = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await answered.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict) -> None:
        sent.append(message)
        if message["type"] == "http.response.body" and not message.get("more_body", False):
            answered.set()

    await application(scope, receive, send)
    return sent[0]["status"], b"".join(message.get("body", b"") for message in sent[1:])


@pytest.mark.urls(__name__)
def test_a_streamed_response_is_pulled_on_the_thread_that_ran_its_view_under_the_asgi_handler():
    why = (
        f"{ASGI_STREAMING} pulls a streamed iterator with sync_to_async(thread_sensitive=True), counting on "
        "Django's ASGI handler to run the sync view the same way, so that the iterator (its database cursor) "
        "stays on the view's thread: Django changed how it runs sync views; re-check pulled_in_batches"
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        # Run as a server runs it (no sync thread above the event loop), so the handler's thread-sensitive
        # work has a thread of its own, as under uvicorn, and not the test's thread with its connections.
        status, body = asyncio.run(_asgi_get(ASGIHandler(), "/fastpath/stream-of-threads"))
    assert status == 200
    assert not [w for w in caught if SYNC_ITERATOR_WARNING in str(w.message)], (
        f"{ASGI_STREAMING}: Django read the iterator whole; streaming_response no longer recognised the "
        "ASGIRequest"
    )
    threads = [line.split() for line in body.decode().splitlines()]
    assert len(threads) == 3
    assert all(view == pulled for view, pulled in threads), why


# --- layer_receive.py: channels-redis's storage of a channel ------------------------------------------------

LAYER_RECEIVE_WHY = (
    f"{LAYER_RECEIVE} reads a channels-redis channel itself: the sorted set at layer.prefix + channel on "
    "layer.connection(layer.consistent_hash(channel)), members decoded by layer.deserialize and carrying an "
    "__asgi_channel__ key, a blocking pop bounded by layer.brpop_timeout. channels-redis changed that; "
    "re-check receive_many against RedisChannelLayer.group_send and .receive"
)


@pytest.fixture
def redis_layer() -> RedisChannelLayer:
    """The project's channels-redis layer on the real Redis, under a prefix of this test's own."""
    config = dict(django_settings.CHANNEL_LAYERS["default"]["CONFIG"])
    return RedisChannelLayer(**config, prefix=f"fastpath-test-{uuid.uuid4().hex[:12]}")


def test_a_group_message_waits_at_the_prefixed_sorted_set_where_receive_many_takes_it_whole(redis_layer):
    layer = redis_layer
    channel = f"live.hub.{uuid.uuid4().hex}"  # a general channel, as the live hub names its own
    group = f"fastpath.{uuid.uuid4().hex}"

    async def scenario():
        try:
            await layer.group_add(group, channel)
            await layer.group_send(group, {"type": "live.events", "events": [1]})
            await layer.group_send(group, {"type": "live.events", "events": [2]})
            redis = layer.connection(layer.consistent_hash(channel))
            waiting = [
                layer.deserialize(member) for member in await redis.zrange(layer.prefix + channel, 0, -1)
            ]
            received = await receive_many(layer, channel)
            left = await redis.zcard(layer.prefix + channel)
        finally:
            await layer.flush()
        return waiting, received, left

    with pinned(LAYER_RECEIVE_WHY):
        for name in ("prefix", "connection", "consistent_hash", "brpop_timeout", "deserialize"):
            assert hasattr(layer, name), f"RedisChannelLayer.{name} is gone: {LAYER_RECEIVE_WHY}"
        waiting, received, left = asyncio.run(scenario())
    assert [message.get("events") for message in waiting] == [[1], [2]], LAYER_RECEIVE_WHY
    assert all("__asgi_channel__" in message for message in waiting), LAYER_RECEIVE_WHY
    assert received == [
        {"type": "live.events", "events": [1]},
        {"type": "live.events", "events": [2]},
    ], LAYER_RECEIVE_WHY
    assert left == 0, LAYER_RECEIVE_WHY


def test_receive_many_on_an_empty_channel_blocks_until_a_group_message_arrives(redis_layer):
    layer = redis_layer
    channel = f"live.hub.{uuid.uuid4().hex}"
    group = f"fastpath.{uuid.uuid4().hex}"
    assert isinstance(RedisChannelLayer.brpop_timeout, int | float), LAYER_RECEIVE_WHY

    async def scenario():
        redis = layer.connection(layer.consistent_hash(channel))
        try:
            await layer.group_add(group, channel)
            blocked_before = (await redis.info("clients"))["blocked_clients"]
            receiving = asyncio.create_task(receive_many(layer, channel))
            deadline = asyncio.get_running_loop().time() + 5
            while (await redis.info("clients"))["blocked_clients"] <= blocked_before:  # its blocking pop
                assert asyncio.get_running_loop().time() < deadline, "receive_many never blocked on Redis"
                assert not receiving.done(), (
                    f"receive_many returned {receiving.result()!r} from an empty channel"
                )
                await asyncio.sleep(0.01)
            await layer.group_send(group, {"type": "live.events", "events": [3]})
            return await asyncio.wait_for(receiving, layer.brpop_timeout + 5)
        finally:
            await layer.flush()

    with pinned(LAYER_RECEIVE_WHY):
        received = asyncio.run(scenario())
    assert received == [{"type": "live.events", "events": [3]}], LAYER_RECEIVE_WHY


def test_a_reader_loop_whose_cancel_was_swallowed_below_it_still_ends_cancelled(redis_layer):
    """redis-py was seen to swallow a cancel that landed mid-read and go back to its blocking pop: the
    supervision hub then looped for good and `asyncio.run` never returned (tests hung at random). A reader
    loop checks `raise_if_cancelling` each turn, and its pop is bounded by `block_seconds`."""
    layer = redis_layer
    channel = f"supervise.process.{uuid.uuid4().hex}"
    turns = 0

    async def reader() -> None:
        nonlocal turns
        while True:
            raise_if_cancelling()
            turns += 1
            # What the library below did: the cancel is lost, the task is still "cancelling".
            with contextlib.suppress(asyncio.CancelledError):
                await receive_many(layer, channel, block_seconds=0.2)

    async def scenario() -> tuple[bool, float]:
        try:
            task = asyncio.create_task(reader())
            await asyncio.sleep(0.3)
            cancelled_at = asyncio.get_running_loop().time()
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait_for(task, 5)
            return task.cancelled(), asyncio.get_running_loop().time() - cancelled_at
        finally:
            await layer.flush()

    ended_cancelled, took = asyncio.run(scenario())
    assert ended_cancelled
    assert took < 1.0  # one bounded pop at most, never the layer's 5 s nor forever
    assert turns >= 2  # the empty pops returned after block_seconds, and the loop went round


def test_an_error_out_of_a_cancelled_command_is_raised_as_the_cancel():
    async def scenario() -> bool:
        async def retrying() -> None:
            while True:
                try:
                    await asyncio.sleep(10)
                except asyncio.CancelledError as cancel:
                    error = ConnectionError("Connection closed by server.")  # how redis-py may answer it
                    try:
                        raise error from cancel
                    except Exception as exc:  # noqa: BLE001 -- the retry loop's catch-all under test
                        raise_if_cancelling(exc)

        task = asyncio.create_task(retrying())
        await asyncio.sleep(0)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(task, 2)
        return task.cancelled()

    assert asyncio.run(scenario())


# --- calls/lifecycle_sql.py: partial related rows attached to the locked calls ------------------------------

LIFECYCLE_SQL_WHY = (
    f"{LIFECYCLE_SQL} attaches partial rows read by its own SQL: Model.from_db(db, ['id', 'public_id'], ...) "
    "for the agent and campaign (other fields deferred) and Call.recording.related.set_cached_value for the "
    "recording or its absence. Django changed how these load or cache; re-check _attach_related"
)


@pytest.mark.django_db
def test_a_locked_batch_read_carries_agent_campaign_and_recording_without_another_query():
    with_all = CallFactory(record=True)
    campaign = Campaign.objects.create(name="Renewals", agent=with_all.agent)
    Call.objects.filter(pk=with_all.pk).update(campaign=campaign)
    Recording.objects.create(call=with_all, status="stored")
    bare = CallFactory()
    assert isinstance(Call.recording, ReverseOneToOneDescriptor), LIFECYCLE_SQL_WHY
    assert hasattr(Call.recording.related, "set_cached_value"), LIFECYCLE_SQL_WHY

    with pinned(LIFECYCLE_SQL_WHY):
        found = calls_lock(
            [
                EventIn(status=CallStatus.RINGING, public_id=with_all.public_id, source="test"),
                EventIn(status=CallStatus.RINGING, public_id=bare.public_id, source="test"),
            ]
        )
        locked, plain = found[("id", with_all.public_id)], found[("id", bare.public_id)]
        with CaptureQueriesContext(connection) as queries:
            attached = (
                locked.agent.public_id,
                locked.campaign.public_id,
                locked.recording.status,
                plain.campaign,
                hasattr(plain, "recording"),  # cached as absent: no query, no recording
            )
        assert attached == (with_all.agent.public_id, campaign.public_id, "stored", None, False), (
            LIFECYCLE_SQL_WHY
        )
        assert not queries.captured_queries, f"{len(queries)} queries: {LIFECYCLE_SQL_WHY}"
        with CaptureQueriesContext(connection) as queries:
            name = locked.agent.name  # not read by the batch: deferred, loaded on first use
        assert (name, len(queries)) == (with_all.agent.name, 1), LIFECYCLE_SQL_WHY


def test_the_database_features_that_choose_the_batch_lock_clause_are_still_there():
    why = (
        f"{LIFECYCLE_SQL} picks its lock clause from connection.features.has_select_for_update and "
        "has_select_for_update_of: Django renamed or dropped one; re-check _locked_calls_sql"
    )
    features = connection.features
    for name in ("has_select_for_update", "has_select_for_update_of"):
        assert isinstance(getattr(features, name, None), bool), f"{name}: {why}"
    expected = " FOR UPDATE OF c" if connection.vendor == "postgresql" else ""
    assert _locked_calls_sql("c.id = %s").endswith(f"ORDER BY c.id{expected}"), why


# --- bulk_insert.py: COPY through the DB-API cursor Django wraps ------------------------------------------

BULK_INSERT_WHY = (
    f"{BULK_INSERT} copies rows through CursorWrapper.cursor (psycopg 3's Cursor.copy) inside "
    "connection.wrap_database_errors on PostgreSQL, and uses the cursor's executemany elsewhere: Django or "
    "psycopg changed one; re-check rows_insert (make bench BENCH=campaign_import)"
)


def _contact_rows(campaign, rows: list[int]) -> list[tuple]:
    return [(campaign.pk, row, "+14155550101", "x", '{"name":"Zoë"}', "pending", "", "", 0) for row in rows]


@pytest.mark.django_db
def test_bulk_inserted_rows_are_in_the_transaction_and_read_back_as_the_orm_reads_them():
    columns = (
        "campaign_id",
        "row",
        "phone_number",
        "raw_number",
        "context",
        "status",
        "skip_reason",
        "message",
        "attempts",
    )
    campaign = CampaignFactory()
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            assert callable(getattr(getattr(cursor, "cursor", None), "copy", None)), BULK_INSERT_WHY
    with pinned(BULK_INSERT_WHY):
        with transaction.atomic():
            rows_insert(table=Contact._meta.db_table, columns=columns, rows=_contact_rows(campaign, [2, 3]))
            transaction.set_rollback(True)
        assert not Contact.objects.filter(campaign=campaign).exists(), BULK_INSERT_WHY
        rows_insert(table=Contact._meta.db_table, columns=columns, rows=_contact_rows(campaign, [2, 3]))
    contacts = list(
        Contact.objects.filter(campaign=campaign).values_list("row", "context", "status", "attempts")
    )
    assert contacts == [(2, {"name": "Zoë"}, "pending", 0), (3, {"name": "Zoë"}, "pending", 0)], (
        BULK_INSERT_WHY
    )


@pytest.mark.django_db
def test_a_bulk_insert_that_breaks_a_constraint_raises_djangos_integrity_error():
    columns = (
        "campaign_id",
        "row",
        "phone_number",
        "raw_number",
        "context",
        "status",
        "skip_reason",
        "message",
        "attempts",
    )
    campaign = CampaignFactory()
    with pytest.raises(IntegrityError), transaction.atomic():  # (campaign, row) is unique
        rows_insert(table=Contact._meta.db_table, columns=columns, rows=_contact_rows(campaign, [2, 2]))
    assert not Contact.objects.filter(campaign=campaign).exists()
