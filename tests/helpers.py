"""Small helpers shared by test modules."""

from __future__ import annotations

import time
from collections.abc import Callable


def wait_until(predicate: Callable[[], bool], timeout: float = 90.0) -> None:
    """Poll ``predicate`` every 0.1 s; fail the test if it is still false after ``timeout``."""
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out after {timeout}s"
        time.sleep(0.1)
