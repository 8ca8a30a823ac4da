"""What every test and every doctest of ``src/`` gets: its own alambic home.

An example in a docstring that opens the registry or runs a pipeline does it in a
temporary home and folder, never in the checkout.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from alambic.store import dispose_engines

collect_ignore_glob = ["src/alambic/cli/__main__.py", "src/alambic/store/migrations/*"]


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Every test gets its own ALAMBIC_HOME and working folder; no setting leaks in."""
    for key in list(os.environ):
        if key.startswith("ALAMBIC_"):
            monkeypatch.delenv(key)
    folder = tmp_path / "home"
    monkeypatch.setenv("ALAMBIC_HOME", str(folder))
    monkeypatch.setenv("ALAMBIC_MAX_WORKERS", "2")
    monkeypatch.chdir(tmp_path)
    yield folder
    _reset_tracking()
    dispose_engines()


def _reset_tracking() -> None:
    """Write what a test logged into its own home, and leave no run active for the next."""
    import sys

    api = sys.modules.get("alambic.tracking._api")
    if api is not None:
        try:
            api._process_buffer.flush()
        finally:
            api._stack.set(())
