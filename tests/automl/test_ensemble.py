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


def test_a_stacked_layer_reads_what_averaging_cannot_and_stores_without_pickle() -> None:
    from sklearn.base import clone

    from alambic.automl._ensemble import Stacked, stack
    from alambic.automl._search import folds_of
    from alambic.evaluation import metric
    from alambic.models import dumps_model, loads_model, package

    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, size=300)
    truth = np.eye(3)[y]
    noisy = 0.35 * truth + 0.65 * rng.dirichlet(np.ones(3), size=300)  # right, often
    inverted = (1 - truth) / 2  # knows the class, says it backwards: averaging is misled
    folds = folds_of(y, "multiclass", 5, 0)
    layer, score = stack([inverted, noisy], y, "accuracy", "multiclass", folds)
    averaged = metric("accuracy", y, (inverted + noisy) / 2)
    assert score > 0.95 and score > metric("accuracy", y, noisy) + 0.05 and averaged < 0.9

    frame = load_breast_cancer(as_frame=True).frame
    X, labels = frame.drop(columns=["target"]), frame["target"]
    half = len(X) // 2  # the layer learns on rows the members did not see
    linear = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    knn = make_pipeline(StandardScaler(), KNeighborsClassifier())
    members = [m.fit(X.iloc[:half], labels.iloc[:half]) for m in (linear, knn)]
    oof = [m.predict_proba(X.iloc[half:]) for m in members]
    rest = labels.iloc[half:].to_numpy()
    layer, _ = stack(oof, rest, "roc_auc", "binary", folds_of(rest, "binary", 5, 0))
    stacked = Stacked(members, layer)
    proba = stacked.predict_proba(X)
    assert proba.shape == (len(X), 2) and np.allclose(proba.sum(axis=1), 1.0)
    assert (stacked.predict(X) == labels).mean() > 0.95
    loaded = loads_model(dumps_model(package(stacked, X, labels))[0])
    assert np.allclose(loaded.predict_proba(X.head(20)), proba[:20])
    refitted = clone(stacked).fit(X, labels)  # what a refit on every row does: layer kept
    assert (refitted.predict(X) == labels).mean() > 0.95


def test_members_that_never_saw_a_rare_class_still_fill_its_column() -> None:
    from alambic.automl._ensemble import Ensemble, Stacked, stack

    X = pd.DataFrame({"x": np.arange(60, dtype=float)})
    y = np.where(X["x"] < 30, "a", "b")
    members = [LogisticRegression().fit(X, y), KNeighborsClassifier(3).fit(X, y)]
    classes = ["a", "b", "c"]  # "c": only in rows the members were not fitted on
    oof = [np.column_stack([m.predict_proba(X), np.zeros(60)]) for m in members]
    positions = np.where(y == "a", 0, 1)
    layer, _ = stack(
        oof, positions, "accuracy", "multiclass", [list(range(i, 60, 3)) for i in range(3)]
    )
    for model in (Stacked(members, layer, classes), Ensemble(members, [0.5, 0.5], classes)):
        proba = model.predict_proba(X)
        assert proba.shape == (60, 3) and np.allclose(proba[:, 2], 0.0)
        assert list(model.predict(X[:2])) == ["a", "a"]


def test_a_stacked_regression_weighs_its_members_non_negatively() -> None:
    from alambic.automl._ensemble import Stacked, stack

    X = pd.DataFrame({"x": np.arange(60, dtype=float)})
    y = X["x"].to_numpy() * 2.0
    members = [Ridge().fit(X, y), DecisionTreeRegressor(max_depth=2).fit(X, y)]
    oof = [m.predict(X) for m in members]
    folds = [list(range(i, 60, 5)) for i in range(5)]
    layer, score = stack(oof, y, "rmse", "regression", folds)
    assert (layer.coef_ >= 0).all() and layer.coef_[0] > 0.9  # the exact member leads
    assert score < 0.5 * np.sqrt(np.mean((oof[1] - y) ** 2))  # half the tree's error
    refitted = Stacked(members, layer).fit(X, y * 3)  # members refitted, layer kept
    assert refitted.predict(X)[-1] > 2.5 * y[-1]
