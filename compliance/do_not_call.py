"""The do-not-call list: numbers no outbound call may be placed to.

Numbers are added from the page, the API, a CSV import (compliance/do_not_call_import.py) or by the caller
during a call (`do_not_call_opt_out`, reached through the agent runtime seam), and removed from the page
and the API. Every change is audited, by number (`object_id` is the E.164 number), so a number's whole
history is one filter of the audit log."""

from __future__ import annotations

import re
from collections.abc import Iterable

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import transaction
from django.db.models import QuerySet

from agents.services import number_normalize
from compliance.models import DoNotCall, DoNotCallSource
from wordcab_admin.kernel.audit import audit_record
from wordcab_admin.kernel.errors import DomainError, NotFound

Actor = AbstractBaseUser | AnonymousUser | None

MAX_REASON_LENGTH = DoNotCall._meta.get_field("reason").max_length
AUDIT_OBJECT_TYPE = "do_not_call"


def do_not_call_entry(number: str) -> DoNotCall | None:
    """The list's entry for an E.164 number, or None when it may be called."""
    return DoNotCall.objects.filter(number=number).first()


def do_not_call_entries_for(numbers: Iterable[str]) -> dict[str, DoNotCall]:
    """The list's entries for many E.164 numbers at once, by number (one query): a number absent from the
    answer may be called. For a batch of calls cleared together (a campaign's dispatch run)."""
    wanted = {number for number in numbers if number}
    if not wanted:
        return {}
    return {entry.number: entry for entry in DoNotCall.objects.filter(number__in=wanted)}


def do_not_call_entries(*, query: str = "") -> QuerySet[DoNotCall]:
    """The list, newest first, narrowed to numbers holding the digits of `query` however it was typed:
    '(415) 555' finds +14155550123."""
    entries = DoNotCall.objects.select_related("added_by")
    digits = re.sub(r"\D", "", query)
    if digits:
        entries = entries.filter(number__contains=digits)
    elif query.strip():  # letters only: nothing can match a number
        entries = entries.none()
    return entries


def do_not_call_get(*, number: str) -> DoNotCall:
    """The entry for a number however it was typed; a 404 when it is not listed."""
    e164 = number_normalize(number, field="number")
    entry = DoNotCall.objects.select_related("added_by").filter(number=e164).first()
    if entry is None:
        raise NotFound(f"{e164} is not on the do-not-call list.", field="number")
    return entry


def reason_clean(reason: str | None) -> str:
    text = " ".join((reason or "").split())  # one line: it is shown in tables and exported as CSV
    if len(text) > MAX_REASON_LENGTH:
        raise DomainError(f"Keep the reason under {MAX_REASON_LENGTH} characters.", field="reason")
    return text


def do_not_call_audit_view(entry: DoNotCall) -> dict:
    """What the audit log keeps of an entry, before → after."""
    return {
        "number": entry.number,
        "reason": entry.reason,
        "source": entry.source,
        "added_by": entry.added_by.get_username() if entry.added_by_id else None,
        "call_id": entry.call_public_id or None,
    }


def _user(actor: Actor) -> AbstractBaseUser | None:
    return actor if actor is not None and actor.is_authenticated else None


def do_not_call_add(
    *, actor: Actor, number: str, reason: str = "", source: DoNotCallSource = DoNotCallSource.API
) -> tuple[DoNotCall, bool]:
    """List a number typed any way people type them (read in DEFAULT_PHONE_REGION). Adding a number that is
    already listed changes nothing: the existing entry is answered, with `created` False, and its reason,
    source and author stay those of whoever listed it first."""
    e164 = number_normalize(number, field="number")
    reason = reason_clean(reason)
    with transaction.atomic():
        entry, created = DoNotCall.objects.select_related("added_by").get_or_create(
            number=e164, defaults={"reason": reason, "source": source, "added_by": _user(actor)}
        )
        if created:
            audit_record(
                actor=actor,
                action="do_not_call.added",
                object_type=AUDIT_OBJECT_TYPE,
                object_id=e164,
                after=do_not_call_audit_view(entry),
            )
    return entry, created


def do_not_call_remove(*, actor: Actor, number: str) -> DoNotCall:
    """Take a number off the list (it may be called again); a 404 when it is not listed."""
    e164 = number_normalize(number, field="number")
    with transaction.atomic():
        entry = (
            DoNotCall.objects.select_for_update(of=("self",))
            .select_related("added_by")
            .filter(number=e164)
            .first()
        )
        if entry is None:
            raise NotFound(f"{e164} is not on the do-not-call list.", field="number")
        before = do_not_call_audit_view(entry)
        entry.delete()
        audit_record(
            actor=actor,
            action="do_not_call.removed",
            object_type=AUDIT_OBJECT_TYPE,
            object_id=e164,
            before=before,
        )
    return entry


def opt_out_reason(said: str) -> str:
    """The entry's reason: the caller's own words, cut to fit."""
    words = " ".join((said or "").split())
    reason = f"Asked during the call: “{words}”" if words else "Asked during the call"
    if len(reason) > MAX_REASON_LENGTH:
        reason = reason[: MAX_REASON_LENGTH - 2] + "…”"
    return reason


def do_not_call_opt_out(*, number: str, call_public_id: str, said: str) -> DoNotCall:
    """The caller asked, during call `call_public_id`, not to be called again ("take me off your list").

    Lists their number with source opt_out and the call's id. A number already listed keeps its entry;
    the request is audited either way (actor: system, with what was said and the call it was said in),
    since it is the caller's own word and the evidence a regulator asks for."""
    e164 = number_normalize(number, field="number")
    words = " ".join((said or "").split())[:MAX_REASON_LENGTH]
    with transaction.atomic():
        entry, created = DoNotCall.objects.select_related("added_by").get_or_create(
            number=e164,
            defaults={
                "reason": opt_out_reason(words),
                "source": DoNotCallSource.OPT_OUT,
                "call_public_id": call_public_id[:64],
            },
        )
        view = do_not_call_audit_view(entry)
        audit_record(
            actor=None,
            action="do_not_call.opted_out",
            object_type=AUDIT_OBJECT_TYPE,
            object_id=e164,
            before=None if created else view,
            after={**view, "opt_out_call_id": call_public_id, "said": words},
        )
    return entry
