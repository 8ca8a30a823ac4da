"""Problem detection: the task, the metric and the features, each with its reason."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.pandas import column, data_frames, range_indexes
from sklearn.datasets import load_breast_cancer, load_diabetes, load_digits

from alambic.automl import detect
from alambic.errors import AutoMLError


def _frame(n: int = 200, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    return pd.DataFrame(
        {"x": x, "z": rng.normal(size=n), "y": (x + rng.normal(size=n) > 0).astype(int)}
    )


@pytest.mark.parametrize(
    ("loader", "task", "metric"),
    [
        (load_breast_cancer, "binary", "roc_auc"),
        (load_digits, "multiclass", "accuracy"),
        (load_diabetes, "regression", "rmse"),
    ],
    ids=["breast-cancer", "digits", "diabetes"],
)
def test_scikit_learns_data_sets_get_the_task_and_metric_that_fit(
    loader: Any, task: str, metric: str
) -> None:
    frame = loader(as_frame=True).frame
    problem = detect(frame, "target")
    assert (problem.task, problem.metric) == (task, metric)
    # digits: three pixels are 0 in every image
    constant = {"pixel_0_0", "pixel_4_0", "pixel_4_7"} if loader is load_digits else set()
    why = "constant: 0.0 on every row where it is known"
    assert problem.set_aside == dict.fromkeys(constant, why)
    assert len(problem.features) == frame.shape[1] - 1 - len(constant)
    assert {d.what for d in problem.decisions} >= {"task", "metric"}
    assert all(d.reason and not d.chosen for d in problem.decisions)


def test_a_rare_positive_class_is_optimised_for_average_precision() -> None:
    frame = _frame(1000)
    frame["y"] = (frame["x"] > 1.6).astype(int)  # about 5% positives
    frame["x"] += np.random.default_rng(1).normal(scale=1.0, size=len(frame))  # no leak
    problem = detect(frame, "y")
    assert problem.metric == "pr_auc"
    assert "%" in next(d.reason for d in problem.decisions if d.what == "metric")


def test_a_rare_class_among_several_is_optimised_for_macro_f1() -> None:
    frame = _frame(600)
    frame["y"] = ["a"] * 300 + ["b"] * 280 + ["c"] * 20
    assert detect(frame, "y").metric == "macro_f1"


def test_whole_numbers_are_classes_up_to_twenty_values_then_a_quantity() -> None:
    frame = _frame(400)
    frame["y"] = np.arange(400) % 5
    problem = detect(frame, "y")
    assert problem.task == "multiclass" and problem.classes == [0, 1, 2, 3, 4]
    assert "task='regression'" in problem.decisions[0].reason
    frame["y"] = np.arange(400) % 50
    assert detect(frame, "y").task == "regression"


def test_a_text_target_is_classes_whatever_its_count() -> None:
    frame = _frame(300)
    frame["y"] = [f"class-{i % 25}" for i in range(300)]
    assert detect(frame, "y").task == "multiclass"


def test_overrides_are_taken_and_marked_as_asked() -> None:
    problem = detect(_frame(), "y", task="multiclass", metric="macro_f1")
    assert (problem.task, problem.metric) == ("multiclass", "macro_f1")
    assert [d.chosen for d in problem.decisions[:2]] == [True, True]


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"task": "ranking"}, "use one of binary, multiclass, regression"),
        ({"task": "binary", "metric": "rmse"}, "does not fit a binary task"),
        ({"metric": "r2"}, "does not fit a binary task"),
        ({"keep": ["nope"]}, "not feature columns"),
    ],
    ids=["task", "metric-for-task", "metric-detected-task", "keep"],
)
def test_overrides_that_do_not_fit_are_refused(kwargs: dict[str, Any], words: str) -> None:
    with pytest.raises(AutoMLError, match=words):
        detect(_frame(), "y", **kwargs)


def test_regression_on_text_and_binary_on_three_classes_are_refused() -> None:
    frame = _frame()
    frame["y"] = ["a", "b", "c", "d"] * 50
    with pytest.raises(AutoMLError, match="needs a numeric target"):
        detect(frame, "y", task="regression")
    with pytest.raises(AutoMLError, match="use task='multiclass'"):
        detect(frame, "y", task="binary")


def test_identifiers_constants_and_empty_columns_are_set_aside_with_reasons() -> None:
    frame = _frame(200)
    frame["row"] = np.arange(1000, 1200)  # a run of whole numbers
    frame["user_id"] = np.random.default_rng(0).permutation(200) * 7  # named as an id
    frame["uuid"] = [f"u-{i:04d}" for i in range(200)]  # text, unique
    frame["country"] = "FR"
    frame["notes"] = [None] * 196 + ["x", "y", "z", "w"]
    frame["amount"] = np.random.default_rng(2).lognormal(size=200)  # unique floats: a feature
    problem = detect(frame, "y")
    assert set(problem.set_aside) == {"row", "user_id", "uuid", "country", "notes"}
    assert "identifier" in problem.set_aside["row"] and "identifier" in problem.set_aside["uuid"]
    assert "constant" in problem.set_aside["country"]
    assert "missing on 98% of rows" in problem.set_aside["notes"]
    assert problem.features == {"x": "numeric", "z": "numeric", "amount": "numeric"}
    assert len(problem.warnings) == 5


def test_a_leak_is_set_aside_unless_kept() -> None:
    frame = _frame(300)
    frame["refund_issued"] = frame["y"] * 2 + 1  # known only once the outcome is
    problem = detect(frame, "y")
    assert "a leak" in problem.set_aside["refund_issued"]
    assert "keep=" in problem.set_aside["refund_issued"]
    kept = detect(frame, "y", keep=["refund_issued"])
    assert kept.features["refund_issued"] == "numeric" and not kept.set_aside


def test_a_leak_in_a_regression_and_in_a_category() -> None:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x": rng.normal(size=300), "y": rng.normal(size=300)})
    frame["y_again"] = frame["y"] * 100.0
    frame["band"] = pd.cut(frame["x"], 5).astype(str)
    assert set(detect(frame, "y").set_aside) == {"y_again"}
    frame = _frame(300)
    frame["outcome"] = frame["y"].map({0: "kept", 1: "lost"})
    assert "a leak" in detect(frame, "y").set_aside["outcome"]


def test_dates_high_cardinality_and_categories_are_kinds() -> None:
    frame = _frame(400)
    frame["when"] = pd.date_range("2026-01-01", periods=400, freq="h")
    frame["day"] = pd.date_range("2025-01-01", periods=400, freq="D").strftime("%Y-%m-%d")
    frame["city"] = [f"city-{i % 80}" for i in range(400)]
    frame["size"] = ["S", "M", "L", "XL"] * 100
    problem = detect(frame, "y")
    assert problem.features["when"] == "datetime" and problem.features["day"] == "datetime"
    assert problem.features["city"] == "category" and problem.features["size"] == "category"
    assert problem.high_cardinality == ["city"]
    assert any("out of fold" in d.reason for d in problem.decisions)


def test_rows_with_a_missing_target_are_dropped_and_counted() -> None:
    frame = _frame(200).astype({"y": float})
    frame.loc[:9, "y"] = np.nan
    problem = detect(frame, "y")
    assert (problem.rows, problem.dropped_rows) == (190, 10)
    assert problem.warnings[0] == "10 rows dropped: their target is missing"
    assert problem.to_dict()["dropped_rows"] == 10


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (lambda f: f.rename(columns={"y": "label"}), "'y' is not in the data; its columns"),
        (lambda f: f.assign(y=1), "holds one value"),
        (lambda f: f.assign(y=np.nan), "missing on every row"),
        (lambda f: f[["y"]], "no column besides the target"),
        (lambda f: f.assign(x=0.0, z=None), "no column is usable as a feature"),
        (lambda f: f.to_numpy(), "must be a pandas DataFrame"),
    ],
    ids=["no-target", "one-class", "all-missing", "only-target", "no-feature", "array"],
)
def test_bad_tables_are_refused_before_any_work(change: Any, words: str) -> None:
    with pytest.raises(AutoMLError, match=words):
        detect(change(_frame()), "y")


@settings(max_examples=60)
@given(
    data_frames(
        [
            column("a", elements=st.integers(-5, 5)),
            column("b", elements=st.floats(-1e6, 1e6) | st.none()),
            column("c", elements=st.sampled_from(["p", "q", "r", None])),
            column("y", elements=st.sampled_from([0, 1, 2]) | st.none()),
        ],
        index=range_indexes(min_size=0, max_size=40),
    )
)
def test_every_column_is_a_feature_or_set_aside_or_the_table_is_refused(
    frame: pd.DataFrame,
) -> None:
    try:
        problem = detect(frame, "y")
    except AutoMLError as exc:
        assert str(exc)
        return
    assert set(problem.features) | set(problem.set_aside) == {"a", "b", "c"}
    assert not set(problem.features) & set(problem.set_aside)
    assert problem.rows + problem.dropped_rows == len(frame)
