"""Call changes, announced once they are committed.

calls stands below the apps that react to a call's change (live broadcasts it, campaigns finish when
their last call ends), so it sends Django signals rather than calling them: each receiver is connected in
its own app's `ready()`. Signals are sent from `transaction.on_commit`, so a rolled-back change never
reaches anybody, and in the order the changes were made.

- `calls_changed(calls=[call object, ...], campaign_ids={pk, ...})`: the call objects (docs/contract.md) as each
  transition left them, in order, and the campaigns those calls belong to.
- `calls_ended(campaign_ids=[pk, ...])`: campaigns one of whose calls ended; sent before `calls_changed`
  of the same commit, so that the campaign's counts broadcast with it already show it finished."""

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.db import transaction
from django.dispatch import Signal

from calls.models import Call
from calls.serializers import call_object

calls_changed = Signal()
calls_ended = Signal()

Announcement = tuple[list[dict], frozenset[int]]
_gathering: ContextVar[list[Announcement] | None] = ContextVar("calls_changes_gathered", default=None)


def call_changed_on_commit(call: Call) -> None:
    """Announce `call` as it is now once the current transaction commits."""
    calls_changed_on_commit([call_object(call)], {call.campaign_id} if call.campaign_id else set())


def calls_changed_on_commit(calls: list[dict], campaign_ids: Iterable[int] = ()) -> None:
    """Announce ready call objects, in order, once the current transaction commits."""
    campaign_ids = frozenset(campaign_ids)
    gathered = _gathering.get()
    if gathered is not None:
        # Gathered by the commit itself: a savepoint rolled back drops its hooks, so only committed
        # changes are gathered, in order, before the one hook that sends them all (calls_changes_gathered).
        transaction.on_commit(lambda: gathered.append((calls, campaign_ids)))
        return
    transaction.on_commit(
        lambda: calls_changed.send(sender=Call, calls=calls, campaign_ids=campaign_ids), robust=True
    )


def calls_ended_on_commit(campaign_ids: Iterable[int]) -> None:
    ended = sorted(set(campaign_ids))
    transaction.on_commit(lambda: calls_ended.send(sender=Call, campaign_ids=ended), robust=True)


@contextmanager
def calls_changes_gathered() -> Iterator[None]:
    """Inside a transaction that changes many calls (a campaign's dispatch run), announce them all as one
    `calls_changed` after commit rather than one per call: each campaign's counts are then read once."""
    gathered: list[Announcement] = []
    token = _gathering.set(gathered)
    try:
        yield
    finally:
        _gathering.reset(token)
    transaction.on_commit(lambda: _gathered_send(gathered), robust=True)


def _gathered_send(gathered: list[Announcement]) -> None:
    if not gathered:
        return
    calls = [call for batch, _ids in gathered for call in batch]
    campaign_ids = frozenset().union(*(ids for _calls, ids in gathered))
    calls_changed.send(sender=Call, calls=calls, campaign_ids=campaign_ids)
