"""Metric suites, plots, paired bootstrap comparisons and gates."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer, load_diabetes, load_iris
from sklearn.dummy import DummyClassifier
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from alambic.errors import EvaluationError
from alambic.evaluation import compare, compute_metrics, evaluate, infer_task, metric
from alambic.models import package


@pytest.fixture(scope="module")
def cancer() -> tuple[pd.DataFrame, pd.Series, pd.DataFrame, pd.Series]:
    x, y = load_breast_cancer(return_X_y=True, as_frame=True)
    return x.iloc[::2], y.iloc[::2], x.iloc[1::2], y.iloc[1::2]


def good_model(x: pd.DataFrame, y: pd.Series) -> Any:
    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(x, y)


def test_binary_metrics_have_known_values() -> None:
    y = np.array([0, 0, 1, 1])
    scores = np.array([0.1, 0.6, 0.4, 0.9])
    assert metric("roc_auc", y, scores) == 0.75
    assert metric("precision", y, scores) == 0.5  # predicted 1 at 0.6 and 0.9
    assert metric("recall", y, scores, threshold=0.3) == 1.0
    assert metric("brier", y, scores) == pytest.approx((0.01 + 0.36 + 0.36 + 0.01) / 4)
    assert metric("accuracy", y, scores) == 0.5


def test_regression_and_multiclass_suites() -> None:
    y = np.array([1.0, 2.0, 4.0])
    suite = compute_metrics("regression", y, np.array([1.0, 2.0, 2.0]))
    assert suite["mae"] == pytest.approx(2 / 3) and suite["rmse"] == pytest.approx(np.sqrt(4 / 3))
    probabilities = np.array([[0.8, 0.1, 0.1], [0.1, 0.8, 0.1], [0.2, 0.2, 0.6]])
    suite = compute_metrics("multiclass", np.array([0, 1, 1]), probabilities)
    assert suite["accuracy"] == pytest.approx(2 / 3)
    assert set(suite) == {"accuracy", "macro_f1", "multi_log_loss"}


def test_task_inference() -> None:
    assert infer_task([0, 1, 1]) == "binary"
    assert infer_task([0, 1, 2]) == "multiclass"
    assert infer_task(np.linspace(0, 1, 100)) == "regression"


def test_evaluate_reports_test_and_train_metrics_and_plots(cancer: Any) -> None:
    x_train, y_train, x_test, y_test = cancer
    model = package(good_model(x_train, y_train), x_train, y_train)
    report = evaluate(model, x_test, y_test, train=(x_train, y_train))
    assert report.task == "binary"
    assert report.metrics["roc_auc"] > 0.95
    assert report.train_metrics["roc_auc"] >= report.metrics["roc_auc"] - 0.05
    assert set(report.plots) == {"confusion_matrix.png", "roc.png", "pr.png", "calibration.png"}
    assert all(png.startswith(b"\x89PNG") for png in report.plots.values())
    gaps = report.to_dict()["overfit_gap"]
    assert gaps["roc_auc"] == pytest.approx(
        report.train_metrics["roc_auc"] - report.metrics["roc_auc"]
    )


def test_bootstrap_intervals_surround_the_metric(cancer: Any) -> None:
    x_train, y_train, x_test, y_test = cancer
    model = package(good_model(x_train, y_train), x_train, y_train)
    report = evaluate(model, x_test, y_test, plots=False, n_boot=100, ci_metrics=["roc_auc", "f1"])
    for name in ("roc_auc", "f1"):
        low, high = report.ci[name]
        assert low <= report.metrics[name] <= high and high - low < 0.2
    assert report.to_dict()["ci"] == report.ci
    assert evaluate(model, x_test, y_test, plots=False).ci == {}  # off by default


def test_multiclass_and_regression_models() -> None:
    x, y = load_iris(return_X_y=True, as_frame=True)
    report = evaluate(LogisticRegression(max_iter=1000).fit(x, y), x, y)
    assert report.task == "multiclass" and report.metrics["accuracy"] > 0.9
    x, y = load_diabetes(return_X_y=True, as_frame=True)
    report = evaluate(LinearRegression().fit(x, y), x, y)
    assert report.task == "regression" and report.metrics["r2"] > 0.4
    assert set(report.plots) == {"predicted_vs_actual.png"}


@pytest.mark.parametrize("seed", [0, 1, 2], ids=["seed0", "seed1", "seed2"])
def test_a_clearly_better_candidate_passes_the_gate(cancer: Any, seed: int) -> None:
    x_train, y_train, x_test, y_test = cancer
    champion = DummyClassifier(strategy="prior").fit(x_train, y_train)
    verdict = compare(
        good_model(x_train, y_train),
        champion,
        x_test,
        y_test,
        metric_name="roc_auc",
        n_boot=200,
        random_state=seed,
    )
    assert verdict.difference > 0.3 and verdict.ci_low > 0.3
    assert verdict.passed(margin=0.01)
    assert verdict.to_dict(0.01)["passed"] is True


def test_the_same_model_does_not_pass_and_a_worse_one_fails(cancer: Any) -> None:
    x_train, y_train, x_test, y_test = cancer
    model = good_model(x_train, y_train)
    same = compare(model, model, x_test, y_test, n_boot=100)
    assert same.difference == 0 and not same.passed()
    worse = compare(DummyClassifier().fit(x_train, y_train), model, x_test, y_test, n_boot=100)
    assert worse.ci_high < 0 and not worse.passed()


def test_lower_is_better_metrics_are_gated_the_right_way(cancer: Any) -> None:
    x_train, y_train, x_test, y_test = cancer
    verdict = compare(
        good_model(x_train, y_train),
        DummyClassifier().fit(x_train, y_train),
        x_test,
        y_test,
        metric_name="brier",
        n_boot=100,
    )
    assert verdict.difference < 0 and verdict.passed()


def test_no_champion_yet_passes(cancer: Any) -> None:
    x_train, y_train, x_test, y_test = cancer
    verdict = compare(good_model(x_train, y_train), None, x_test, y_test)
    assert verdict.reference is None and verdict.passed()


def test_bootstrap_is_reproducible(cancer: Any) -> None:
    x_train, y_train, x_test, y_test = cancer
    a, b = good_model(x_train, y_train), DummyClassifier().fit(x_train, y_train)
    first = compare(a, b, x_test, y_test, n_boot=100, random_state=7)
    again = compare(a, b, x_test, y_test, n_boot=100, random_state=7)
    assert (first.ci_low, first.ci_high) == (again.ci_low, again.ci_high)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"metric_name": "auc_roc"}, "unknown metric 'auc_roc'"),
        ({"metric_name": "rmse"}, "is for regression models"),
    ],
    ids=["unknown-metric", "wrong-task"],
)
def test_bad_metrics_are_refused_before_any_work(cancer: Any, kwargs: dict, message: str) -> None:
    x_train, y_train, x_test, y_test = cancer
    with pytest.raises(EvaluationError, match=message):
        compare(good_model(x_train, y_train), None, x_test, y_test, **kwargs)


def test_mismatched_rows_are_refused(cancer: Any) -> None:
    x_train, y_train, x_test, y_test = cancer
    with pytest.raises(EvaluationError, match="same number of rows"):
        evaluate(good_model(x_train, y_train), x_test, y_test.iloc[:10])
