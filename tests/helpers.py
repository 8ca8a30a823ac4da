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


def resume_cli(run_id: str) -> None:
    """``alambic resume RUN`` in a new process, as a user would; fail with its output."""
    import subprocess
    import sys

    resumed = subprocess.run(
        [sys.executable, "-m", "alambic.cli", "resume", run_id, "-q"],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
