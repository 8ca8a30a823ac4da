"""The capture buffer on its own: typed Parquet columns, variants with other columns, losses."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from alambic.serving import read_capture
from alambic.serving._capture import CaptureBuffer, Record, _table, capture_root
from alambic.serving._predictor import Columns, Outputs
from tests.serving.helpers import COLUMNS


def record(
    request_id: str,
    columns: dict[str, list[Any]],
    predictions: list[Any],
    probabilities: np.ndarray | None = None,
    *,
    variant: str = "champion",
    shadow: bool = False,
    holdout: bool = False,
) -> Record:
    outputs = Outputs(predictions, probabilities, [0, 1] if probabilities is not None else [])
    return Record(request_id, time.time(), "toy", variant, "toy/1", shadow, holdout, 1.5,
                  columns, outputs)  # fmt: skip


def test_capture_keeps_each_feature_as_a_typed_column(home: Path) -> None:
    buffer = CaptureBuffer(capture_root(), flush_seconds=60)
    proba = np.array([[0.8, 0.2], [0.3, 0.7]])
    buffer.offer(record("a", {"price": [9.5, None], "year": [2001, 2003],
                              "brand": ["bmw", None]}, [0, 1], proba))  # fmt: skip
    buffer.offer(record("b", {"price": [1], "year": [1999], "brand": ["alpine"]}, [1],
                        np.array([[0.1, 0.9]]), holdout=True))  # fmt: skip
    buffer.close()
    files = list((home / "artifacts" / "capture").rglob("*.parquet"))
    assert len(files) == 1
    schema = pq.read_schema(files[0])
    inputs = schema.field("inputs").type
    assert [(f.name, str(f.type)) for f in inputs] == [
        ("price", "double"),
        ("year", "int64"),
        ("brand", "string"),
    ]
    assert str(schema.field("time").type) == "timestamp[us, tz=UTC]"
    frame = read_capture("toy")
    assert frame[["request_id", "row"]].values.tolist() == [["a", 0], ["a", 1], ["b", 0]]
    assert frame["price"].tolist()[::2] == [9.5, 1.0] and np.isnan(frame["price"][1])
    assert frame["year"].tolist() == [2001, 2003, 1999]
    assert frame["brand"][[0, 2]].tolist() == ["bmw", "alpine"] and pd.isna(frame["brand"][1])
    assert frame["holdout"].tolist() == [False, False, True]
    assert [list(p) for p in frame["probabilities"]] == [[0.8, 0.2], [0.3, 0.7], [0.1, 0.9]]
    assert frame["prediction"].tolist() == [0, 1, 1]
    assert (frame["latency_ms"] == 1.5).all() and set(frame["model"]) == {"toy/1"}


def test_records_of_several_hours_rows_and_widths_are_written_row_by_row(home: Path) -> None:
    hour = 3600 * 490_000  # 2025-11-24 16:00 UTC
    buffer = CaptureBuffer(capture_root(), flush_seconds=60)
    # (request id, seconds into the hour, rows, classes or None for a regressor)
    shapes = [("a", 5, 2, 2), ("b", 3599, 1, None), ("c", 3600, 3, 3), ("d", 10, 1, 2)]
    shapes.append(("e", 3700, 1, None))
    expected = []
    for rid, offset, rows, classes in shapes:
        proba = None
        if classes is not None:
            proba = np.arange(rows * classes, dtype=float).reshape(rows, classes) / 10
        predictions = [f"{rid}{i}" for i in range(rows)]
        outputs = Outputs(predictions, proba, list(range(classes or 0)))
        columns = {"price": np.arange(rows, dtype=float) + ord(rid)}
        at = hour + offset + 0.25
        buffer.offer(Record(rid, at, "toy", "v", "toy/1", False, False, 1.0, columns, outputs))
        for i in range(rows):
            probabilities = None if proba is None else proba[i].tolist()
            expected.append((rid, i, f"{rid}{i}", float(ord(rid) + i), probabilities))
    buffer.close()
    folders = sorted(p.parent.name for p in (home / "artifacts" / "capture").rglob("*.parquet"))
    assert folders == ["hour=16", "hour=17"]  # one file per hour
    frame = read_capture("toy").sort_values(["request_id", "row"])
    got = [
        (r.request_id, r.row, r.prediction, r.price, None if p is None else list(p))
        for r, p in zip(frame.itertuples(), frame["probabilities"], strict=True)
    ]
    assert got == expected
    assert frame.groupby("request_id")["time"].first().dt.hour.to_dict() == {
        "a": 16, "b": 16, "c": 17, "d": 16, "e": 17
    }  # fmt: skip


def test_variants_with_other_columns_and_regressors_are_kept_apart(home: Path) -> None:
    buffer = CaptureBuffer(capture_root(), flush_seconds=60)
    buffer.offer(record("old", {"price": [3.0]}, [1.25], variant="v1"))
    buffer.offer(record("new", {"price": [4.0], "km": [10]}, [2.5], variant="v2"))
    buffer.close()
    frame = read_capture("toy").set_index("request_id")
    assert frame.loc["old", "prediction"] == 1.25 and frame.loc["new", "km"] == 10
    assert pd.isna(frame.loc["old", "km"])
    assert frame["probabilities"].isna().all()  # a regressor has none


def test_values_of_no_common_type_are_kept_as_json_text(home: Path) -> None:
    buffer = CaptureBuffer(capture_root(), flush_seconds=60)
    buffer.offer(record("x", {"code": ["a"]}, ["yes"]))
    buffer.offer(record("y", {"code": [7]}, [3]))  # another variant's signature
    buffer.close()
    frame = read_capture("toy")
    assert frame["code"].tolist() == ['"a"', "7"]
    assert frame["prediction"].tolist() == ['"yes"', "3"]


def test_inputs_can_be_left_out_and_names_never_clash(home: Path) -> None:
    buffer = CaptureBuffer(capture_root(), flush_seconds=60)
    buffer.offer(record("r", {"model": ["a"], "price": [1.0]}, [0]))
    buffer.close()
    assert "price" not in read_capture("toy", inputs=False).columns
    frame = read_capture("toy")
    assert frame.loc[0, "model"] == "toy/1" and frame.loc[0, "input_model"] == "a"


def test_a_failed_write_counts_its_rows_as_dropped(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dropped: list[tuple[str, int]] = []
    buffer = CaptureBuffer(
        capture_root(), flush_seconds=60, on_drop=lambda e, n: dropped.append((e, n))
    )

    def full_disk(*args: Any) -> int:
        raise OSError("No space left on device")

    monkeypatch.setattr(buffer, "_write", full_disk)
    assert buffer.offer(record("a", {"price": [1.0, 2.0, 3.0]}, [0, 1, 0]))
    buffer.close()
    assert buffer.dropped == 3 and dropped == [("toy", 3)] and buffer.queued_rows == 0


def test_checked_arrays_join_lists_and_missing_numbers_stay_missing(home: Path) -> None:
    buffer = CaptureBuffer(capture_root(), flush_seconds=60)
    buffer.offer(record("a", {"price": np.array([1.5, np.nan]), "year": np.array([2001, 2002])},
                        [0, 1]))  # fmt: skip
    buffer.offer(record("b", {"price": np.array([2.5]), "year": np.array([np.nan])}, [0]))
    buffer.offer(record("c", {"price": [3.5], "year": [2004]}, [1]))  # values as sent
    buffer.close()
    frame = read_capture("toy")
    assert frame["price"].isna().tolist() == [False, True, False, False]
    assert frame["year"].tolist()[:2] == [2001, 2002] and pd.isna(frame["year"][2])
    assert frame["year"][3] == 2004 and frame["price"].tolist()[3] == 3.5


def test_requests_checked_as_one_matrix_are_captured_as_their_columns_would_be() -> None:
    names, kinds = ["price", "year"], {"price": "float", "year": "int"}
    blocks = [np.array([[1.5, 2001.0], [np.nan, 2002.0]]), np.array([[2.5, np.nan]])]

    def records(stacked: bool) -> list[Record]:
        made = []
        for i, block in enumerate(blocks):
            inputs: Any = (
                Columns.of(block, names) if stacked else dict(zip(names, block.T, strict=True))
            )
            outputs = Outputs([0] * len(block), None, [])
            made.append(Record(str(i), 1.0, "toy", "a", "toy/1", False, False, 1.0, inputs,
                               outputs, kinds))  # fmt: skip
        return made

    whole, apart = _table(records(stacked=True)), _table(records(stacked=False))
    assert whole.equals(apart)
    inputs = whole.column("inputs").combine_chunks()
    assert str(inputs.type) == "struct<price: double, year: int64>"
    assert inputs.field("price").to_pylist() == [1.5, None, 2.5]
    assert inputs.field("year").to_pylist() == [2001, 2002, None]
    mixed = records(stacked=True)[:1] + records(stacked=False)[1:]  # one of each way
    assert _table(mixed).equals(apart)


def test_files_of_the_json_format_still_read(home: Path) -> None:
    import pyarrow as pa

    folder = home / "artifacts" / "capture" / "endpoint=toy" / "date=2026-11-23" / "hour=19"
    folder.mkdir(parents=True)
    old = pa.table({
        "request_id": ["r"], "row": [0],
        "time": pa.array([0], pa.timestamp("us", tz="UTC")),
        "endpoint": ["toy"], "variant": ["v"], "model": ["toy/1"], "shadow": [False],
        "holdout": [False], "latency_ms": [1.0], "inputs": ['{"price": 2.5, "brand": "bmw"}'],
        "prediction": ['"A-0"'], "probabilities": pa.array([None], pa.list_(pa.float64())),
    })  # fmt: skip
    pq.write_table(old, folder / "old.parquet")
    buffer = CaptureBuffer(capture_root(), flush_seconds=60)
    buffer.offer(record("n", {"price": [3.0], "brand": ["bmw"]}, ["A-1"]))
    buffer.close()
    frame = read_capture("toy")
    assert frame["prediction"].tolist() == ["A-0", "A-1"]
    assert frame["price"].tolist() == [2.5, 3.0]


def test_a_feature_named_label_keeps_the_joined_label_apart(home: Path) -> None:
    from alambic.serving import write_labels

    buffer = CaptureBuffer(capture_root(), flush_seconds=60)
    buffer.offer(record("r", {"label": ["premium"], "price": [1.0]}, [1]))
    buffer.close()
    write_labels("toy", pd.DataFrame({"request_id": ["r"], "label": [0]}))
    frame = read_capture("toy", with_labels=True)
    assert frame.loc[0, "input_label"] == "premium" and frame.loc[0, "label"] == 0


def test_requests_refused_for_a_bad_value_are_counted_for_monitoring(
    toy: Any, serve_app: Any, client: Any
) -> None:
    from alambic.monitoring import capture
    from alambic.monitoring._capture import rejections

    with serve_app(["toy"]) as (url, state):
        for price in ("cheap", "dear", None):
            bad = {"dataframe_split": {"columns": COLUMNS, "data": [[price, 2010, "bmw"]]}}
            assert client.post(f"{url}/invocations", json=bad).status_code == 422
        assert client.post(f"{url}/invocations", json={"nope": 1}).status_code == 400
        state.capture.flush()
    refused = rejections(capture("toy", since="1h"))
    assert [(r["field"], r["count"]) for r in refused] == [("price", 3)]
    assert "422" in refused[0]["reason"]
