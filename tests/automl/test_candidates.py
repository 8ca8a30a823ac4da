"""Candidates as readable code: formatted modules whose pipelines fit, tune, edit and store."""

from __future__ import annotations

import shutil
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.exceptions import ConvergenceWarning

from alambic.automl import FAMILIES, detect, load_candidate, write_candidates
from alambic.automl._candidates import KNN_ROWS, SVM_ROWS
from alambic.automl._search import portfolio_points
from alambic.errors import AutoMLError
from alambic.tuning import Categorical, Float, Int, Space

RUFF = shutil.which("ruff") or str(Path(sys.executable).with_name("ruff"))


def _mixed(task: str, n: int = 240, seed: int = 0) -> pd.DataFrame:
    """Numbers with gaps, a category, a high-cardinality category, dates; then the target."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    frame = pd.DataFrame(
        {
            "x": np.where(rng.random(n) < 0.1, np.nan, x),
            "z": rng.normal(size=n),
            "size": rng.choice(["S", "M", "L"], size=n),
            "city": [f"city-{i}" for i in rng.integers(0, 60, size=n)],
            "when": pd.Timestamp("2026-01-01") + pd.to_timedelta(rng.integers(0, 9000, n), "h"),
        }
    )
    signal = x + (frame["size"] == "L") + rng.normal(scale=0.8, size=n)
    if task == "binary":
        frame["y"] = (signal > 0.3).astype(int)
    elif task == "multiclass":
        frame["y"] = pd.cut(signal, 3, labels=["low", "mid", "high"]).astype(str)
    else:
        frame["y"] = signal * 10.0
    return frame


def _space_ends(space: dict[str, Any]) -> list[dict[str, Any]]:
    """The lowest and the highest value of each parameter, as two configurations."""
    low, high = {}, {}
    for name, param in Space.parse(space).params.items():
        if isinstance(param, Int | Float):
            low[name], high[name] = param.low, param.high
        elif isinstance(param, Categorical):
            low[name], high[name] = param.choices[0], param.choices[-1]
    return [low, high]


def _few(name: str, value: Any) -> Any:
    """A count of trees or rounds cut to 20: the point is that each key is a parameter."""
    counting = name.endswith(("n_estimators", "iterations", "max_iter"))
    return min(value, 20) if counting and isinstance(value, int) else value


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Each task's frame, problem and candidates, written once for the module."""
    out = {}
    for task in ("binary", "multiclass", "regression"):
        frame = _mixed(task)
        problem = detect(frame, "y")
        folder = tmp_path_factory.mktemp(task)
        out[task] = (frame, problem, write_candidates(problem, folder))
    return out


def test_every_family_is_written_as_a_numbered_module_for_a_small_table(
    written: dict[str, Any],
) -> None:
    _, problem, candidates = written["binary"]
    assert problem.high_cardinality == ["city"] and problem.features["when"] == "datetime"
    assert [c.family for c in candidates] == [f.key for f in FAMILIES]
    assert candidates[0].path.name == "01_lightgbm.py"
    assert all(c.path.parent.name == "candidates" for c in candidates)


@pytest.mark.parametrize("task", ["binary", "multiclass", "regression"])
def test_the_modules_are_formatted_as_ruff_formats_and_lint_clean(
    task: str, written: dict[str, Any]
) -> None:
    paths = [str(c.path) for c in written[task][2]]
    formatted = subprocess.run(
        [RUFF, "format", "--isolated", "--check", "--diff", *paths],
        capture_output=True,
        text=True,
    )
    assert formatted.returncode == 0, formatted.stdout + formatted.stderr
    lint = subprocess.run(
        [RUFF, "check", "--isolated", "--select", "E,F,W,I", *paths],
        capture_output=True,
        text=True,
    )
    assert lint.returncode == 0, lint.stdout + lint.stderr


@pytest.mark.parametrize("task", ["binary", "multiclass", "regression"])
def test_each_candidates_pipeline_fits_and_predicts_with_its_portfolio(
    task: str, written: dict[str, Any]
) -> None:
    frame, _, candidates = written[task]
    features, labels = frame.drop(columns=["y"]), frame["y"]
    for candidate in candidates:
        module = load_candidate(candidate.path)
        assert Space.parse(module.SPACE).params, candidate.name
        for params in module.PORTFOLIO[:1]:
            pipeline = module.build(**params).fit(features, labels)
            predicted = pipeline.predict(features.head(20))
            assert len(predicted) == 20, candidate.name
            if task == "regression":
                assert np.isfinite(predicted).all(), candidate.name
            else:
                assert set(predicted) <= set(labels), candidate.name
                proba = pipeline.predict_proba(features.head(5))
                assert proba.shape == (5, labels.nunique()), candidate.name


