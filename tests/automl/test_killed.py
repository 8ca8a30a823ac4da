"""A search killed in the middle (SIGKILL, as a lost machine or an OOM kill would) is
rerun into the same folder: it keeps the trials that finished and does not redo them."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer

import alambic as al
from alambic.cli._automl import _rerun

pytestmark = pytest.mark.e2e  # the command line, in a process of its own

SCRIPT = Path(sys.executable).with_name("alambic")
TRIAL = re.compile(r"trial (\d+) (\S+): (0\.\d{4})$")


def _kill_after_trials(command: list[str], env: dict[str, str], n: int) -> dict[int, float]:
    """Run ``command`` until it prints ``n`` finished trials, then SIGKILL it and its
    workers; the trials it printed, by number."""
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, text=True, start_new_session=True
    )
    finished: dict[int, float] = {}
    deadline = time.monotonic() + 120
    assert process.stdout is not None
    try:
        for line in process.stdout:
            match = TRIAL.search(line.strip())
            if match:
                finished[int(match[1])] = float(match[3])
            if len(finished) >= n or time.monotonic() > deadline:
                break
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
        process.stdout.close()
    return finished


def test_a_killed_search_reruns_without_repeating_its_finished_trials(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    load_breast_cancer(as_frame=True).frame.to_csv(tmp_path / "cancer.csv", index=False)
    monkeypatch.setenv("ALAMBIC_HOME", str(tmp_path / "home"))
    out = tmp_path / "out"
    command = [str(SCRIPT), "automl", str(tmp_path / "cancer.csv"), "--target", "target"]
    command += ["--budget", "60s", "--families", "linear,knn", "--out", str(out), "-j", "1"]
    before = _kill_after_trials(command, dict(os.environ), 2)
    assert len(before) >= 2, before
    assert not (out / "result.json").exists()  # killed before the end

    # what `alambic automl rerun DIR` reads from the folder, rerun here to see the trials
    data, target, folder, arguments = _rerun(str(out))
    assert (data, target, folder) == (str((tmp_path / "cancer.csv").resolve()), "target", str(out))
    result = al.automl(data, target, time_budget="10s", out=folder, n_jobs=1, **arguments)
    trials: pd.DataFrame = result.trials
    done = trials[trials["state"] == "complete"].set_index("number")
    for number, value in before.items():  # kept as they were, under the same numbers
        assert done.loc[number, result.problem.metric] == pytest.approx(value, abs=1e-4)
    params = [c for c in done.columns if c.startswith("params.")]
    repeated = done[params].astype(str).duplicated()
    assert not repeated.any(), done[repeated]  # no finished configuration run twice
    assert (out / "result.json").exists()  # the rerun completed
    best = result.leaderboard[result.leaderboard["status"] == "ok"]["cv_score"].max()
    assert best >= max(before.values()) - 1e-4  # printed to four decimals
