"""Filling CallHourly: the periodic rollup, and the same aggregation for the hours it has not counted yet.

The rule for late changes: a call belongs to the hour it was *created* in (UTC), and every write to a call
moves its `updated_at` (the lifecycle, placing, consent). A run re-aggregates, from the calls table, every hour
that holds a call updated since the previous run started reading (less SAFETY_MARGIN, for a transaction that
wrote before that instant and committed after it): it deletes those hours' rows and inserts them again, in one
transaction. So a run is idempotent (it rewrites whole hours, never adds to a row), a call that ends hours
after it was created is re-counted in its own hour, and a call placed now is counted by the next run.

Readers (analytics/selectors.py) count the hours still "dirty" (a call in them updated since the watermark,
less the same margin) live from the calls table with `hour_rows`, and read every other hour from the table:
the numbers are exact without waiting for the next run. Calls are never deleted by the app (retention deletes
recordings, not calls); a call deleted by hand stays counted until its hour is rolled up again."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta

from django.db import connection, transaction
from django.db.models import Case, Count, F, FloatField, Q, QuerySet, Sum, Value, When
from django.db.models.functions import Coalesce, TruncDate, TruncHour
from django.utils import timezone

from analytics.models import CallDaily, CallHourly, RollupWatermark
from calls.models import Call, CallStatus, Direction
from calls.outcomes import REACHED_A_PERSON
from wordcab_admin.kernel.sql_time import SecondsBetween

WATERMARK = "calls"
SAFETY_MARGIN = timedelta(minutes=5)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
INSERT_BATCH = 2000
HOUR = timedelta(hours=1)

ENDED = Q(status__in=[s.value for s in CallStatus.terminal()])
CONNECTED = REACHED_A_PERSON  # the wallboard's "connected" (calls/outcomes.py)
TALK_KNOWN = Q(answered_at__isnull=False, ended_at__isnull=False)


TALK = SecondsBetween("answered_at", "ended_at")
# Our number on the call: the caller id we dialled out from, or the number the caller dialled in to.
OUR_NUMBER = Case(When(direction=Direction.INBOUND, then=F("to_number")), default=F("from_number"))
DIMENSIONS = ("agent_id", "campaign_id", "number", "status", "end_reason", "error_code")
GRAIN = ("hour", *DIMENSIONS)
MEASURES = ("calls", "ended", "connected", "talk_seconds", "handle_seconds", "handled_calls")


def hour_floor(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def _grained(calls: QuerySet[Call]) -> QuerySet:
    """`calls` aggregated to the rollup's grain: GRAIN's columns, then MEASURES'."""
    zero = Value(0.0, output_field=FloatField())
    return (
        calls.annotate(hour=TruncHour("created_at", tzinfo=UTC), number=OUR_NUMBER)
        .values(*GRAIN)
        .annotate(
            calls=Count("id"),
            ended=Count("id", filter=ENDED),
            connected=Count("id", filter=CONNECTED),
            talk_seconds=Coalesce(Sum(TALK, filter=TALK_KNOWN), zero),
            handle_seconds=Coalesce(Sum(TALK, filter=CONNECTED & TALK_KNOWN), zero),
            handled_calls=Count("id", filter=CONNECTED & TALK_KNOWN),
        )
        .order_by()
    )


def hour_rows(calls: QuerySet[Call]) -> Iterator[dict]:
    """`calls` aggregated to the rollup's grain: dicts with GRAIN's keys and MEASURES' values."""
    return _grained(calls).iterator(chunk_size=INSERT_BATCH)


def _spans(hours: Iterable[datetime]) -> list[tuple[datetime, datetime]]:
    """Sorted hours merged into [start, end) spans, so that a long backlog is one range, not many."""
    spans: list[tuple[datetime, datetime]] = []
    for hour in sorted(set(hours)):
        if spans and spans[-1][1] == hour:
            spans[-1] = (spans[-1][0], hour + HOUR)
        else:
            spans.append((hour, hour + HOUR))
    return spans


def created_in(hours: Iterable[datetime]) -> Q:
    """Calls created in any of `hours` (a Q matching nothing when there are none)."""
    matches = Q(pk__in=[])
    for start, end in _spans(hours):
        matches |= Q(created_at__gte=start, created_at__lt=end)
    return matches


def hours_changed_since(moment: datetime) -> set[datetime]:
    """The creation hours of the calls updated at or after `moment` (the `call_updated_at` index)."""
    created = (
        Call.objects.filter(updated_at__gte=moment)
        .annotate(hour=TruncHour("created_at", tzinfo=UTC))
        .values_list("hour", flat=True)
        .distinct()
        .order_by()
    )
    return {hour_floor(hour) for hour in created}


def watermark() -> datetime:
    """When the last run started reading; the epoch before the first run (every hour is dirty)."""
    row = RollupWatermark.objects.filter(name=WATERMARK).first()
    return row.read_from if row is not None else EPOCH


def dirty_hours() -> set[datetime]:
    """The hours whose table rows may be stale: counted live by readers, rewritten by the next run."""
    return hours_changed_since(watermark() - SAFETY_MARGIN)


def calls_rollup() -> int:
    """Rewrite every hour touched since the last run; the number of hours rewritten. Runs one at a time (the
    watermark's row lock), in one transaction, so a reader sees the old hours or the new, never half."""
    with transaction.atomic():
        mark, _ = RollupWatermark.objects.select_for_update().get_or_create(
            name=WATERMARK, defaults={"read_from": EPOCH}
        )
        read_from = timezone.now()
        hours = hours_changed_since(mark.read_from - SAFETY_MARGIN)
        if hours:
            _rewrite(hours)
        mark.read_from = read_from
        mark.save(update_fields=["read_from"])
    return len(hours)


def _rewrite(hours: set[datetime]) -> None:
    for start, end in _spans(hours):
        CallHourly.objects.filter(hour__gte=start, hour__lt=end).delete()
    _insert_select(CallHourly, _grained(Call.objects.filter(created_in(hours))), GRAIN)
    days = {hour.date() for hour in hours}
    CallDaily.objects.filter(day__in=days).delete()
    _insert_select(CallDaily, _day_sums(days), ("day", *DIMENSIONS))


def _day_sums(days: set) -> QuerySet:
    """The UTC `days`' hourly rows summed per day, at the same grain."""
    hours = {datetime(d.year, d.month, d.day, tzinfo=UTC) + HOUR * n for d in days for n in range(24)}
    return (
        CallHourly.objects.filter(created_in_hours(hours))
        .annotate(day=TruncDate("hour", tzinfo=UTC))
        .values("day", *DIMENSIONS)
        .annotate(**{measure: Sum(measure) for measure in MEASURES})
        .order_by()
    )


def _insert_select(model: type[CallHourly] | type[CallDaily], rows: QuerySet, keys: tuple[str, ...]) -> None:
    """INSERT … SELECT of an aggregate: the database moves the rows (a year of a million calls' first rollup:
    minutes through Python objects). The aggregate's columns are read by name from a subquery, so their order
    in Django's SELECT does not matter."""
    quote = connection.ops.quote_name
    columns = ", ".join(quote(name) for name in (*keys, *MEASURES))
    select, params = rows.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {quote(model._meta.db_table)} ({columns}) SELECT {columns} FROM ({select}) AS rolled",  # noqa: S608 -- our names, quoted
            params,
        )


def created_in_hours(hours: Iterable[datetime]) -> Q:
    """CallHourly rows of any of `hours`."""
    matches = Q(pk__in=[])
    for start, end in _spans(hours):
        matches |= Q(hour__gte=start, hour__lt=end)
    return matches
