"""A pipeline whose step searches with AutoML and hands the chosen model to the next."""

from __future__ import annotations

from typing import Any

import pandas as pd

import alambic as al


@al.step
def load() -> pd.DataFrame:
    from sklearn.datasets import load_breast_cancer

    frame: pd.DataFrame = load_breast_cancer(as_frame=True).frame
    return frame


@al.step
def search(data: pd.DataFrame, budget: str) -> Any:
    result = al.automl(data, "target", time_budget=budget, families=["linear"], n_jobs=1)
    return result.model


@al.step
def check(model: Any, data: pd.DataFrame) -> dict[str, Any]:
    origin = model.metadata["origin"]
    predicted = model.predict(data.drop(columns="target"))
    return {"rows": len(predicted), "candidate": origin["candidate"], "folder": origin["folder"]}


@al.pipeline
def searched(budget: str = "10s") -> Any:
    data = load()
    return check(search(data, budget), data)
