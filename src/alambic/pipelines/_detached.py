"""``python -m alambic.pipelines._detached RUN_ID...``: drive submitted runs in the background.

The process imports the orchestrator once, opens the store (its schema checked, its
first statements compiled) and forks one child per run, then exits, so each orchestrator
still running is adopted by init: it outlives the submitting process. Forking after that
warm-up makes a run started this way cheap (a scheduler may start hundreds in a minute):
a child only lets go of the inherited connections.

At most a few children of one such process start at once (:data:`STARTING` per core it
may use): the next one is forked when an earlier one has recorded its first change (or
ended, or had :data:`PATIENCE` seconds). Hundreds of orchestrators starting together
would otherwise share the cores with the server that started them, and each start
would take longer than all of them one after the other. Children that ended meanwhile
are reaped; a run whose child cannot be forked is recorded failed with the reason.
"""

from __future__ import annotations

import gc
import logging
import os
import select
import sys
import time
from typing import Any

STARTING = 2  # children starting at once, per core
PATIENCE = 5.0  # seconds a starting child holds its place at most
FORK_ATTEMPTS = 5

log = logging.getLogger("alambic.pipelines")


def _child(run_id: str, home: os.PathLike[str], started: int) -> None:
    """The orchestrator of one run, in the forked child; never returns."""
    try:
        from alambic.pipelines._run import drive_detached
        from alambic.store import forget_connections

        os.setsid()
        forget_connections()
        log_dir = os.path.join(home, "logs", run_id)
        os.makedirs(log_dir, exist_ok=True)
        path = os.path.join(log_dir, "orchestrator.log")
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        logging.basicConfig(
            level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
        )
        signalled = False

        def signal_started(_: Any) -> None:  # the first change: the next child may start
            nonlocal signalled
            if not signalled:
                signalled = True
                os.close(started)

        finished = drive_detached(run_id, on_change=signal_started)
    except BaseException:
        log.exception("run %s failed to start", run_id)
        os._exit(1)
    os._exit(0 if finished.succeeded else 1)


def _warm(run_ids: list[str]) -> None:
    """Open the store and read the runs once, here, so that no child does it first."""
    from alambic.config import settings
    from alambic.pipelines._store import RunStore
    from alambic.store import forget_connections

    try:
        store = RunStore.open(settings().db_url)
        store.run_states(run_ids)
        store.find_run(run_ids[0])
    except Exception:  # each child reports its own failure in its log
        log.exception("the store did not open")
    forget_connections(close=True)  # no child may inherit an open connection


def _make_room(starting: dict[int, float], room: int) -> None:
    """Wait until fewer than ``room`` children are starting (a closed pipe: started),
    reaping the children that ended."""
    while len(starting) >= room:
        oldest = min(starting.values())
        timeout = max(0.0, oldest + PATIENCE - time.monotonic())
        ready, _, _ = select.select(list(starting), [], [], timeout)
        for fd in ready or [min(starting, key=starting.__getitem__)]:
            os.close(fd)
            del starting[fd]
    try:
        while os.waitpid(-1, os.WNOHANG)[0]:
            pass
    except ChildProcessError:
        pass


def _fork() -> int:
    """``os.fork()``, tried again for a while when the system is out of processes."""
    for attempt in range(1, FORK_ATTEMPTS + 1):
        try:
            return os.fork()
        except OSError:
            if attempt == FORK_ATTEMPTS:
                raise
            time.sleep(0.2 * 2**attempt)
    raise AssertionError("unreachable")  # pragma: no cover


def _fail(run_ids: list[str], error: OSError) -> None:
    """Record runs failed whose orchestrator could not be forked."""
    from alambic.config import settings
    from alambic.core import utcnow
    from alambic.pipelines._store import RunStore

    store = RunStore.open(settings().db_url)
    reason = f"its orchestrator could not start ({error}); `alambic resume` it"
    for run_id in run_ids:
        now = utcnow()
        store.update_run_unless_finished(
            run_id, status="failed", started_at=now, ended_at=now, error=reason
        )


def main(run_ids: list[str]) -> None:
    from alambic.config import settings
    from alambic.pipelines import _run  # noqa: F401 - imported once, before the forks

    if run_ids:
        _warm(run_ids)
    gc.collect()
    gc.freeze()  # the children's garbage collector leaves the inherited objects alone
    home = settings().home
    room = STARTING * len(os.sched_getaffinity(0))
    starting: dict[int, float] = {}  # the read end of each starting child's pipe
    for number, run_id in enumerate(run_ids):
        _make_room(starting, room)
        read, write = os.pipe()
        try:
            pid = _fork()
        except OSError as exc:
            log.exception("cannot fork the orchestrators of %d run(s)", len(run_ids) - number)
            _fail(run_ids[number:], exc)
            return
        if pid == 0:
            for fd in [read, *starting]:
                os.close(fd)
            _child(run_id, home, write)
        os.close(write)
        starting[read] = time.monotonic()


if __name__ == "__main__":
    main(sys.argv[1:])
    os._exit(0)
