import time
from collections.abc import Callable


def wait_for(condition: Callable[[], object], *, timeout: float = 10, what: str = "the condition") -> object:
    """Poll until `condition()` is truthy; fail naming what was awaited. No fixed sleeps in tests."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"Timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.02)
