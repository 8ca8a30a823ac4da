"""``python -m alambic.triggers._monitor_job NAME UNTIL``: a scheduled monitor run.

The scheduler starts it detached, with ``ALAMBIC_USER=schedule:<name>``, so that the
monitor's history names the schedule that ran it.
"""

from __future__ import annotations

import logging
import sys

if __name__ == "__main__":
    from alambic.monitoring import run_monitor

    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    finished = run_monitor(sys.argv[1], until=sys.argv[2])
    logging.getLogger("alambic.triggers").info("monitor %s: %s", sys.argv[1], finished.status)
