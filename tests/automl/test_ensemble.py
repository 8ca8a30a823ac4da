"""Greedy ensemble selection over out-of-fold predictions, and the ensemble as one model."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.tree import DecisionTreeRegressor

from alambic.automl._ensemble import Ensemble, greedy_weights


def test_two_models_that_err_on_different_rows_are_mixed() -> None:
    y = np.array([0, 1, 0, 1, 0, 1])
    # each is wrong on a different pair of rows, the average is right everywhere
    a = np.array([[0.8, 0.2], [0.3, 0.7], [0.4, 0.6], [0.55, 0.45], [0.9, 0.1], [0.2, 0.8]])
    b = np.array([[0.45, 0.55], [0.2, 0.8], [0.9, 0.1], [0.1, 0.9], [0.7, 0.3], [0.6, 0.4]])
    weights = greedy_weights([a, b], y, "accuracy", rounds=10)
    assert weights[0] > 0 and weights[1] > 0 and abs(sum(weights) - 1) < 1e-9


def test_for_an_error_metric_lower_is_better() -> None:
    y = np.array([1.0, 2.0, 3.0, 4.0])
    near, far = y + 0.1, y + 3.0
    assert greedy_weights([far, near], y, "rmse") == [0.0, 1.0]


def test_an_ensemble_averages_its_members_and_stores_without_pickle() -> None:
    from alambic.models import dumps_model, loads_model, package

    frame = load_breast_cancer(as_frame=True).frame
    X, y = frame.drop(columns=["target"]), frame["target"]
    linear = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(X, y)
    knn = make_pipeline(StandardScaler(), KNeighborsClassifier()).fit(X, y)
    ensemble = Ensemble([linear, knn], [0.75, 0.25])
    expected = 0.75 * linear.predict_proba(X) + 0.25 * knn.predict_proba(X)
    assert np.allclose(ensemble.predict_proba(X), expected)
    assert ensemble.predict(X).tolist() == expected.argmax(axis=1).tolist()
    loaded = loads_model(dumps_model(package(ensemble, X, y))[0])
    assert np.allclose(loaded.predict_proba(X.head(20)), expected[:20])


def test_a_regression_ensemble_averages_predictions_and_refits() -> None:
    X = pd.DataFrame({"x": np.arange(40, dtype=float)})
    y = X["x"] * 2.0
    members = [Ridge().fit(X, y), DecisionTreeRegressor(max_depth=2).fit(X, y)]
    ensemble = Ensemble(members, [0.5, 0.5])
    assert not hasattr(ensemble, "predict_proba")  # regressors give no probabilities
    mean = (members[0].predict(X) + members[1].predict(X)) / 2
    assert np.allclose(ensemble.predict(X), mean)
    refit = Ensemble(members, [0.5, 0.5]).fit(X, y * 10)
    assert refit.predict(X)[-1] > 10 * ensemble.predict(X)[-1] * 0.9


def test_the_cross_fitted_score_does_not_reward_fitting_noise() -> None:
    from alambic.automl._ensemble import cross_fitted_score
    from alambic.evaluation import metric

    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, size=200)
    noise = []
    for _ in range(12):  # models that know nothing
        p = rng.random(200)
        noise.append(np.column_stack([1 - p, p]))
    weights = greedy_weights(noise, y, "accuracy")
    in_sample = metric("accuracy", y, sum(w * p for p, w in zip(noise, weights, strict=True)))
    honest = cross_fitted_score(noise, y, "accuracy")
    assert honest < in_sample and honest < 0.6  # chance is 0.5
