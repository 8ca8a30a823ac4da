"""Quality checks against a baseline's constraints, and baselines kept with model versions."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import alambic as al
from alambic.errors import DataError, MonitoringError
from alambic.monitoring import baseline, baseline_of, check


def _train(n: int = 2_000) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {
            "price": rng.uniform(1_000, 50_000, n),
            "year": rng.integers(2000, 2024, n),
            "brand": rng.choice(["bmw", "audi", "fiat"], n),
        }
    )


def _by_check(
    found: list[al.monitoring.Violation],
) -> dict[tuple[str, str], al.monitoring.Violation]:
    return {(v.feature_name, v.constraint_check_type): v for v in found}


def test_each_kind_of_violation_names_the_column_the_values_and_the_share() -> None:
    base = baseline(_train())
    now = _train(1_000)
    now.loc[:99, "price"] = np.nan  # 10% missing
    now.loc[100:149, "price"] = -5.0  # 5% negative, below the range
    now.loc[150:349, "brand"] = "tesla"  # 20% a brand never seen
    now.loc[350:359, "price"] = np.inf  # 1% infinite
    now["year"] = now["year"].astype(str)  # a type change
    now["colour"] = "red"
    now = now.drop(columns=[])
    found = _by_check(check(now, base, drift_check=False))
    assert set(found) == {
        ("price", "completeness_check"),
        ("price", "non_negative_check"),
        ("price", "range_check"),
        ("price", "non_finite_check"),
        ("brand", "categorical_values_check"),
        ("year", "data_type_check"),
        ("colour", "extra_column_check"),
    }
    assert found[("price", "completeness_check")].share == pytest.approx(0.1)
    assert found[("price", "non_negative_check")].share == pytest.approx(0.05)
    assert found[("price", "range_check")].share == pytest.approx(0.05, abs=0.015)
    brand = found[("brand", "categorical_values_check")]
    assert brand.share == pytest.approx(0.2) and brand.observed == ["tesla"]
    assert found[("year", "data_type_check")].observed == "String"
    missing = _by_check(check(now.drop(columns=["brand"]), base, drift_check=False))
    assert ("brand", "missing_column_check") in missing
    assert json.dumps([v.to_dict() for v in found.values()])


def test_drift_is_a_baseline_drift_check_and_clean_data_has_no_violation() -> None:
    base = baseline(_train())
    assert check(_train(1_500), base) == []
    moved = _train(1_500)
    moved["price"] = moved["price"].clip(upper=20_000)
    found = _by_check(check(moved, base))
    assert ("price", "baseline_drift_check") in found
    assert "wasserstein" in found[("price", "baseline_drift_check")].description


def test_edited_constraints_are_used_and_a_broken_edit_names_its_field(tmp_path: Path) -> None:
    base = baseline(_train())
    constraints = base.constraints()
    for feature in constraints["features"]:
        if feature["name"] == "brand":
            feature["string_constraints"]["domains"].append("tesla")
    path = tmp_path / "constraints.json"
    path.write_text(json.dumps(constraints))
    now = _train(500)
    now.loc[:9, "brand"] = "tesla"
    assert check(now, base, constraints=str(path), drift_check=False) == []
    constraints["features"][0]["completeness"] = "all"
    path.write_text(json.dumps(constraints))
    with pytest.raises(DataError, match=r"features\['price'\]\.completeness is 'all'"):
        check(now, base, constraints=path)


def test_a_baseline_is_kept_with_the_version_it_was_registered_with() -> None:
    from sklearn.linear_model import LogisticRegression

    train = _train(300)
    X, y = train[["price", "year"]], (train["price"] > 25_000).astype(int)
    model = LogisticRegression(max_iter=500).fit(X, y)
    version = al.register(model, "cars", X=X, y=y, baseline=X)
    stored = baseline_of(version["ref"])
    assert stored.rows == 300 and list(stored.columns) == ["price", "year", "score", "prediction"]
    assert stored.predictions == ["score", "prediction"]  # the model's outputs on its data
    assert stored["score"].mean == pytest.approx(model.predict_proba(X)[:, 1].mean(), rel=1e-9)
    assert stored["price"].mean == pytest.approx(X["price"].mean(), rel=1e-9)
    shifted = X.assign(price=X["price"] * 3, score=0.99, prediction=1)
    report = al.monitoring.drift(stored, shifted)
    assert report["score"].role == "prediction" and report["score"].drifted
    assert report.share == 0.5  # price of the two features; predictions are not counted
    other = al.register(LogisticRegression(C=0.5, max_iter=500).fit(X, y), "cars", X=X, y=y)
    with pytest.raises(MonitoringError, match=r"cars/2 has no baseline; register it with"):
        baseline_of(other["ref"])
