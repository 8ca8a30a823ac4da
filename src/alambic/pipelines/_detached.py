"""``python -m alambic.pipelines._detached RUN_ID...``: drive submitted runs in the background.

The process imports the orchestrator once, forks one child per run and exits at once,
so each orchestrator is adopted by init: it outlives the submitting process and never
lingers as its zombie. Forking after the import makes a run started this way cheap (a
scheduler may start hundreds in a minute).
"""

from __future__ import annotations

import logging
import os
import sys

if __name__ == "__main__":
    from alambic.config import settings
    from alambic.pipelines._run import drive_detached

    home = settings().home

    for run_id in sys.argv[1:]:
        if os.fork() == 0:
            os.setsid()
            log_dir = home / "logs" / run_id
            log_dir.mkdir(parents=True, exist_ok=True)
            fd = os.open(
                log_dir / "orchestrator.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644
            )
            os.dup2(fd, 1)
            os.dup2(fd, 2)
            logging.basicConfig(
                level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
            )
            try:
                finished = drive_detached(run_id)
            except BaseException:
                logging.getLogger("alambic.pipelines").exception("run %s failed to start", run_id)
                os._exit(1)
            os._exit(0 if finished.succeeded else 1)
    os._exit(0)
