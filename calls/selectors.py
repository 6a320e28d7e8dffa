"""Reads of calls for the pages: the calls list's search.

The search box takes a phone number the way people type it ("(415) 555-0142", "+44 20 7946 0958", the last
digits "0142") or any text of the call's context (a customer's name, an order number). A number matches the
callee's or the caller's number; text matches the context's JSON, keys and values, case-insensitively.

Neither can use an index (a number is matched anywhere in the stored E.164, text anywhere in the JSON), so a
page's search reads a bounded slice: the newest `SEARCH_WINDOW` calls at or below where the page starts (the
primary key's index finds them), newest first, stopping as soon as a page is full. The page then offers to
search the slice before it. The CSV export reads every call, as an export does anyway."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

import phonenumbers
from django.conf import settings
from django.db.models import Q, QuerySet, TextField
from django.db.models.functions import Cast

from calls.models import Call

# The calls a page's search reads at most (bench_wallboard: under 40 ms on either database).
SEARCH_WINDOW = 20_000
SEARCH_MAX_LENGTH = 200
MIN_NUMBER_DIGITS = 3  # fewer digits would match nearly every number: such a search is text
_PHONE_LIKE = re.compile(r"[\d\s().+\-/]+")


@dataclass(frozen=True)
class CallSearch:
    text: str
    number_digits: tuple[str, ...]  # digit strings a matching number contains; () for a text search

    @property
    def is_number(self) -> bool:
        return bool(self.number_digits)


def call_search_parse(raw: str) -> CallSearch | None:
    """What the search box asks for; None when it is empty."""
    text = raw.strip()[:SEARCH_MAX_LENGTH]
    if not text:
        return None
    digits = re.sub(r"\D", "", text)
    if not (_PHONE_LIKE.fullmatch(text) and len(digits) >= MIN_NUMBER_DIGITS):
        return CallSearch(text=text, number_digits=())
    return CallSearch(text=text, number_digits=tuple(_number_digit_variants(text, digits)))


def _number_digit_variants(text: str, digits: str) -> list[str]:
    """The digits a stored E.164 number contains when it is the number typed: its national significant
    number when phonenumbers can read it (in DEFAULT_PHONE_REGION), else the digits as typed, and without a
    national trunk prefix ("020 7946 0958" is +44 20 7946 0958)."""
    variants = []
    try:
        parsed = phonenumbers.parse(text, settings.DEFAULT_PHONE_REGION)
    except phonenumbers.NumberParseException:
        parsed = None
    if parsed is not None and phonenumbers.is_possible_number(parsed):
        variants.append(str(parsed.national_number))
    variants.append(digits)
    trunkless = digits.lstrip("0")
    if trunkless != digits and len(trunkless) >= MIN_NUMBER_DIGITS:
        variants.append(trunkless)
    return list(dict.fromkeys(variants))


def _context_text_variants(text: str) -> list[str]:
    """The search text as each database spells it inside the stored JSON: as typed (PostgreSQL's jsonb
    prints non-ASCII as is), and JSON-escaped (quotes, backslashes; SQLite's text keeps `\\u00e9` for é)."""
    escaped_ascii = json.dumps(text)[1:-1]
    escaped = json.dumps(text, ensure_ascii=False)[1:-1]
    return list(dict.fromkeys([text, escaped, escaped_ascii]))


def calls_matching(calls: QuerySet[Call], search: CallSearch) -> QuerySet[Call]:
    """`calls` narrowed to those the search finds (every one of them: no window)."""
    context = Q()
    for variant in _context_text_variants(search.text):
        context |= Q(context_text__icontains=variant)
    matches = context
    for digits in search.number_digits:
        matches |= Q(to_number__contains=digits) | Q(from_number__contains=digits)
    return calls.annotate(context_text=Cast("context", TextField())).filter(matches)


@dataclass(frozen=True)
class SearchSlice:
    calls: QuerySet[Call]
    floor: int  # the lowest call id the slice reads; the next slice starts below it
    more_before: bool  # calls older than the slice exist (within the other filters)


def calls_search_slice(calls: QuerySet[Call], search: CallSearch, *, below: int | None) -> SearchSlice:
    """The matches among the newest SEARCH_WINDOW calls of `calls` with an id below `below` (None: all)."""
    newest = calls.order_by("-id")
    if below is not None:
        newest = newest.filter(pk__lt=below)
    top = newest.values_list("pk", flat=True).first()
    if top is None:
        return SearchSlice(calls=calls.none(), floor=0, more_before=False)
    floor = max(1, top - SEARCH_WINDOW + 1)
    window = calls.filter(pk__gte=floor, pk__lte=top)
    more_before = floor > 1 and calls.filter(pk__lt=floor).exists()
    return SearchSlice(calls=calls_matching(window, search), floor=floor, more_before=more_before)
