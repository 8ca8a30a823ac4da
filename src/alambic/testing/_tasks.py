"""Functions the executor conformance checks run (importable by name in any worker)."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path


def echo(value: int) -> int:
    sys.stdout.write(f"echo {value}\n")
    sys.stderr.write(f"to stderr {value}\n")
    return value


def fail(message: str) -> None:
    raise RuntimeError(message)


def crash(code: int) -> None:
    os._exit(code)


def window(folder: str, seconds: float) -> float:
    """Sleep, recording when it started and ended (to check that tasks overlap)."""
    start = time.time()
    time.sleep(seconds)
    Path(folder).mkdir(parents=True, exist_ok=True)
    (Path(folder) / f"{os.getpid()}-{time.time_ns()}").write_text(f"{start} {time.time()}")
    return seconds
