"""Reads shared by pages and the API."""

from django.db.models import Prefetch, Q, QuerySet

from agents.models import Agent, PhoneNumber
from agents.phone import InvalidPhoneNumber, normalize_e164
from wordcab_admin.kernel.errors import NotFound


def agents_with_numbers() -> QuerySet[Agent]:
    return Agent.objects.prefetch_related(
        Prefetch("phone_numbers", queryset=PhoneNumber.objects.order_by("number"))
    )


def agent_search(*, query: str = "", active: bool | None = None) -> QuerySet[Agent]:
    """Name, id, description or one of its numbers (typed any way: '415 555 1234' finds +14155551234)."""
    agents = agents_with_numbers()
    query = query.strip()
    if query:
        match = Q(name__icontains=query) | Q(public_id__icontains=query) | Q(description__icontains=query)
        try:
            match |= Q(phone_numbers__number=normalize_e164(query))
        except InvalidPhoneNumber:
            digits = "".join(c for c in query if c.isdigit())
            if len(digits) >= 3:
                match |= Q(phone_numbers__number__contains=digits)
        agents = agents.filter(match).distinct()
    if active is not None:
        agents = agents.filter(is_active=active)
    return agents


def agent_get(agent_id: str, *, code: str = NotFound.code) -> Agent:
    """The agent with its numbers, or a 404. `code` is the error code the caller's endpoint has always
    answered (`agent_not_found` where the agent is named in a call's URL: POST /v1/agents/{id}/calls)."""
    agent = agents_with_numbers().filter(public_id=agent_id).first()
    if agent is None:
        raise NotFound(f"No agent {agent_id}.", field="agent_id", code=code)
    return agent


def number_search(
    *, query: str = "", agent_id: str | None = None, provider: str | None = None, assigned: bool | None = None
) -> QuerySet[PhoneNumber]:
    numbers = PhoneNumber.objects.select_related("agent")
    query = query.strip()
    if query:
        digits = "".join(c for c in query if c.isdigit())
        match = Q(friendly_name__icontains=query) | Q(public_id__icontains=query)
        match |= Q(agent__name__icontains=query) | Q(agent__public_id__icontains=query)
        if digits:
            match |= Q(number__contains=digits)
        numbers = numbers.filter(match)
    if agent_id:
        numbers = numbers.filter(agent__public_id=agent_id)
    if provider:
        numbers = numbers.filter(provider=provider)
    if assigned is not None:
        numbers = numbers.filter(agent__isnull=not assigned)
    return numbers


def number_get(number_id: str) -> PhoneNumber:
    """By id (`num_…`) or by the number itself, typed any way."""
    numbers = PhoneNumber.objects.select_related("agent")
    row = numbers.filter(public_id=number_id).first()
    if row is None and not number_id.startswith("num_"):
        try:
            row = numbers.filter(number=normalize_e164(number_id)).first()
        except InvalidPhoneNumber:
            row = None
    if row is None:
        raise NotFound(f"No phone number {number_id}.", field="number_id")
    return row
