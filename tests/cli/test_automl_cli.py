"""``alambic automl``: a CSV in, trial lines in a CI log, a leaderboard, a registered model."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
from sklearn.datasets import load_breast_cancer

from alambic import registry
from tests.cli.helpers import Alambic


def _csv(tmp_path: Path) -> Path:
    path = tmp_path / "cancer.csv"
    load_breast_cancer(as_frame=True).frame.to_csv(path, index=False)
    return path


def test_a_search_from_the_command_line_prints_trials_registers_and_reruns(
    alambic: Alambic, tmp_path: Path
) -> None:
    _csv(tmp_path)
    args = ["cancer.csv", "--target", "target", "--budget", "12s", "--families", "linear,knn"]
    done = alambic("automl", *args, "--out", "out", "--register", "cancer", "-j", "1")
    assert done.code == 0, done.transcript
    lines = done.out.splitlines()
    assert lines[0] == "automl: cancer.csv → target, budget 12s"
    # each trial a timestamped line: its score, or why it failed (a loaded CI machine may
    # time the first one out while its worker starts)
    trial = re.compile(r"^\d\d:\d\d:\d\d trial \d+ 0[12]_(linear|knn): (0\.\d{4}|fail \(.+\))$")
    assert any(trial.match(line) for line in lines), done.transcript
    assert "task: binary (detected: 2 distinct whole numbers)" in done.out
    assert "leaderboard" in done.out and "chosen: " in done.out
    assert "registered cancer/1" in done.out
    board = pd.read_csv(tmp_path / "out" / "leaderboard.csv")
    version = registry.get_version("cancer", 1)
    origin = version.lineage["origin"]
    assert origin["kind"] == "automl" and origin["candidate"] == board["candidate"].iloc[0]
    assert "def build(" in origin["code"]
    card = registry.model_card("cancer/1")
    assert "## Leaderboard" in card and board["candidate"].iloc[0] in card
    study = json.loads((tmp_path / "out" / "result.json").read_text())["study"]
    again = alambic("automl", "rerun", "out", "--budget", "10s", "-j", "1")
    assert again.code == 0, again.transcript
    assert json.loads((tmp_path / "out" / "result.json").read_text())["study"] == study
    assert "01_linear" in again.out and "02_knn" in again.out  # the folder's candidates


def test_bad_arguments_exit_2_with_a_message(alambic: Alambic, tmp_path: Path) -> None:
    _csv(tmp_path)
    no_target = alambic("automl", "cancer.csv")
    assert no_target.code == 2 and "give --target" in no_target.err
    not_a_folder = alambic("automl", "rerun", "nowhere")
    assert not_a_folder.code == 2 and "is not the output folder of a search" in not_a_folder.err
    small = alambic("automl", "cancer.csv", "--target", "target", "--budget", "2s")
    assert small.code == 2 and "too small for one trial" in small.err
