"""Reading transcripts: full-text search over what was said.

On PostgreSQL the search is PostgreSQL's full-text search: `websearch_to_tsquery('english', q)` (words,
"quoted phrases", -excluded, or) against `to_tsvector('english', text)`, the very expression of the GIN
index the migration makes, so the planner reads the index instead of every line. Elsewhere (SQLite) every
word of `q` must appear in the line (case-insensitive `LIKE`): slower at scale, the same answers for
plain words."""

from __future__ import annotations

from django.db import connection
from django.db.models import BooleanField, F, Func, Q, QuerySet, Value

from calls.models import Call
from calls.services import calls_for_display
from transcripts.models import TranscriptSegment

MAX_QUERY_CHARS = 200


class TextMatches(Func):
    """`to_tsvector('english', text) @@ websearch_to_tsquery('english', q)` (PostgreSQL), as an expression so
    that Django names the column with the alias of the query it is in (a subquery's is not the table's)."""

    template = "to_tsvector('english'::regconfig, %(expressions)s)"
    arg_joiner = ") @@ websearch_to_tsquery('english'::regconfig, "
    output_field = BooleanField()


def segments_matching(q: str) -> QuerySet[TranscriptSegment]:
    segments = TranscriptSegment.objects.all()
    if connection.vendor == "postgresql":
        return segments.filter(TextMatches(F("text"), Value(q)))
    words = q.split()
    condition = Q()
    for word in words:
        condition &= Q(text__icontains=word.strip('"'))
    return segments.filter(condition)


def calls_with_transcript_matching(q: str) -> QuerySet[Call]:
    """Calls that have at least one line matching `q`, ready to render (newest first by the paginator)."""
    return calls_for_display().filter(pk__in=segments_matching(q).values("call_id"))


def first_matches(q: str, calls: list[Call]) -> dict[int, TranscriptSegment]:
    """The earliest matching line of each of `calls` (one query for the page)."""
    found: dict[int, TranscriptSegment] = {}
    for segment in (
        segments_matching(q).filter(call__in=[call.pk for call in calls]).order_by("call_id", "start", "seq")
    ):
        found.setdefault(segment.call_id, segment)
    return found
