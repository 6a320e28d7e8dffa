"""Agents and numbers as people read them in messages and sentences: by name, with a link to their page
("Billing Support", "+44 20 7946 0958"), never by their ids alone."""

from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString

from agents.models import Agent, PhoneNumber
from agents.phone import format_national


def number_readable(e164: str) -> str:
    """'+442079460958' → '+44 20 7946 0958'."""
    return format_national(e164) if e164 else ""


def agent_link(agent: Agent | None, *, none: str = "no agent") -> SafeString:
    if agent is None:
        return format_html("{}", none)
    url = reverse("agents:detail", kwargs={"agent_id": agent.public_id})
    return format_html('<a href="{}" title="{}">{}</a>', url, agent.public_id, agent.name)


def number_link(number: PhoneNumber) -> SafeString:
    url = reverse("numbers:detail", kwargs={"number_id": number.public_id})
    return format_html('<a href="{}" class="mono">{}</a>', url, number_readable(number.number))
