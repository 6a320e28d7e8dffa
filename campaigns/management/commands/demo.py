"""`python manage.py demo`: demo agents, numbers and a small running simulator campaign (see campaigns/demo.py)."""

import random
import time

from django.core.management.base import BaseCommand, CommandParser

from calls.services import call_create
from campaigns.demo import DEMO_CALLEES, demo_start
from wordcab_admin.kernel.errors import DomainError


class Command(BaseCommand):
    help = "Create demo agents and numbers and start a small simulator campaign; watch it on the dashboard."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--calls", type=int, default=len(DEMO_CALLEES), help="calls to place at once (10)"
        )
        parser.add_argument(
            "--keep-going",
            action="store_true",
            help="then keep placing a call every 1-3 s in the same campaign until Ctrl-C",
        )

    def handle(self, *args, calls: int, keep_going: bool, **options) -> None:
        result = demo_start(calls=max(0, calls))
        agents = ", ".join(f"{a.name} ({a.public_id})" for a in result.agents)
        self.stdout.write(f"Agents: {agents}")
        self.stdout.write(
            f"Campaign {result.campaign.public_id} ({result.campaign.name}): {len(result.calls)} calls placed."
        )
        for refusal in result.refused:
            self.stdout.write(self.style.WARNING(f"  refused {refusal}"))
        if not result.calls and calls:
            self.stdout.write(self.style.WARNING("No call was placed; see the refusals above."))
        self.stdout.write(
            "Watch them on the dashboard; calls take a few seconds (SIMULATOR_SPEED speeds them up)."
        )
        if keep_going:
            self.keep_placing(result)

    def keep_placing(self, result) -> None:
        rng = random.Random()  # noqa: S311 -- pacing a demo, not security
        placed = 0
        try:
            while True:
                time.sleep(rng.uniform(1, 3))
                number, name = rng.choice(DEMO_CALLEES)
                try:
                    call_create(
                        agent=result.campaign.agent,
                        to_number=number,
                        context={"customer_name": name, "demo": True},
                        max_duration=120,
                        campaign=result.campaign,
                    )
                    placed += 1
                except DomainError as exc:
                    self.stdout.write(self.style.WARNING(f"refused {number}: {exc.message}"))
        except KeyboardInterrupt:
            self.stdout.write(f"Stopped after {placed} more calls.")
