"""The control plane's loops, in a thread of the server process.

The scheduler steps only while this server holds its lease; several servers (or
workers of one) may start their loops, and one at a time does the work. On SQLite,
``alambic server`` refuses to start a second server's loops while another one holds
the lease (:func:`check_single`): SQLite is for one machine and one server.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime

from alambic.core import utcnow
from alambic.errors import TriggerError

__all__ = ["Loops", "check_single"]

log = logging.getLogger(__name__)


class Loops:
    """The scheduler's thread and the alerts' thread: :meth:`start`, :meth:`wake` after a
    change, :meth:`stop`."""

    def __init__(self, *, interval: float = 1.0, lease_seconds: float = 15.0) -> None:
        from alambic.triggers import Scheduler, triggers_store

        self.scheduler = Scheduler(triggers_store(), lease_seconds=lease_seconds)
        self.interval = interval
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        self._threads = [
            threading.Thread(
                target=self.scheduler.run_forever,
                args=(self._stop,),
                kwargs={"wake": self._wake, "interval": self.interval},
                name="alambic-scheduler",
                daemon=True,
            ),
            threading.Thread(
                target=self.scheduler.alerts_forever,
                args=(self._stop,),
                name="alambic-alerts",
                daemon=True,
            ),
        ]
        for thread in self._threads:
            thread.start()
        log.info("scheduler loop started as %s", self.scheduler.identity)

    def wake(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        for thread in self._threads:
            thread.join(timeout=30)

    def holder(self) -> str | None:
        """The server that holds the scheduler's lease now (None: none does)."""
        from alambic.triggers._scheduler import LEASE

        held = self.scheduler.store.lease_holder(LEASE)
        return held[0] if held and held[1] > utcnow() else None


def check_single(db_url: str) -> None:
    """On SQLite, refuse to start the loops while another live server holds the lease.

    Raises:
        TriggerError: another server runs the loops on this SQLite database.
    """
    if not db_url.startswith("sqlite"):
        return
    from alambic.triggers import triggers_store
    from alambic.triggers._scheduler import LEASE, is_dead

    held = triggers_store().lease_holder(LEASE)
    if held is not None and held[1] > utcnow() and not is_dead(held[0]):
        raise TriggerError(
            f"another alambic server ({held[0]}) runs the scheduler on this SQLite database "
            f"(its lease runs to {_clock(held[1])}); on SQLite one server runs the loops: stop "
            "it, start this one with --no-loops (API only), or use PostgreSQL "
            "(ALAMBIC_DB_URL) to run several"
        )


def _clock(moment: datetime) -> str:
    return moment.strftime("%H:%M:%S UTC")
