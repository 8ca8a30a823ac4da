"""Tuning end to end on real worker processes: results, tracking, failures, budgets."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer
from sklearn.tree import DecisionTreeClassifier

import alambic as al
from alambic.errors import TuningError
from alambic.tracking import tracking_store
from alambic.tuning import Float, Int
from tests.tuning import flows

X_SPACE = {"x": Float(0.0, 1.0)}


@pytest.fixture(scope="module")
def cancer() -> pd.DataFrame:
    data = load_breast_cancer(as_frame=True)
    frame = data.frame.rename(columns=lambda c: c.replace(" ", "_"))
    return frame


def custom(objective: Any, **kwargs: Any) -> Any:
    """Tune a test objective over x in [0, 1], maximising its score."""
    return al.tune(
        objective=objective, space=X_SPACE, metric="score", directions=["maximize"], **kwargs
    )


def studies(home: Path) -> list[Path]:
    return sorted((home / "studies").glob("*.journal")) if (home / "studies").exists() else []


def tracked(kind: str) -> list[Any]:
    from alambic.tracking._api import _process_buffer

    _process_buffer.flush()
    return [r for r in tracking_store().runs() if r.kind == kind]


def test_an_estimator_is_tuned_by_cross_validation_and_refit(
    cancer: pd.DataFrame, home: Path
) -> None:
    result = al.tune(
        DecisionTreeClassifier(random_state=0),
        {"max_depth": Int(1, 8), "min_samples_leaf": Int(1, 30, log=True)},
        data=cancer,
        target="target",
        metric="roc_auc",
        cv=3,
        n_trials=8,
        n_jobs=2,
    )
    assert 1 <= result.best_params["max_depth"] <= 8
    assert len(result.cv_scores["roc_auc"]) == 3
    assert result.best_value == pytest.approx(np.mean(result.cv_scores["roc_auc"]))
    assert result.best_value == result.trials["roc_auc"].max()
    assert list(result.trials["state"]) == ["complete"] * 8
    model = result.model
    assert model.signature.task == "binary"
    assert model.size_bytes > 0 and "scikit-learn" in model.versions
    assert model.metadata["tuning"]["best_params"] == result.best_params
    assert model.estimator.get_params()["max_depth"] == result.best_params["max_depth"]
    features = cancer.drop(columns=["target"])
    assert (model.predict(features) == cancer["target"]).mean() > 0.9
    # Each trial is a tracked run, child of the study's run, with its params and score.
    trials = tracked("trial")
    (parent,) = tracked("tuning")
    assert len(trials) == 8 and {t.parent_id for t in trials} == {parent.id}
    best = next(t for t in trials if t.name == f"trial-{result.best_trial}")
    assert best.metrics["roc_auc"] == pytest.approx(result.best_value)
    assert best.params["max_depth"] == str(result.best_params["max_depth"])
    assert len(studies(home)) == 1


def test_a_custom_objective_runs_in_workers_and_what_it_logs_is_kept() -> None:
    result = custom(
        flows.quadratic,
        n_trials=12,
        n_jobs=2,
        sampler="random",
        random_state=3,
    )
    assert result.best_value == pytest.approx(-((result.best_params["x"] - 0.3) ** 2))
    trials = tracked("trial")
    best = next(t for t in trials if t.name == f"trial-{result.best_trial}")
    assert best.metrics["own_metric"] == pytest.approx(result.best_params["x"])


@pytest.mark.parametrize("sampler", ["tpe", "random", "cmaes", "grid"])
def test_every_sampler_runs(sampler: str) -> None:
    space = {"x": Float(0.0, 1.0, step=0.25), "n": Int(1, 3)} if sampler == "grid" else X_SPACE
    result = al.tune(
        objective=flows.quadratic if sampler != "grid" else _grid_objective,
        space=space,
        metric="score",
        directions=["maximize"],
        n_trials=None if sampler == "grid" else 6,
        sampler=sampler,
        n_jobs=2,
    )
    if sampler == "grid":  # the whole grid, each point once
        points = {(p["params.x"], p["params.n"]) for _, p in result.trials.iterrows()}
        assert len(result.trials) == 15 and len(points) == 15
    else:
        assert len(result.trials) == 6


def _grid_objective(params: dict[str, Any], trial: Any) -> float:
    return float(params["x"] * params["n"])


def test_several_objectives_give_the_pareto_front() -> None:
    result = al.tune(
        objective=flows.two_objectives,
        space=X_SPACE,
        metric=["roc_auc", "model_size"],
        n_trials=8,
        n_jobs=2,
        sampler="random",
    )
    assert result.directions == ["maximize", "minimize"]
    assert len(result.pareto) == 8  # x against x²: no point dominates another
    assert all({"roc_auc", "model_size", "params"} <= set(row) for row in result.pareto)
    assert result.best_values["roc_auc"] == max(row["roc_auc"] for row in result.pareto)


def test_an_estimator_against_its_size_returns_a_front(cancer: pd.DataFrame) -> None:
    result = al.tune(
        DecisionTreeClassifier(random_state=0),
        {"max_depth": Int(1, 10)},
        data=cancer,
        target="target",
        metric=["roc_auc", "model_size"],
        n_trials=6,
        n_jobs=2,
        refit=False,
    )
    assert result.pareto and all(row["model_size"] > 0 for row in result.pareto)
    assert result.model is None


def test_the_median_pruner_stops_slow_learners() -> None:
    result = custom(
        flows.curve,
        n_trials=16,
        n_jobs=1,
        sampler="random",
        pruner="median",
        random_state=0,
    )
    states = result.trials["state"].value_counts()
    assert states.get("pruned", 0) >= 2
    assert states["complete"] >= 4
    pruned_x = result.trials.loc[result.trials.state == "pruned", "params.x"]
    assert pruned_x.max() < result.best_params["x"]


@pytest.mark.parametrize("pruner", ["successive_halving", "hyperband"])
def test_other_pruners_run(pruner: str) -> None:
    result = custom(
        flows.curve,
        n_trials=8,
        pruner=pruner,
        n_jobs=2,
    )
    assert len(result.trials) == 8


def test_failing_trials_are_recorded_and_the_study_goes_on() -> None:
    result = custom(
        flows.flaky,
        n_trials=12,
        n_jobs=2,
        sampler="random",
        random_state=1,
    )
    failed = result.trials[result.trials.state == "fail"]
    assert len(failed) >= 1 and len(result.trials) == 12
    assert set(failed["reason"]) == {"ValueError: x too large for this model"}
    assert result.best_params["x"] <= 0.5
    runs = {r.name: r for r in tracked("trial")}
    number = int(failed["number"].iloc[0])
    assert runs[f"trial-{number}"].status == "failed"
    assert runs[f"trial-{number}"].tags["alambic.reason"].startswith("ValueError")


def test_when_every_trial_fails_the_error_sums_up_the_reasons() -> None:
    with pytest.raises(
        TuningError, match=r"no trial .* succeeded \(4 trial\(s\)\): 4× ValueError: boom"
    ):
        custom(
            flows.always_fails,
            n_trials=4,
            n_jobs=2,
        )


def test_a_trial_that_runs_too_long_is_stopped_and_failed() -> None:
    result = custom(
        flows.slow_for_some,
        n_trials=4,
        n_jobs=2,
        trial_timeout=2,
    )
    row = result.trials.set_index("number").loc[1]
    assert row["state"] == "fail" and "timed out after 2s" in row["reason"]
    assert (result.trials.state == "complete").sum() == 3


def test_stop_at_ends_the_study_stopping_the_trials_still_running() -> None:
    result = custom(flows.slow_for_some, timeout=6, stop_at=8, n_jobs=2)
    row = result.trials.set_index("number").loc[1]  # the one that sleeps a minute
    assert row["state"] == "fail" and "stopped: the study's end came (8s" in row["reason"]
    assert (result.trials.state == "complete").sum() >= 2


def test_a_killed_worker_fails_its_trial_only() -> None:
    result = custom(
        flows.killed_once,
        n_trials=5,
        n_jobs=2,
    )
    row = result.trials.set_index("number").loc[1]
    assert row["state"] == "fail"
    assert row["reason"].startswith("worker crashed") and "signal 9" in row["reason"]
    assert (result.trials.state == "complete").sum() == 4


def test_the_wall_clock_budget_stops_new_trials() -> None:
    result = custom(
        flows.quadratic,
        timeout=1.5,
        n_jobs=2,
    )
    assert len(result.trials) >= 2


def test_a_warm_start_seeds_the_study_without_counting_against_the_budget() -> None:
    first = custom(
        flows.quadratic,
        n_trials=5,
        n_jobs=2,
    )
    second = custom(
        flows.quadratic,
        n_trials=3,
        n_jobs=2,
        warm_start=first,
    )
    assert len(second.trials) == 5 + 3
    assert second.best_value >= first.best_value
    queued = custom(
        flows.quadratic,
        n_trials=1,
        warm_start=[{"x": 0.3}],
    )
    assert queued.best_params == {"x": 0.3} and queued.best_value == 0.0


def test_a_named_study_continues_where_it_stopped() -> None:
    kwargs: dict[str, Any] = {
        "objective": flows.quadratic,
        "space": X_SPACE,
        "metric": "score",
        "directions": ["maximize"],
        "study_name": "mine",
    }
    al.tune(n_trials=3, **kwargs)
    again = al.tune(n_trials=5, **kwargs)
    assert len(again.trials) == 5  # 3 finished earlier + 2 new
    with pytest.raises(TuningError, match="was created to"):
        al.tune(n_trials=5, **{**kwargs, "directions": ["minimize"]})


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"metric": "roc_aucc"}, "unknown metric 'roc_aucc'"),
        ({"target": "label"}, "target column 'label' is not in the data"),
        ({"space": {}}, "empty"),
        ({"space": {"max_depth": Int(8, 1)}}, "greater than high"),
        ({"n_trials": None}, "give a budget"),
        ({"n_trials": 0}, "positive number"),
        ({"metric": "rmse"}, "for regression tasks"),
        ({"cv": 1}, "at least 2 folds"),
        ({"sampler": "bayes"}, "unknown sampler"),
        ({"pruner": "early"}, "unknown pruner"),
        ({"metric": ["roc_auc", "model_size"], "pruner": "median"}, "single metric"),
        ({"n_jobs": 0}, "at least one trial"),
    ],
    ids=[
        "unknown-metric",
        "missing-target",
        "empty-space",
        "contradictory-space",
        "no-budget",
        "zero-trials",
        "wrong-task-metric",
        "one-fold",
        "unknown-sampler",
        "unknown-pruner",
        "prune-multi",
        "no-jobs",
    ],
)
def test_bad_input_is_refused_before_any_trial(
    cancer: pd.DataFrame, home: Path, kwargs: dict[str, Any], message: str
) -> None:
    arguments: dict[str, Any] = {
        "space": {"max_depth": Int(1, 8)},
        "data": cancer,
        "target": "target",
        "metric": "roc_auc",
        "n_trials": 3,
        **kwargs,
    }
    with pytest.raises(TuningError, match=message):
        al.tune(DecisionTreeClassifier(), **arguments)
    assert studies(home) == []  # nothing started
