"""A tuning step inside a pipeline: killed mid-study, resumed without repeating trials."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

import alambic as al
from alambic.pipelines import RunStore
from alambic.tracking import tracking_store
from tests.helpers import resume_cli, wait_until

pytestmark = pytest.mark.slow


def test_a_killed_study_resumes_without_repeating_finished_trials(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    marks = tmp_path / "marks"
    marks.mkdir()
    monkeypatch.setenv("MARKS", str(marks))
    root = Path(__file__).parents[2]
    monkeypatch.setenv("PYTHONPATH", str(root))
    process = subprocess.Popen(
        [sys.executable, "-m", "alambic.cli", "run", "tests.tuning.flows:tuned", "-q"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    wait_until(lambda: any(marks.glob("start-3-*")), timeout=120)
    process.send_signal(signal.SIGKILL)
    process.communicate(timeout=30)
    # The step's worker and the trial's worker die with the orchestrator.
    wait_until(lambda: not _alive_marked_workers(), timeout=30)

    (marks / "gate").touch()
    run_id = RunStore.open(al.config.settings().db_url).list_runs()[0].id
    resume_cli(run_id)
    result = al.get_run(run_id).result()
    # 5 trials finished: 0-2 before the kill, 4-5 after; 3 was interrupted and not counted.
    assert result["trials"] == {"complete": 5, "fail": 1}
    done = sorted(p.name.rsplit("-", 1)[0] for p in marks.glob("done-*"))
    assert done == ["done-0", "done-1", "done-2", "done-4", "done-5"]  # none ran twice
    assert sorted(p.name.rsplit("-", 1)[0] for p in marks.glob("start-*")) == [
        "start-0",
        "start-1",
        "start-2",
        "start-3",
        "start-4",
        "start-5",
    ]
    # Each trial is a tracked run under the tuning step's run.
    steps = RunStore.open(al.config.settings().db_url).step_runs(run_id)
    (step,) = [s for s in steps if s.node == "study"]
    trials = [r for r in tracking_store().runs() if r.kind == "trial"]
    after = [t for t in trials if t.parent_id == step.id]
    assert sorted(t.name for t in after) == ["trial-4", "trial-5"]


def _alive_marked_workers() -> bool:
    """Whether a worker process of this test is still running (by its MARKS variable)."""
    mine = os.environ["MARKS"]
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            environ = (proc / "environ").read_bytes()
        except OSError:
            continue
        if f"MARKS={mine}".encode() in environ:
            return True
    return False
