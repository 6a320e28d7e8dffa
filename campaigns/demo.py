"""Demo data: a few agents with simulator numbers and a small running campaign of simulated calls, so that
a newcomer sees a living wallboard seconds after `make run` (`manage.py demo`, or the dashboard's button).
Everything goes through the real services: agents, numbers and calls are created as a user would."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from agents.models import Agent
from agents.phone import jurisdiction_for
from agents.services import agent_create, agent_set_phone_numbers
from calls.models import Call
from calls.services import call_create
from campaigns.models import Campaign, CampaignStatus
from compliance.calling_windows import number_inside_calling_hours
from compliance.clearance import clearance_clock
from compliance.jurisdictions import jurisdiction_rules
from wordcab_admin.kernel.errors import DomainError

log = logging.getLogger(__name__)

DEMO_AGENTS = [
    # (id, name, instructions, the agent's own simulator number)
    (
        "agent_demo_reminders",
        "Appointment reminders",
        "Remind the customer of tomorrow's appointment and offer to reschedule.",
        "+14155550100",
    ),
    (
        "agent_demo_survey",
        "Satisfaction survey",
        "Ask three short questions about the last visit and thank the customer.",
        "+14155550101",
    ),
    (
        "agent_demo_frontdesk",
        "Front desk",
        "Answer inbound calls: opening hours, directions, and booking.",
        "+14155550102",
    ),
]

# Callees by the simulator's outcome table (docs/contract.md): the last four digits choose what happens.
DEMO_CALLEES = [
    ("+14155550123", "Jane Doe"),  # completed
    ("+14155550150", "Omar Haddad"),  # rings, no answer
    ("+14155550131", "Mei Chen"),  # completed
    ("+14155550163", "Lucas Moreau"),  # busy → no_answer, end_reason=busy
    ("+14155550142", "Priya Nair"),  # completed
    ("+14155550171", "Sam Taylor"),  # failed, carrier_rejected
    ("+14155550184", "Ana Souza"),  # voicemail → completed, end_reason=voicemail
    ("+14155550195", "Kofi Mensah"),  # completed
    ("+14155550152", "Elena Petrova"),  # no answer
    ("+14155550137", "Noah Fischer"),  # completed
]


@dataclass
class DemoResult:
    campaign: Campaign
    agents: list[Agent]
    calls: list[Call] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)  # "number: why", for calls a service refused


def demo_agents_ensure(*, actor) -> list[Agent]:
    """The demo agents, created (with their numbers) the first time, reused afterwards."""
    agents = []
    for agent_id, name, instructions, number in DEMO_AGENTS:
        agent = Agent.objects.filter(public_id=agent_id).first()
        if agent is None:
            agent = agent_create(actor=actor, name=name, agent_id=agent_id, instructions=instructions)
        if not agent.phone_numbers.exists():
            try:
                agent_set_phone_numbers(agent=agent, actor=actor, numbers=[number])
            except (
                DomainError
            ) as exc:  # someone holds that number already: the agent calls from the simulator
                log.info("demo agent %s keeps no number: %s", agent_id, exc.message)
        agents.append(agent)
    return agents


def demo_number_callable_now(number: str) -> str:
    """The demo's callee, moved to where calls may be placed now (its last four digits, which choose its
    outcome, kept): the demo works at any hour, as a deployment's calling windows allow."""
    callable_now = number_inside_calling_hours(
        number[-4:],
        rules_for=jurisdiction_rules,
        jurisdiction_of=jurisdiction_for,
        now=clearance_clock(),
        minutes=15,
    )
    return callable_now or number  # none open anywhere now: refused, and the demo says why


def demo_start(*, actor=None, calls: int = len(DEMO_CALLEES)) -> DemoResult:
    """Create the demo agents and a running simulator campaign, and place `calls` calls in it."""
    agents = demo_agents_ensure(actor=actor)
    caller = agents[0]
    with transaction.atomic():
        campaign = Campaign.objects.create(
            name=f"Demo reminders {timezone.localtime():%H:%M:%S}",
            agent=caller,
            status=CampaignStatus.RUNNING,
        )
    result = DemoResult(campaign=campaign, agents=agents)
    for index in range(calls):
        number, name = DEMO_CALLEES[index % len(DEMO_CALLEES)]
        number = demo_number_callable_now(number)
        try:
            call, _ = call_create(
                agent=caller,
                to_number=number,
                context={"customer_name": name, "demo": True},
                max_duration=120,
                actor=actor,
                campaign=campaign,
            )
        except DomainError as exc:  # e.g. a compliance rule refuses this callee now
            result.refused.append(f"{number}: {exc.message}")
            continue
        result.calls.append(call)
    return result
