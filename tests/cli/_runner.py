"""Running the real ``alambic`` command in a subprocess, and what it returns."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["SCRIPT", "Alambic", "Result", "Show", "Write", "invoke"]

SCRIPT = Path(sys.executable).with_name("alambic")  # the console script of this environment


@dataclass(frozen=True)
class Result:
    """What one ``alambic`` command did."""

    args: tuple[str, ...]
    code: int
    out: str
    err: str

    @property
    def output(self) -> str:
        """stdout and stderr together."""
        return self.out + self.err

    @property
    def transcript(self) -> str:
        """The command, its exit code and its whole output, as an assertion message."""
        return (
            f"$ alambic {' '.join(self.args)}  → exit {self.code}\n{self.out}--- stderr\n{self.err}"
        )


Alambic = Callable[..., Result]
Write = Callable[[str, str], Path]
Show = Callable[[str], dict[str, Any]]


def invoke(
    folder: Path,
    *args: str,
    env: Mapping[str, str] | None = None,
    timeout: float = 120.0,
    module: bool = False,
) -> Result:
    """Run ``alambic ARGS…`` in ``folder`` with this process's environment.

    Args:
        folder: the working folder.
        env: extra environment variables.
        timeout: a bound on how long the command may take (not an assertion on speed).
        module: run ``python -m alambic.cli`` instead of the console script.
    """
    environ = os.environ.copy()
    for key in ("FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE"):
        environ.pop(key, None)  # Rich would act as on a terminal (colours, live redraws)
    # A wide console, so that tables do not cut the ids and messages under assertion.
    environ.update({"COLUMNS": "200", "NO_COLOR": "1", **(env or {})})
    command = (
        [sys.executable, "-m", "alambic.cli"] if module or not SCRIPT.exists() else [str(SCRIPT)]
    )
    done = subprocess.run(
        [*command, *args],
        cwd=folder,
        env=environ,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    return Result(tuple(args), done.returncode, done.stdout, done.stderr)
