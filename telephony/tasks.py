"""Celery finds each app's tasks in its `tasks` module: here, those of every provider sub-package."""

from telephony.simulator.tasks import (
    simulate_recording,
    simulator_deliver,
    simulator_deliver_due,
    simulator_sweep,
)

__all__ = ["simulate_recording", "simulator_deliver", "simulator_deliver_due", "simulator_sweep"]
