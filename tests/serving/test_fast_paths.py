"""The fast paths of scoring give what the column-by-column path gives, to the bit.

A numeric tensor of every column is checked, scored and captured whole
(``Columns.stacked``), and one row goes through LightGBM's single-row C API
(``_lightgbm.OneRow``). Both must accept, refuse (with the same message), score and be
captured exactly as the general path does.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alambic.models import package
from alambic.serving._binary import decode_tensor
from alambic.serving._capture import Record, _table
from alambic.serving._lightgbm import OneRow
from alambic.serving._predictor import Columns, Predictor, RequestError
from alambic.serving._protocols import columns_from_mlflow, columns_from_v2

_CACHE: dict[str, Any] = {}


def _numeric_predictor(whole: str = "int64") -> Predictor:
    """A LightGBM classifier on columns a, b (float) and n (``whole``), fitted once."""
    if whole not in _CACHE:
        import lightgbm as lgb

        rng = np.random.default_rng(0)
        frame = pd.DataFrame(
            {
                "a": rng.normal(size=300),
                "b": rng.normal(size=300),
                "n": rng.integers(0, 50, 300).astype(whole),
            }
        )
        target = ((frame["a"] + frame["n"] / 25) > 1).astype(int)
        model = lgb.LGBMClassifier(n_estimators=20, verbose=-1).fit(frame, target)
        _CACHE[whole] = Predictor(package(model, frame, target), "nums/1")
    predictor: Predictor = _CACHE[whole]
    return predictor


def _outcome(predictor: Predictor, columns: dict[str, Any]) -> tuple[str, Any]:
    try:
        checked = predictor.matrix(columns)
        outputs = predictor.predict(checked)
    except RequestError as exc:
        return "refused", (exc.status, str(exc))
    matrix = np.column_stack([checked[c] for c in predictor.columns])
    scores = np.asarray(outputs.probabilities).tolist()
    # what capture writes of it: a stacked request joins others as one matrix
    kept = predictor.captured(columns, checked)
    record = Record("r", 0.0, "e", "a", "nums/1", False, False, 0.0, kept, outputs, predictor.kinds)
    captured = _table([record]).column("inputs")
    return "scored", (matrix.tolist(), outputs.predictions, scores, captured.to_pylist())


def _one_by_one(columns: dict[str, Any]) -> dict[str, Any]:
    """The same columns, unstacked and as lists: the general path."""
    return {
        name: values.tolist() if isinstance(values, np.ndarray) else list(values)
        for name, values in columns.items()
    }


values = (
    st.floats(allow_nan=False, allow_infinity=False, width=64)
    | st.integers(-(2**60), 2**60)
    | st.sampled_from([0, 1, 0.0, 1.0, True, False, None, "1.5", 2**53, 2**53 + 1, -(2**53) - 1])
)


@settings(max_examples=300, deadline=None)
@given(
    rows=st.lists(st.lists(values, min_size=3, max_size=3), min_size=1, max_size=4),
    whole=st.sampled_from(["int64", "float64"]),  # float64: the tensor is read at once
)
def test_a_json_tensor_of_every_column_is_checked_and_scored_as_column_by_column(
    rows: list[list[Any]], whole: str
) -> None:
    predictor = _numeric_predictor(whole)
    body = {"inputs": [{"name": "x", "shape": [len(rows), 3], "datatype": "FP64", "data": rows}]}
    try:
        columns = columns_from_v2(json.loads(json.dumps(body)), predictor.kinds)
    except RequestError as exc:  # a shape or datatype refusal comes before any value
        pytest.fail(f"a well-shaped tensor was refused: {exc}")
    fast = _outcome(predictor, columns)
    general = _outcome(predictor, _one_by_one(columns))
    assert fast == general


@settings(max_examples=200, deadline=None)
@given(
    data=st.lists(
        st.floats(width=16) | st.floats(width=32) | st.floats(), min_size=3, max_size=12
    ).filter(lambda v: len(v) % 3 == 0),
    datatype=st.sampled_from(["FP16", "FP32", "FP64"]),
)
def test_a_binary_float_tensor_is_checked_as_column_by_column(
    data: list[float], datatype: str
) -> None:
    predictor = _numeric_predictor()
    dtype = {"FP16": "<f2", "FP32": "<f4", "FP64": "<f8"}[datatype]
    with np.errstate(over="ignore"):
        blob = np.asarray(data, dtype=np.float64).astype(dtype).tobytes()
    spec = {"name": "x", "shape": [len(data) // 3, 3], "datatype": datatype}
    spec["data"] = decode_tensor(spec, memoryview(blob), "x")
    columns = columns_from_v2({"inputs": [spec]}, predictor.kinds)
    assert isinstance(columns, Columns) and columns.stacked is not None
    assert _outcome(predictor, columns) == _outcome(predictor, _one_by_one(columns))


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ([1.0, 2.0, 2**53 + 1], "n[0] is int 9007199254740993"),
        ([1.0, float("nan"), 3], "b[0] is float nan; expected a finite number"),
        ([1.0, 2.0, 3.5], "n[0] is float 3.5"),
    ],
)
def test_a_bad_value_in_an_int64_or_fp64_tensor_is_named_by_column_and_row(
    row: list[Any], message: str
) -> None:
    predictor = _numeric_predictor()
    datatype = "INT64" if isinstance(row[2], int) and row[2] > 2**53 else "FP64"
    array = np.asarray([row], dtype="<i8" if datatype == "INT64" else "<f8")
    spec = {"name": "x", "shape": [1, 3], "datatype": datatype}
    spec["data"] = decode_tensor(spec, memoryview(array.tobytes()), "x")
    with pytest.raises(RequestError, match=message.replace("[", r"\[").replace("]", r"\]")):
        predictor.matrix(columns_from_v2({"inputs": [spec]}, predictor.kinds))


def test_numbers_sent_column_by_column_are_stacked_once_checked() -> None:
    predictor = _numeric_predictor()
    checked = predictor.matrix({"a": [0.5, 1.5], "b": [-1.0, 2.0], "n": [3, 4]})
    assert checked.stacked is not None and checked.stacked.dtype == np.float64
    assert checked.stacked.tolist() == [[0.5, -1.0, 3.0], [1.5, 2.0, 4.0]]
    assert checked["n"].tolist() == [3.0, 4.0]  # the columns are views of it
    assert predictor.captured({}, checked) is checked  # capture takes the matrix whole


def test_a_boolean_in_a_json_float_tensor_is_refused_where_it_is() -> None:
    predictor = _numeric_predictor()
    body = {"inputs": [{"name": "x", "shape": [2, 3], "datatype": "FP64",
                        "data": [[0.5, 1.0, 3], [0.5, True, 4]]}]}  # fmt: skip
    with pytest.raises(RequestError, match=r"b\[1\] is bool True"):
        predictor.matrix(columns_from_v2(body, predictor.kinds))


def _fitted(kind: str) -> Any:
    import lightgbm as lgb

    rng = np.random.default_rng(1)
    X = rng.normal(size=(400, 4))
    if kind == "regression":
        return lgb.LGBMRegressor(n_estimators=15, verbose=-1).fit(X, X[:, 0] * 3 + X[:, 1]).booster_
    if kind == "multiclass":
        y = np.digitize(X[:, 0], [-0.5, 0.5])
        return lgb.LGBMClassifier(n_estimators=15, verbose=-1).fit(X, y).booster_
    y = (X[:, 0] > 0).astype(int)
    if kind == "early stopped":  # a booster holding trees past its best iteration
        params = {"objective": "binary", "verbose": -1, "learning_rate": 0.3}
        train = lgb.Dataset(X, y)
        valid = lgb.Dataset(rng.normal(size=(200, 4)), rng.integers(0, 2, 200), reference=train)
        return lgb.train(
            params,
            train,
            num_boost_round=200,
            valid_sets=[valid],
            callbacks=[lgb.early_stopping(5, verbose=False)],
            keep_training_booster=True,
        )
    return lgb.LGBMClassifier(n_estimators=15, verbose=-1).fit(X, y).booster_


@pytest.mark.parametrize("kind", ["binary", "multiclass", "regression", "early stopped"])
def test_one_row_through_the_c_api_scores_as_booster_predict(kind: str) -> None:
    booster = _fitted(kind)
    if kind == "early stopped":
        assert 0 < booster.best_iteration < booster.current_iteration()
    fast = OneRow.of(booster)
    assert fast is not None
    rows = np.random.default_rng(2).normal(size=(25, 4))
    for row in rows:
        one = np.ascontiguousarray(row.reshape(1, -1))
        expected = booster.predict(one)
        got = fast.predict(one)
        assert got is not None and got.shape == expected.shape
        np.testing.assert_array_equal(got, expected)


def test_large_requests_score_on_the_workers_share_of_the_cores(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from alambic.serving import _predictor

    monkeypatch.setattr(_predictor, "cores", lambda: 8)
    monkeypatch.delenv(_predictor.WORKERS_ENV, raising=False)
    assert _predictor._threads(1) == _predictor._threads(_predictor.BATCH_ROWS - 1) == 1
    assert _predictor._threads(_predictor.BATCH_ROWS) == 8  # one worker: every core
    monkeypatch.setenv(_predictor.WORKERS_ENV, "3")
    assert _predictor._threads(5_000) == 2  # three workers share eight cores
    monkeypatch.setenv(_predictor.WORKERS_ENV, "16")
    assert _predictor._threads(5_000) == 1
    monkeypatch.setenv(_predictor.WORKERS_ENV, "many")  # not ours to trust: one worker
    assert _predictor._threads(5_000) == 8
    monkeypatch.setattr(_predictor, "_in_flight", [1])  # another large request is scored
    assert _predictor._threads(5_000) == 1
    booster = _fitted("binary")
    rows = np.random.default_rng(3).normal(size=(_predictor.BATCH_ROWS, 4))
    np.testing.assert_array_equal(  # the same scores on any number of threads
        booster.predict(rows, num_threads=1), booster.predict(rows, num_threads=2)
    )


@settings(max_examples=300, deadline=None)
@given(
    rows=st.lists(st.lists(values, min_size=3, max_size=3), min_size=1, max_size=4),
    whole=st.sampled_from(["int64", "float64"]),
    key=st.sampled_from(["dataframe_split", "instances"]),
)
def test_mlflow_rows_of_numbers_are_checked_and_scored_as_column_by_column(
    rows: list[list[Any]], whole: str, key: str
) -> None:
    predictor = _numeric_predictor(whole)
    data = {"columns": predictor.columns, "data": rows} if key == "dataframe_split" else rows
    payload = json.loads(json.dumps({key: data}))
    fast = columns_from_mlflow(payload, predictor.columns, numeric=True)
    general = columns_from_mlflow(payload, predictor.columns)
    assert not isinstance(general, Columns)
    assert _outcome(predictor, fast) == _outcome(predictor, general)


def test_mlflow_rows_of_numbers_in_signature_order_come_back_stacked() -> None:
    names = ["a", "b", "n"]
    split = {"dataframe_split": {"columns": names, "data": [[0.5, 1, 3], [1.5, 2.0, 4]]}}
    columns = columns_from_mlflow(split, names, numeric=True)
    assert isinstance(columns, Columns) and columns.stacked is not None
    assert columns.stacked.tolist() == [[0.5, 1.0, 3.0], [1.5, 2.0, 4.0]]
    # another order, a boolean, a null or an int that floats would round: sent as lists
    for data, order in [
        ([[0.5, 1, 3]], ["b", "a", "n"]),
        ([[0.5, True, 3]], names),
        ([[0.5, None, 3]], names),
        ([[0.5, 1.0, 2**53 + 1]], names),
    ]:
        body = {"dataframe_split": {"columns": order, "data": data}}
        assert getattr(columns_from_mlflow(body, names, numeric=True), "stacked", None) is None
