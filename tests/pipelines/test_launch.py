"""Starting runs without importing their pipeline here: describe, check_params, launch."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import alambic as al
from alambic.errors import ParameterError, PipelineLoadError
from alambic.pipelines import check_params, describe, launch
from tests.helpers import wait_until

FLOW = """
import alambic as al


@al.step
def add(a: int, b: int) -> int:
    return a + b


@al.pipeline
def adder(a: int, b: int = 2) -> int:
    return add(a, b)
"""


@pytest.fixture
def flow(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("ALAMBIC_EXECUTOR", "inline")
    path = tmp_path / "flow.py"
    path.write_text(FLOW)
    return path


def test_describe_traces_in_a_child_and_keeps_the_answer_until_the_file_changes(
    flow: Path,
) -> None:
    described = describe("flow.py:adder")
    assert described.name == "adder" and described.cwd == str(flow.parent)
    assert described.params == {"a": {"type": "int", "required": True},
                                "b": {"type": "int", "required": False, "default": 2}}  # fmt: skip
    assert describe("flow.py:adder") is described
    flow.write_text(FLOW.replace("b: int = 2", "b: int = 3"))
    os.utime(flow, ns=(1, 1))
    changed = describe("flow.py:adder")
    assert changed is not described and changed.params["b"]["default"] == 3
    assert changed.hash != described.hash
    with pytest.raises(PipelineLoadError, match="has no pipeline named 'nope'"):
        describe("flow.py:nope")


def test_check_params_reads_texts_as_their_types_and_refuses_what_does_not_fit(
    flow: Path,
) -> None:
    described = describe("flow.py:adder")
    assert check_params(described, {"a": "40"}, texts=True) == {"a": 40, "b": 2}
    with pytest.raises(ParameterError, match="'a' expects int"):
        check_params(described, {"a": "forty"}, texts=True)
    with pytest.raises(ParameterError, match=r"'a' .* is required"):
        check_params(described, {})


def test_a_launched_run_is_made_once_and_its_parameters_are_checked_when_it_starts(
    flow: Path,
) -> None:
    described = describe("flow.py:adder")
    first = launch(described, {"a": "5"}, run_id="run-launched-1")
    assert launch(described, {"a": "5"}, run_id="run-launched-1") == first
    bad = launch(described, {"a": "five"})
    wait_until(lambda: al.get_run(first.id).record.finished and al.get_run(bad.id).record.finished)
    assert al.get_run(first.id).result() == 7
    refused = al.get_run(bad.id)
    assert refused.status == "failed" and "'a' expects int" in (refused.error or "")
    assert len(al.pipelines.list_runs()) == 2


def test_a_launched_run_whose_code_no_longer_loads_is_recorded_failed(flow: Path) -> None:
    described = describe("flow.py:adder")
    flow.write_text("raise ImportError('the file broke')\n")
    run = launch(described, {"a": 1})
    wait_until(lambda: al.get_run(run.id).record.finished)
    assert "the file broke" in (al.get_run(run.id).error or "")
