"""AutoML's combined models (the greedy ensemble, the stacked layer) are served online and
in batch like any other model: stored with skops, loaded by name, no pickle."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import alambic as al
from alambic.automl._ensemble import Ensemble, Stacked, stack
from alambic.automl._search import folds_of
from alambic.models import package, save_model
from alambic.serving import batch_transform
from tests.serving.helpers import register_live


def _combined() -> tuple[pd.DataFrame, pd.Series, dict[str, Any]]:
    frame = load_breast_cancer(as_frame=True).frame
    X, y = frame.drop(columns=["target"]), frame["target"]
    linear = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(X, y)
    knn = make_pipeline(StandardScaler(), KNeighborsClassifier()).fit(X, y)
    oof = [linear.predict_proba(X), knn.predict_proba(X)]
    layer, _ = stack(oof, y.to_numpy(), "roc_auc", "binary", folds_of(y, "binary", 5, 0))
    models = {
        "stacked": Stacked([linear, knn], layer, [0, 1]),
        "ensemble": Ensemble([linear, knn], [0.6, 0.4], [0, 1]),
    }
    return X, y, models


def test_combined_models_answer_online_and_in_batch_as_in_memory(
    serve_app: Any, client: Any, tmp_path: Path
) -> None:
    X, y, models = _combined()
    rows = X.head(7)
    for name, estimator in models.items():
        model = package(estimator, X, y)
        register_live(model, name)
        al.serving.create_endpoint(name, variants=[f"{name}@production"], public=True)
        save_model(model, tmp_path / f"{name}.zip")
    with serve_app(list(models)) as (url, _):
        for name, estimator in models.items():
            records = rows.astype(object).to_dict(orient="records")
            answer = client.post(
                f"{url}/endpoints/{name}/invocations", json={"dataframe_records": records}
            )
            assert answer.status_code == 200, answer.text
            assert answer.json()["predictions"] == estimator.predict(rows).tolist()
    source = tmp_path / "rows.parquet"
    rows.to_parquet(source)
    for name, estimator in models.items():
        out = tmp_path / f"out-{name}"
        batch_transform(tmp_path / f"{name}.zip", str(source), str(out), n_jobs=1)
        scored = pd.concat(pd.read_parquet(p) for p in sorted(out.glob("*.parquet")))
        assert scored["prediction"].tolist() == estimator.predict(rows).tolist()
        positive = estimator.predict_proba(rows)[:, 1]  # a binary model: the positive class's
        np.testing.assert_allclose(scored["probability"], positive)
