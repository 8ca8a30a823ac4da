"""Fixtures for the end-to-end CLI tests: run ``alambic`` in a subprocess, as a user does.

Each test already has its own ALAMBIC_HOME and working folder (``tests/conftest.py``);
the commands run in that folder with that environment.
"""

from __future__ import annotations

import functools
import json
import textwrap
from pathlib import Path
from typing import Any

import pytest

from tests.cli.helpers import Alambic, Show, Write, invoke


@pytest.fixture
def alambic(tmp_path: Path) -> Alambic:
    """Run ``alambic ARGS…`` in the test folder and return a ``Result``."""
    return functools.partial(invoke, tmp_path)


@pytest.fixture
def write(tmp_path: Path) -> Write:
    """Write a (dedented) file into the test folder and return its path."""

    def write_file(name: str, text: str) -> Path:
        path = tmp_path / name
        path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
        return path

    return write_file


@pytest.fixture
def show(alambic: Alambic) -> Show:
    """``alambic runs show RUN --json``, parsed."""

    def show_run(run_id: str) -> dict[str, Any]:
        result = alambic("runs", "show", run_id, "--json")
        assert result.code == 0, result.transcript
        data: dict[str, Any] = json.loads(result.out)
        return data

    return show_run
