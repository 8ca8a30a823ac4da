"""Schedules start real runs: each one's orchestrator is a detached process."""

from __future__ import annotations

from pathlib import Path

import pytest

FLOWS = Path(__file__).parent / "flows.py"


@pytest.fixture(autouse=True)
def inline_steps(monkeypatch: pytest.MonkeyPatch) -> None:
    """Steps run inside their orchestrator: a scheduled run starts no worker processes."""
    monkeypatch.setenv("ALAMBIC_EXECUTOR", "inline")


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A real git repository holding a release pipeline (release.py), tagged v1."""
    from tests.triggers.helpers import make_repo

    return make_repo(tmp_path / "repo")


@pytest.fixture
def adder() -> str:
    return f"{FLOWS}:adder"


@pytest.fixture
def napper() -> str:
    return f"{FLOWS}:napper"
