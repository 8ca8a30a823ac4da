"""What the server tests share: a project folder of test pipelines, and ``alambic server``
in its own process."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.helpers import command_server

FLOWS = Path(__file__).parents[1] / "triggers" / "flows.py"


def make_project(folder: Path) -> Path:
    """A project folder holding the test pipelines (``flows.py``)."""
    folder.mkdir()
    shutil.copy(FLOWS, folder / "flows.py")
    return folder


@contextmanager
def server(
    project: Path, *args: str, env: dict[str, str] | None = None, log: str = "server"
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """``alambic server`` in its own process, in the project folder."""
    path = project.parent / f"{log}.log"
    with command_server(
        "server", list(args), log=path, health="/api/v1/health", cwd=project, env=env
    ) as up:
        yield up
