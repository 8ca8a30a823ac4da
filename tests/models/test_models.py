"""Model formats: skops, LightGBM text, XGBoost UBJSON; signatures; no pickle by default."""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer, load_diabetes
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import alambic as al
from alambic.errors import ModelError
from alambic.models import (
    Model,
    dumps_model,
    infer_signature,
    load_model,
    loads_model,
    package,
    save_model,
)


@pytest.fixture(scope="module")
def cancer() -> tuple[pd.DataFrame, pd.Series]:
    data = load_breast_cancer(as_frame=True)
    return data.data.iloc[:300], data.target.iloc[:300]


def _lightgbm(x: pd.DataFrame, y: pd.Series) -> Any:
    import lightgbm

    return lightgbm.LGBMClassifier(n_estimators=20, verbose=-1, random_state=0).fit(x, y)


def _xgboost(x: pd.DataFrame, y: pd.Series) -> Any:
    import xgboost

    return xgboost.XGBClassifier(n_estimators=20, random_state=0).fit(x, y)


@pytest.mark.parametrize(
    ("make", "flavor"),
    [
        (
            lambda x, y: make_pipeline(StandardScaler(), LogisticRegression(max_iter=500)).fit(
                x, y
            ),
            "sklearn",
        ),
        (lambda x, y: RandomForestClassifier(n_estimators=10, random_state=0).fit(x, y), "sklearn"),
        (_lightgbm, "lightgbm"),
        (_xgboost, "xgboost"),
    ],
    ids=["sklearn-pipeline", "random-forest", "lightgbm", "xgboost"],
)
def test_classifiers_round_trip_with_their_signature(
    tmp_path: Path, cancer: tuple[pd.DataFrame, pd.Series], make: Any, flavor: str
) -> None:
    x, y = cancer
    model = package(make(x, y), x, y)
    path = save_model(model, tmp_path / "model.zip")
    loaded = load_model(path)
    assert loaded.flavor == flavor
    assert loaded.signature is not None and loaded.signature.task == "binary"
    assert loaded.signature.classes == [0, 1]
    assert loaded.signature.inputs[0] == ("mean radius", "float64")
    assert loaded.size_bytes > 0 and "python" in loaded.versions
    np.testing.assert_allclose(loaded.predict_proba(x), model.predict_proba(x), rtol=1e-6)
    assert (loaded.predict(x) == model.predict(x)).all()


def test_packages_are_deterministic(cancer: tuple[pd.DataFrame, pd.Series]) -> None:
    x, y = cancer
    estimator = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500)).fit(x, y)
    assert dumps_model(package(estimator, x, y))[0] == dumps_model(package(estimator, x, y))[0]


def test_regression_signature() -> None:
    data = load_diabetes(as_frame=True)
    model = package(Ridge().fit(data.data, data.target), data.data, data.target)
    assert model.signature is not None and model.signature.task == "regression"
    assert model.signature.classes == []


def test_the_signature_guards_predictions(cancer: tuple[pd.DataFrame, pd.Series]) -> None:
    x, y = cancer
    model = package(
        make_pipeline(StandardScaler(), LogisticRegression(max_iter=500)).fit(x, y), x, y
    )
    with pytest.raises(ModelError, match=r"missing \['mean radius'\]"):
        model.predict(x.drop(columns="mean radius"))
    shuffled = x[list(reversed(x.columns))]  # column order does not matter, names do
    assert (model.predict(shuffled) == model.predict(x)).all()


def test_untrusted_types_are_refused_never_executed(tmp_path: Path) -> None:
    from tests.models.helpers import Evil

    path = tmp_path / "evil.zip"
    save_model(make_pipeline(Evil()), path)
    with pytest.raises(ModelError, match=r"untrusted types \['tests\.models\.helpers\.Evil'\]"):
        load_model(path)
    assert not (tmp_path / "pwned").exists()


def test_unknown_models_need_pickle_opt_in(tmp_path: Path) -> None:
    class Custom:
        def predict(self, x: Any) -> Any:
            return x

    with pytest.raises(ModelError, match="no safe format"):
        save_model(Custom(), tmp_path / "m.zip")
    data, manifest = dumps_model(Custom(), allow_pickle=True)
    assert manifest["flavor"] == "cloudpickle"
    with pytest.raises(ModelError, match="allow_pickle=True"):
        loads_model(data)
    assert type(loads_model(data, allow_pickle=True).estimator).__name__ == "Custom"


def test_bad_packages_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="not a zip file"):
        loads_model(b"not a zip")
    buffer = tmp_path / "empty.zip"
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("other.txt", "x")
    with pytest.raises(ModelError, match=r"alambic-model\.json is missing"):
        load_model(buffer)


def test_infer_signature_from_arrays() -> None:
    signature = infer_signature(np.zeros((3, 2)))
    assert signature.inputs == [("x0", "float64"), ("x1", "float64")]
    with pytest.raises(ModelError, match="DataFrame or a 2-D array"):
        infer_signature([1, 2, 3])


def test_models_travel_between_steps_without_pickle() -> None:
    from tests.models import flows

    run = al.run(flows.train_and_score)
    assert run.succeeded, run.error
    assert run.step("train").outputs["return"]["materializer"] == "alambic-model"
    assert run.step("train_raw").outputs["return"]["materializer"] == "alambic-estimator"
    model = run.output("train")
    assert isinstance(model, Model) and model.signature is not None
    assert run.result() > 0.9