def test_every_point_of_each_space_is_a_pipeline_parameter(written: dict[str, Any]) -> None:
    frame, _, candidates = written["binary"]
    features, labels = frame.drop(columns=["y"]).head(120), frame["y"].head(120)
    for candidate in candidates:
        module = load_candidate(candidate.path)
        name = candidate.name
        assert portfolio_points({name: module.PORTFOLIO}, {name: module.SPACE})  # all fit
        for params in [*_space_ends(module.SPACE), *module.PORTFOLIO]:
            params = {k: _few(k, v) for k, v in params.items()}
            with warnings.catch_warnings():  # an end of a space may not converge: no matter
                warnings.simplefilter("ignore", ConvergenceWarning)
                module.build(**params).fit(features, labels)  # an unknown key would raise


def test_an_edited_candidate_is_kept_and_read_back_as_it_now_reads(tmp_path: Path) -> None:
    problem = detect(_mixed("binary"), "y")
    first = write_candidates(problem, tmp_path, families=["linear"])[0]
    text = first.path.read_text().replace("Float(1e-3, 100.0, log=True)", "Float(0.5, 2.0)")
    first.path.write_text(text)
    again = write_candidates(problem, tmp_path, families=["linear"])
    assert again[0].path.read_text() == text
    space = Space.parse(load_candidate(first.path).SPACE).params["model__C"]
    assert (space.low, space.high) == (0.5, 2.0)  # type: ignore[union-attr]


def test_knn_and_the_svm_are_left_out_of_large_tables(tmp_path: Path) -> None:
    problem = detect(_mixed("binary"), "y")
    for rows, absent in ((SVM_ROWS + 1, {"svm"}), (KNN_ROWS + 1, {"svm", "knn"})):
        problem.rows = rows
        families = {c.family for c in write_candidates(problem, tmp_path / str(rows))}
        assert families == {f.key for f in FAMILIES} - absent


def test_a_regression_gets_regressors_and_a_ridge(written: dict[str, Any]) -> None:
    texts = {c.family: c.path.read_text() for c in written["regression"][2]}
    assert "LGBMRegressor(" in texts["lightgbm"] and "Ridge(" in texts["linear"]
    assert '"model__alpha"' in texts["linear"] and "EncodedLabels" not in texts["xgboost"]
    assert "EncodedLabels(XGBClassifier(" in written["multiclass"][2][1].path.read_text()


@pytest.mark.parametrize(
    ("text", "words"),
    [
        (None, "no candidate module at"),
        ("def build(:\n", "does not import"),
        ("def build(**params):\n    return None\n", "has no SPACE"),
    ],
    ids=["missing", "syntax", "no-space"],
)
def test_a_broken_candidate_is_refused_with_its_name(
    text: str | None, words: str, tmp_path: Path
) -> None:
    path = tmp_path / "05_broken.py"
    if text is not None:
        path.write_text(text)
    with pytest.raises(AutoMLError, match=words):
        load_candidate(path)


def test_an_unknown_family_is_refused(tmp_path: Path) -> None:
    with pytest.raises(AutoMLError, match="unknown candidate families"):
        write_candidates(detect(_mixed("binary"), "y"), tmp_path, families=["catboostx"])


def test_a_fitted_candidate_stores_and_loads_without_pickle(written: dict[str, Any]) -> None:
    from alambic.models import dumps_model, loads_model, package

    frame, _, candidates = written["multiclass"]
    features, labels = frame.drop(columns=["y"]), frame["y"]
    xgboost = next(c for c in candidates if c.family == "xgboost")  # EncodedLabels, DateParts
    pipeline = load_candidate(xgboost.path).build().fit(features, labels)
    packaged = package(pipeline, features, labels)
    raw, _ = dumps_model(packaged)
    loaded = loads_model(raw)
    rows = features.head(30)
    assert loaded.predict(rows).tolist() == pipeline.predict(rows).tolist()


def test_a_family_whose_library_is_missing_is_left_out_or_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "xgboost" else real(name, *a)
    )
    problem = detect(_mixed("binary"), "y")
    written = {c.family for c in write_candidates(problem, tmp_path / "all")}
    assert "xgboost" not in written and "lightgbm" in written
    with pytest.raises(AutoMLError, match="pip install 'alambic\\[automl\\]'"):
        write_candidates(problem, tmp_path / "one", families=["xgboost"])
