"""The search across candidates: one space, shared folds, trials that score out of fold."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from alambic.automl import detect, write_candidates
from alambic.automl._search import (
    folds_of,
    joint_space,
    metric_labels,
    portfolio_points,
    run_candidate,
    split_params,
)
from alambic.errors import AutoMLError
from alambic.tuning import Categorical, Float, Int, Pruned, Space, Trial


def test_the_joint_space_samples_a_candidates_parameters_only_when_it_is_chosen() -> None:
    joint = joint_space(
        {"01_knn": {"model__n_neighbors": Int(1, 9)}, "02_svm": {"model__C": Float(0.1, 10)}}
    )
    space = Space.parse(joint)
    assert space.params["candidate"] == Categorical(["01_knn", "02_svm"])
    assert space.params["01_knn:model__n_neighbors"].when == {"candidate": "01_knn"}
    assert split_params({"candidate": "02_svm", "02_svm:model__C": 2.0}) == (
        "02_svm",
        {"model__C": 2.0},
    )


def test_an_invalid_candidate_space_names_the_candidate() -> None:
    with pytest.raises(AutoMLError, match="candidate 03_mine: its SPACE is invalid"):
        joint_space({"03_mine": {"model__C": Float(10, 1)}})


def test_the_portfolios_are_queued_in_turns() -> None:
    spaces = {"a": {"x": Int(0, 5)}, "b": {"y": Int(0, 5)}}
    points = portfolio_points({"a": [{"x": 1}, {"x": 2}], "b": [{"y": 3}]}, spaces)
    assert points == [
        {"candidate": "a", "a:x": 1},
        {"candidate": "b", "b:y": 3},
        {"candidate": "a", "a:x": 2},
    ]


def test_what_a_portfolio_entry_leaves_out_takes_the_middle_of_its_range() -> None:
    space = {
        "n": Int(10, 1000, log=True),
        "depth": Int(2, 10),
        "rate": Float(0.5, 1.0),
        "kind": Categorical(["gbdt", "dart"]),
    }
    (point,) = portfolio_points({"c": [{"depth": 3}]}, {"c": space})
    assert point == {"candidate": "c", "c:n": 100, "c:depth": 3, "c:rate": 0.75, "c:kind": "gbdt"}


@pytest.mark.parametrize(
    ("entry", "words"),
    [
        ({"z": 1}, "PORTFOLIO sets 'z', which SPACE does not hold"),
        ({"x": 9}, "PORTFOLIO sets x=9, outside SPACE's"),
        ({"x": "scale"}, "PORTFOLIO sets x='scale', outside"),
        ({"kind": "c"}, "PORTFOLIO sets kind='c', outside"),
    ],
    ids=["unknown", "beyond", "text-for-a-number", "not-a-choice"],
)
def test_a_portfolio_entry_outside_its_space_is_refused(entry: dict[str, Any], words: str) -> None:
    space = {"x": Float(0.0, 5.0), "kind": Categorical(["a", "b"])}
    with pytest.raises(AutoMLError, match=f"candidate 04_mine: {words}"):
        portfolio_points({"04_mine": [entry]}, {"04_mine": space})


def test_folds_are_stratified_disjoint_and_cover_every_row() -> None:
    labels = pd.Series([0] * 80 + [1] * 20)
    folds = folds_of(labels, "binary", 5, random_state=0)
    assert sorted(i for fold in folds for i in fold) == list(range(100))
    assert [int(labels.iloc[f].sum()) for f in folds] == [4] * 5
    assert folds == folds_of(labels, "binary", 5, random_state=0)  # the same for everyone


def test_labels_become_class_positions_for_the_metrics() -> None:
    assert metric_labels(["b", "a", "c"], ["a", "b", "c"]).tolist() == [1, 0, 2]
    assert metric_labels([1.5, 2.5], []).tolist() == [1.5, 2.5]


def _spec(tmp_path: Path, frame: pd.DataFrame, families: list[str]) -> dict[str, Any]:
    from alambic.config import settings
    from alambic.store import ArtifactStore, save_value

    problem = detect(frame, "y")
    candidates = write_candidates(problem, tmp_path, families=families)
    store = settings().artifacts
    return {
        "store": store,
        "data": save_value(ArtifactStore(store), frame).to_dict(),
        "target": "y",
        "task": problem.task,
        "metric": problem.metric,
        "classes": problem.classes,
        "folds": folds_of(frame["y"], problem.task, 4, 0),
        "sources": {c.name: c.path.read_text() for c in candidates},
    }


def _words(n: int = 160) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    x = rng.normal(size=n)
    y = np.where(x + rng.normal(scale=0.5, size=n) > 0, "yes", "no")
    return pd.DataFrame({"x": x, "z": rng.normal(size=n), "y": y})


def test_a_trial_scores_its_candidate_out_of_fold_and_saves_the_predictions(
    tmp_path: Path,
) -> None:
    from alambic.store import ArtifactRef, ArtifactStore, load_value

    frame = _words()
    spec = _spec(tmp_path, frame, ["linear"])
    trial = Trial({}, number=0)
    value = run_candidate(spec, {"candidate": "01_linear", "01_linear:model__C": 1.0}, trial)
    assert 0.75 < value <= 1.0  # roc_auc of a logistic regression on a clear signal
    assert [step for step, _ in trial.intermediate] == [0, 1, 2, 3]
    assert trial.attrs["params"] == {"model__C": 1.0}
    assert len(trial.attrs["cv_scores"]) == 4 and trial.attrs["fit_seconds"] > 0
    oof = load_value(ArtifactStore(spec["store"]), ArtifactRef.from_dict(trial.attrs["oof"]))
    assert oof.shape == (len(frame), 2) and not np.isnan(oof).any()
    assert np.allclose(oof.sum(axis=1), 1.0)


def test_a_trial_the_pruner_stops_raises_pruned(tmp_path: Path) -> None:
    class Stop(Trial):
        def should_prune(self) -> bool:
            return True

    spec = _spec(tmp_path, _words(), ["linear"])
    with pytest.raises(Pruned, match="after fold 0"):
        run_candidate(spec, {"candidate": "01_linear"}, Stop({}, number=1))


def test_a_fold_without_a_rare_class_still_gives_a_column_for_it() -> None:
    from sklearn.dummy import DummyClassifier

    from alambic.automl._ensemble import aligned as _aligned

    model = DummyClassifier(strategy="prior").fit([[0], [1], [2]], ["a", "c", "c"])
    predicted = model.predict_proba([[0], [1]])  # no column for "b": no row of it here
    out = _aligned(predicted, model, ["a", "b", "c"])
    assert out.shape == (2, 3) and out[:, 1].tolist() == [0.0, 0.0]
    assert np.allclose(out[:, [0, 2]], predicted)
