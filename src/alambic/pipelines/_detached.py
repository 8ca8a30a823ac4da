"""``python -m alambic.pipelines._detached RUN_ID``: drive a submitted run in the background.

The process forks once and the parent exits at once, so the orchestrator is adopted by
init: it outlives the submitting process and never lingers as its zombie.
"""

from __future__ import annotations

import logging
import os
import sys

if __name__ == "__main__":
    if os.fork() != 0:
        os._exit(0)
    os.setsid()
    from alambic.pipelines._run import drive_detached

    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    finished = drive_detached(sys.argv[1])
    sys.exit(0 if finished.succeeded else 1)
