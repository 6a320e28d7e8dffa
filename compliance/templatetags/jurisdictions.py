"""Jurisdiction rules in words, for the jurisdictions pages and the call page's decision."""

from datetime import datetime

from django import template

from compliance.day_rules import day_rules_summary
from compliance.models import RecordingConsent

register = template.Library()


@register.filter
def day_rules_lines(rules: dict | None) -> list[str]:
    """{"sunday": "closed"} → ["Sundays: closed"]."""
    return day_rules_summary(rules or {})


@register.filter
def consent_label(rule: str | None) -> str:
    """'all_party' → 'All parties'; None → 'unknown'."""
    if not rule:
        return "unknown"
    return RecordingConsent(rule).label if rule in RecordingConsent.values else rule


@register.filter
def local_clock(iso_text: str | None) -> str:
    """'2026-06-17T11:30:00-07:00' → '2026-06-17 11:30 (UTC-07:00)': a decision's local time, as written."""
    if not iso_text:
        return "—"
    try:
        moment = datetime.fromisoformat(iso_text)
    except ValueError:
        return iso_text
    offset = moment.strftime("%z")
    return f"{moment:%Y-%m-%d %H:%M} (UTC{offset[:3]}:{offset[3:]})" if offset else f"{moment:%Y-%m-%d %H:%M}"
