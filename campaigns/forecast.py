"""The preflight forecast: of a campaign's contacts still to call, how many can be called now, later today,
only on other days, or never before the campaign ends (their calling windows, the campaign's own window,
its start and end), and how many are blocked and why.

Contacts are read in groups that share where their numbers ring (numbers alike up to the exchange: the
same jurisdiction and time zones), so a million contacts cost a few thousand window checks, not a million."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import Count, Exists, Min, OuterRef
from django.db.models.functions import Substr

from agents.phone import jurisdiction_for
from campaigns.models import Campaign, Contact, ContactStatus
from campaigns.windows import number_zones, window_opens_next
from compliance import clearance
from compliance.calling_windows import calling_window_check
from compliance.jurisdictions import jurisdiction_rules
from compliance.models import DoNotCall

GROUP_DIGITS = 8  # "+1415555": country, area code and exchange
MAX_STEPS = 8  # alternations between the jurisdiction's and the campaign's windows before giving up
BUCKETS = ("now", "later_today", "other_days", "never")


def campaign_forecast(campaign: Campaign, now: datetime | None = None) -> dict[str, Any]:
    now = now or clearance.clearance_clock()
    counts = dict(Contact.objects.filter(campaign=campaign).values_list("status").annotate(n=Count("id")))
    listed = DoNotCall.objects.filter(number=OuterRef("phone_number"))
    pending = Contact.objects.filter(campaign=campaign, status=ContactStatus.PENDING)
    newly_listed = pending.filter(Exists(listed)).count()
    forecast: dict[str, Any] = dict.fromkeys(BUCKETS, 0)
    groups = (
        pending.exclude(Exists(listed))
        .annotate(place=Substr("phone_number", 1, GROUP_DIGITS))
        .values("place")
        .annotate(n=Count("id"), number=Min("phone_number"), due=Min("next_attempt_at"))
        .order_by()
    )
    for group in groups:
        start = max(now, group["due"]) if group["due"] else now
        if campaign.start_at and campaign.start_at > start:
            start = campaign.start_at
        forecast[_bucket(campaign, group["number"], start, now)] += group["n"]
    blocked = dict(
        Contact.objects.filter(campaign=campaign, status=ContactStatus.SKIPPED)
        .values_list("skip_reason")
        .annotate(n=Count("id"))
        .order_by()
    )
    if newly_listed:
        blocked["do_not_call"] = blocked.get("do_not_call", 0) + newly_listed
    forecast["blocked"] = blocked
    forecast["calling"] = counts.get(ContactStatus.CALLING, 0)
    forecast["done"] = sum(
        counts.get(s, 0) for s in (ContactStatus.COMPLETED, ContactStatus.FAILED, ContactStatus.NO_ANSWER)
    )
    forecast["total"] = sum(counts.values())
    forecast["at"] = now.isoformat().replace("+00:00", "Z")
    return forecast


def first_callable_instant(campaign: Campaign, number: str, start: datetime) -> datetime | None:
    """The first instant from `start` inside both the jurisdiction's window where `number` rings and the
    campaign's own window, before the campaign's end; None if there is none within a week."""
    rules = jurisdiction_rules(jurisdiction_for(number))
    moment: datetime | None = start
    for _ in range(MAX_STEPS):
        if moment is None or (campaign.end_at and moment >= campaign.end_at):
            return None
        check = calling_window_check(rules=rules, number=number, now=moment)
        if not check.inside:
            moment = check.opens_next
            continue
        if campaign.window_start and campaign.window_end:
            opens = window_opens_next(
                number=number, start=campaign.window_start, end=campaign.window_end, now=moment
            )
            if opens is not None:
                moment = opens
                continue
        return moment
    return None


def _bucket(campaign: Campaign, number: str, start: datetime, now: datetime) -> str:
    callable_at = first_callable_instant(campaign, number, start)
    if callable_at is None:
        return "never"
    if callable_at <= now:
        return "now"
    zone = number_zones(number)[0]
    return (
        "later_today" if callable_at.astimezone(zone).date() == now.astimezone(zone).date() else "other_days"
    )
