"""Streamed responses stream under ASGI: a large CSV export or a long recording is not read into memory
before its first byte leaves (Django does that, with a warning, for a plain iterator under ASGI)."""

import csv
import io

import pytest
from asgiref.sync import async_to_sync
from django.test import AsyncClient

from calls.models import CallStatus
from tests.factories import AgentFactory, CallFactory, UserFactory
from tests.helpers import streamed_body
from wordcab_admin.kernel.fastpath.asgi_streaming import pulled_in_batches
from wordcab_admin.kernel.roles import Role


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
