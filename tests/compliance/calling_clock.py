"""The clock calls are cleared at, in tests.

A call is refused outside its callee's calling window, so a test that places a call at the wall clock's
time would fail whenever the suite runs at night in California. Tests that are not about calling windows
clear their calls at one fixed instant inside every US window instead (autouse, below): a Wednesday,
11:30 in California, 14:30 in New York, 08:30 in Honolulu, 19:30 in London. Only the clearance's clock is
fixed (compliance.clearance.clearance_clock), nothing else; production has no such switch. Tests about
windows set their own instant with `clearance_clock_at(...)`, or pass `now=` to the function they test.

Registered for tests/calls and tests/compliance by their conftest.py; every folder that places calls in
process needs it (tests/conftest.py: `pytest_plugins = [..., "tests.compliance.calling_clock"]`). Tests
that place calls through a separate server process cannot fix its clock: they call a number inside its
window now (tests.factories.number_inside_calling_hours)."""

from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from django.utils import timezone

CLOCK = "compliance.clearance.clearance_clock"  # by name: this plugin may load before Django's apps
INSIDE_EVERY_US_WINDOW = datetime(2026, 6, 17, 18, 30, tzinfo=UTC)


@pytest.fixture(autouse=True)
def calls_cleared_at_a_weekday_midday(monkeypatch) -> datetime:
    monkeypatch.setattr(CLOCK, lambda: INSIDE_EVERY_US_WINDOW)
    return INSIDE_EVERY_US_WINDOW


@pytest.fixture
def clearance_clock_at(monkeypatch) -> Callable[[datetime | None], None]:
    """`clearance_clock_at(moment)` clears calls at `moment` from then on; `clearance_clock_at(None)`
    gives the clearance back the wall clock."""

    def set_clock(moment: datetime | None) -> None:
        monkeypatch.setattr(CLOCK, timezone.now if moment is None else (lambda: moment))

    return set_clock
