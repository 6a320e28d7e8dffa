"""Streamed responses stream under ASGI: a large CSV export or a long recording is not read into memory
before its first byte leaves (Django does that, with a warning, for a plain iterator under ASGI)."""

import csv
import io
import warnings

import pytest
from asgiref.sync import async_to_sync
from django.test import AsyncClient
from django.utils import timezone

from calls.models import CallStatus
from calls.recording_tasks import simulate_recording
from tests.calls.conftest import local_store_settings
from tests.factories import AgentFactory, CallFactory, UserFactory
from wordcab_admin.accounts import api_key_create
from wordcab_admin.roles import Role
from wordcab_admin.streaming import pulled_in_batches

SYNC_ITERATOR_WARNING = "must consume synchronous iterators"


def test_a_streamed_iterator_is_pulled_one_batch_at_a_time():
    pulled = []

    def rows():
        for i in range(10_000):
            pulled.append(i)
            yield i

    async def first_item_and_how_many_were_pulled():
        stream = pulled_in_batches(rows(), 100)
        first = await anext(stream)
        await stream.aclose()
        return first, len(pulled)

    assert async_to_sync(first_item_and_how_many_were_pulled)() == (0, 100)


def streamed_body(request) -> bytes:
    """Run `request` (a coroutine function returning a response) through the ASGI handler and read the body
    the way the server does; Django warns when it has to read a sync iterator whole first."""

    async def read() -> bytes:
        response = await request()
        assert response.status_code == 200
        assert response.is_async  # the ASGI handler iterates it without reading it all first
        return b"".join([part async for part in response.streaming_content])

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        body = async_to_sync(read)()
    assert not [w for w in caught if SYNC_ITERATOR_WARNING in str(w.message)]
    return body


@pytest.mark.django_db(transaction=True)
def test_the_calls_csv_export_streams_through_the_asgi_handler_and_holds_every_row():
    agent = AgentFactory()
    CallFactory.create_batch(1203, agent=agent, status=CallStatus.COMPLETED)  # three pulls of 500, and a bit
    viewer = UserFactory(role=Role.VIEWER)

    async def export():
        client = AsyncClient()
        await client.aforce_login(viewer)
        return await client.get("/calls/export.csv")

    rows = list(csv.reader(io.StringIO(streamed_body(export).decode())))
    assert len(rows) == 1 + 1203
    assert rows[0][0] == "id"


@pytest.mark.django_db(transaction=True)
def test_a_recording_streams_through_the_asgi_handler_byte_for_byte(settings, tmp_path):
    settings.RECORDINGS_SPOOL_DIR = tmp_path / "spool"
    settings.STORAGES = {**settings.STORAGES, "recordings": local_store_settings(tmp_path)}
    settings.CELERY_TASK_ALWAYS_EAGER = True
    call = CallFactory(
        status=CallStatus.COMPLETED, record=True, answered_at=timezone.now(), ended_at=timezone.now()
    )
    simulate_recording(call_id=call.pk, talk_seconds=5)
    call.refresh_from_db()
    _, key = api_key_create(user=UserFactory(role=Role.OPERATOR), name="player")

    async def play():
        return await AsyncClient().get(
            f"/v1/calls/{call.public_id}/recording", headers={"Authorization": f"Bearer {key}"}
        )

    data = streamed_body(play)
    assert data[:4] == b"RIFF"
    assert len(data) == call.recording.size_bytes
