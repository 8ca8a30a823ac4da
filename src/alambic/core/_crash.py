"""Crash points: named places where a process kills itself with SIGKILL when asked to.

A crash between two writes is the fault that durable code must survive, and the one a
test can hardly time from outside. ``ALAMBIC_CRASH_AT=scheduler.planned`` makes the
process that reaches :func:`crash_point` ``"scheduler.planned"`` die there, as
``kill -9`` would; unset (always, outside fault tests), a crash point does nothing.

Example:
    >>> crash_point("scheduler.planned")  # ALAMBIC_CRASH_AT is not set: nothing happens
"""

from __future__ import annotations

import os
import signal

__all__ = ["crash_point"]


def crash_point(name: str) -> None:
    """Die here with SIGKILL when ``name`` is one of ``ALAMBIC_CRASH_AT``'s names."""
    wanted = os.environ.get("ALAMBIC_CRASH_AT")
    if wanted and name in wanted.split(","):
        os.kill(os.getpid(), signal.SIGKILL)
