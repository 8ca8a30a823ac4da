"""``python -m alambic.pipelines._detached RUN_ID``: drive a submitted run in the background."""

from __future__ import annotations

import logging
import sys

from alambic.pipelines._run import drive_detached

if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    finished = drive_detached(sys.argv[1])
    sys.exit(0 if finished.succeeded else 1)
