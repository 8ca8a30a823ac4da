"""al.automl end to end: a table in, a leaderboard, a packaged model and a folder out."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import nbformat
import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer

import alambic as al
from alambic.automl._leaderboard import COLUMNS, pareto, pick, trial_rows
from alambic.core.reports import ORANGE
from alambic.errors import AutoMLError

NAMES = {"01_linear", "02_knn"}  # numbered in FAMILIES' order; both quick to fit


@pytest.fixture(scope="module")
def cancer() -> pd.DataFrame:
    frame: pd.DataFrame = load_breast_cancer(as_frame=True).frame
    return frame


@pytest.fixture(scope="module")
def searched(cancer: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """One short search (inline trials) over two families, shared by the tests below."""
    import os

    home = tmp_path_factory.mktemp("home")
    before = os.environ.get("ALAMBIC_HOME")
    os.environ["ALAMBIC_HOME"] = str(home)
    try:
        folder = tmp_path_factory.mktemp("out")
        result = al.automl(
            cancer,
            "target",
            time_budget="20s",
            families=["linear", "knn"],
            executor="inline",
            n_jobs=1,
            out=folder,
        )
        yield result
    finally:
        if before is None:
            os.environ.pop("ALAMBIC_HOME", None)
        else:
            os.environ["ALAMBIC_HOME"] = before


def test_the_leaderboard_ranks_every_candidate_with_its_measures(searched: Any) -> None:
    board = searched.leaderboard
    assert list(board.columns) == [*COLUMNS, "pareto"]
    names = set(board["candidate"])
    assert NAMES <= names
    ok = board[board["status"] == "ok"]
    assert len(ok) >= 2, board[["candidate", "status", "trials", "reason"]].to_string()
    assert (ok["cv_score"] > 0.9).all() and (ok["holdout_score"] > 0.85).all()
    assert (ok["size_bytes"] > 0).all() and (ok["latency_ms_1_row"] > 0).all()
    assert ok["cv_score"].is_monotonic_decreasing  # roc_auc: higher first
    assert board["pareto"].any()


def test_the_model_is_the_best_candidate_packaged_for_serving(
    searched: Any, cancer: pd.DataFrame
) -> None:
    model = searched.model
    best = searched.leaderboard.iloc[0]["candidate"]
    assert model.metadata["origin"]["candidate"] == best
    assert model.signature.task == "binary"
    rows = cancer.drop(columns=["target"]).head(50)
    assert set(model.predict(rows)) <= {0, 1}
    assert model.predict_proba(rows).shape == (50, 2)


def test_the_output_folder_holds_the_problem_candidates_and_leaderboard(searched: Any) -> None:
    folder = searched.folder
    problem = json.loads((folder / "problem.json").read_text())
    assert problem["task"] == "binary" and problem["metric"] == "roc_auc"
    assert sorted(p.stem for p in (folder / "candidates").iterdir()) == sorted(NAMES)
    board = pd.read_csv(folder / "leaderboard.csv")
    assert list(board["candidate"]) == list(searched.leaderboard["candidate"])
    assert (
        json.loads((folder / "result.json").read_text())["chosen"]
        == (searched.leaderboard.iloc[0]["candidate"])
    )
    for name in ("exploration.html", "exploration.ipynb", "leaderboard.html"):
        assert (folder / name).stat().st_size > 1000, name


def test_the_leaderboard_page_draws_the_front_and_the_importances(searched: Any) -> None:
    page = (searched.folder / "leaderboard.html").read_text()
    ok = searched.leaderboard[searched.leaderboard["status"] == "ok"]
    drawn = 1 if len(searched.importances) else 0  # none if a loaded machine left no time
    assert page.count("<svg") == 2 + drawn and "<script" not in page  # two fronts
    assert page.count("<circle") == 2 * len(ok)  # each candidate on both fronts
    assert page.count(f'fill="{ORANGE}"><title>') == 2 * int(ok["pareto"].sum())
    if drawn:
        assert set(searched.importances["feature"]) == set(searched.problem.features)


def test_permutation_importances_find_the_column_that_matters() -> None:
    from sklearn.linear_model import LogisticRegression

    from alambic.automl._leaderboard import importances

    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"noise": rng.normal(size=600), "signal": rng.normal(size=600)})
    labels = (frame["signal"] + 0.3 * rng.normal(size=600) > 0).astype(int).to_numpy()
    model = LogisticRegression().fit(frame.iloc[:300], labels[:300])
    found = importances(
        model, frame.iloc[300:], labels[300:], metric="roc_auc", task="binary", seconds=30
    )
    assert found["feature"].tolist() == ["signal", "noise"]
    assert found["importance"].iloc[0] > 0.2 and abs(found["importance"].iloc[1]) < 0.02
    assert (found["std"] >= 0).all()
    none = importances(model, frame, labels, metric="roc_auc", task="binary", seconds=0)
    assert none.empty and list(none.columns) == ["feature", "importance", "std"]


def test_the_candidate_notebook_loads_every_candidate(searched: Any) -> None:
    notebook = nbformat.read(searched.folder / "candidates.ipynb", as_version=4)
    nbformat.validate(notebook)
    loads = [c.source for c in notebook.cells if "load_candidate(" in c.source]
    assert len(loads) == len(NAMES)
    before = os.getcwd()
    os.chdir(searched.folder)
    try:
        for source in loads:
            namespace: dict[str, Any] = {}
            exec(compile(source, "cell", "exec"), namespace)  # noqa: S102
            assert hasattr(namespace["candidate"].build(), "fit")
    finally:
        os.chdir(before)


def test_pick_takes_the_best_within_limits_or_says_what_there_is(searched: Any) -> None:
    ok = searched.leaderboard[searched.leaderboard["status"] == "ok"]
    smallest = ok.loc[ok["size_bytes"].idxmin()]
    picked = searched.pick(max_bytes=smallest["size_bytes"])
    assert picked.metadata["origin"]["candidate"] == smallest["candidate"]
    with pytest.raises(AutoMLError, match="the smallest is"):
        searched.pick(max_bytes=10)


def test_every_trial_is_in_the_study_and_portfolio_points_came_first(searched: Any) -> None:
    trials = searched.trials[searched.trials["state"] != "waiting"]  # queued, never run
    assert len(trials) >= 2
    first = trials.sort_values("number").head(2)["params.candidate"].tolist()
    assert first == sorted(NAMES)


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"time_budget": "3s"}, "too small for one trial"),
        ({"time_budget": "soon"}, "not a duration"),
        ({"target": "nope"}, "'nope' is not in the data"),
        ({"data": "/nowhere/x.parquet"}, "no file at"),
        ({"families": ["catboostx"]}, "unknown candidate families"),
        ({"constraints": {"max_ms": 1}}, "unknown constraints \\['max_ms'\\]"),
    ],
    ids=["budget", "duration", "target", "file", "family", "constraints"],
)
def test_bad_input_is_refused_before_any_work(
    kwargs: dict[str, Any], words: str, cancer: pd.DataFrame, tmp_path: Path
) -> None:
    arguments: dict[str, Any] = {"data": cancer, "target": "target", "out": tmp_path}
    arguments.update(kwargs)
    with pytest.raises(AutoMLError, match=words):
        al.automl(arguments.pop("data"), arguments.pop("target"), **arguments)
    assert not (tmp_path / "leaderboard.csv").exists()


def test_a_failed_candidate_is_listed_with_its_reason() -> None:
    trials = pd.DataFrame(
        {
            "number": [0, 1, 2],
            "state": ["complete", "fail", "fail"],
            "roc_auc": [0.9, None, None],
            "reason": ["", "ValueError: boom", "ValueError: boom"],
            "attrs": [{"cv_scores": [0.9], "params": {}, "fit_seconds": 0.1}, {}, {}],
            "params.candidate": ["01_a", "02_b", "02_b"],
        }
    )
    rows = trial_rows(trials, ["01_a", "02_b", "03_c"], "roc_auc", higher=True)
    assert rows["01_a"]["status"] == "ok" and rows["01_a"]["cv_score"] == 0.9
    assert rows["02_b"] == {"status": "failed", "trials": 2, "reason": "ValueError: boom"}
    assert rows["03_c"]["reason"] == "no trial ran within the budget"


def test_the_front_and_the_pick_weigh_score_against_size_and_latency() -> None:
    board = pd.DataFrame(
        {
            "candidate": ["big", "small", "worse", "broken"],
            "status": ["ok", "ok", "ok", "failed"],
            "cv_score": [0.95, 0.90, 0.85, np.nan],
            "size_bytes": [5e6, 2e4, 3e4, np.nan],
            "latency_ms_1_row": [3.0, 0.2, 0.5, np.nan],
        }
    )
    assert pareto(board, higher=True) == [True, True, False, False]
    assert pick(board, higher=True) == "big"
    assert pick(board, higher=True, max_latency_ms=1.0) == "small"
    assert pick(board.assign(cv_score=[3.0, 2.0, 1.0, np.nan]), higher=False) == "worse"


def test_a_rerun_continues_the_study_and_an_edit_starts_a_new_one(
    cancer: pd.DataFrame, tmp_path: Path
) -> None:
    options: dict[str, Any] = {
        "families": ["linear"],
        "executor": "inline",
        "n_jobs": 1,
        "out": tmp_path,
    }
    first = al.automl(cancer, "target", time_budget="10s", **options)
    done = set(first.trials["number"])
    second = al.automl(cancer, "target", time_budget="10s", **options)
    assert second.study_name == first.study_name
    assert done < set(second.trials["number"])  # the first run's trials are kept, not redone
    again = second.trials[second.trials["number"].isin(done)]
    assert again["state"].tolist() == first.trials["state"].tolist()
    candidate = tmp_path / "candidates" / "01_linear.py"
    candidate.write_text(candidate.read_text().replace("Float(1e-3, 100.0", "Float(0.5, 2.0"))
    edited = al.automl(cancer, "target", time_budget="10s", **options)
    assert edited.study_name != first.study_name  # its code changed: searched anew
    complete = edited.trials[edited.trials["state"] == "complete"]
    assert len(complete) > 0 and complete["params.01_linear:model__C"].between(0.5, 2.0).all()
    assert edited.leaderboard.iloc[0]["status"] == "ok"


def test_a_folder_holding_another_problems_search_is_refused(
    cancer: pd.DataFrame, tmp_path: Path
) -> None:
    (tmp_path / "problem.json").write_text(
        json.dumps({"target": "target", "task": "regression", "metric": "rmse"})
    )
    with pytest.raises(AutoMLError, match="holds the search of another problem"):
        al.automl(cancer, "target", time_budget="10s", out=tmp_path, executor="inline")


def test_a_candidates_earlier_code_does_not_stand_for_its_edit() -> None:
    trials = pd.DataFrame(
        {
            "number": [0, 1],
            "state": ["complete", "complete"],
            "roc_auc": [0.99, 0.90],
            "reason": ["", ""],
            "attrs": [
                {"cv_scores": [0.99], "params": {"a": 1}, "source": "old"},
                {"cv_scores": [0.90], "params": {"a": 2}, "source": "new"},
            ],
            "params.candidate": ["01_a", "01_a"],
        }
    )
    rows = trial_rows(trials, ["01_a"], "roc_auc", higher=True, sources={"01_a": "new"})
    assert rows["01_a"]["params"] == {"a": 2} and rows["01_a"]["cv_score"] == 0.90


def test_a_pipeline_step_searches_and_hands_its_model_on() -> None:
    from alambic.config import settings
    from tests.automl import flows

    run = al.run(flows.searched)
    assert run.succeeded, run.error
    out = run.result()
    assert out["rows"] == 569 and out["candidate"] == "01_linear"
    folder = Path(out["folder"])  # one per step run, in the home: a resume continues it
    assert folder.parent == settings().home / "automl" and folder.name.startswith("search-")
    assert (folder / "leaderboard.csv").exists()


def test_a_search_where_no_candidate_finishes_says_why(
    cancer: pd.DataFrame, tmp_path: Path
) -> None:
    from alambic.automl import detect, write_candidates

    options: dict[str, Any] = {"out": tmp_path, "executor": "inline", "n_jobs": 1}
    (candidate,) = write_candidates(detect(cancer, "target"), tmp_path, families=["linear"])
    path = candidate.path
    path.write_text(path.read_text() + "\n\ndef build(**params):\n    raise ValueError('broken')\n")
    with pytest.raises(AutoMLError, match=r"found no model.*ValueError: broken.*Fix the failing"):
        al.automl(cancer, "target", time_budget="10s", **options)
