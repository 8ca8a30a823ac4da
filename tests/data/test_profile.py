"""Profiles: statistics that match the data's, sketches that merge, files that round-trip."""

from __future__ import annotations

import itertools
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alambic.data import Profile, profile, read_constraints
from alambic.errors import DataError


def _frame(n: int = 20_000, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "price": rng.lognormal(3, 1, n),
            "delta": rng.normal(0, 5, n),
            "year": rng.integers(1990, 2024, n),
            "brand": rng.choice(["bmw", "audi", "fiat", "kia"], n, p=[0.4, 0.3, 0.2, 0.1]),
            "used": rng.random(n) > 0.3,
        }
    )
    frame.loc[::50, "price"] = np.nan
    frame.loc[7, "delta"] = np.inf
    frame.loc[::33, "brand"] = None
    return frame


def test_statistics_match_the_data_and_quantiles_stay_within_the_sketch_bound() -> None:
    frame = _frame()
    found = profile(frame, batch_rows=3_000)  # seven batches: the moments are merged
    assert found.rows == len(frame)
    for name in ("price", "delta", "year"):
        column = found[name]
        values = frame[name].to_numpy(dtype=float)
        finite = values[np.isfinite(values)]
        assert column.count == len(frame)
        assert column.missing == int(np.isnan(values).sum())
        assert column.non_finite == int(np.isinf(values).sum())
        assert column.mean == pytest.approx(finite.mean(), rel=1e-9)
        assert column.std == pytest.approx(finite.std(ddof=1), rel=1e-9)
        assert (column.min, column.max) == (finite.min(), finite.max())
        assert column.sum == pytest.approx(finite.sum(), rel=1e-9)
        assert column.negative == int((finite < 0).sum())
        bound = column.rank_error()
        for q in (0.01, 0.25, 0.5, 0.9, 0.99):
            value = column.quantile(q)  # its ranks span the ties of its value
            below, upto = float((finite < value).mean()), float((finite <= value).mean())
            assert below - bound - 1 / len(finite) <= q <= upto + bound + 1 / len(finite)
    assert found["year"].inferred_type == "Integral"
    assert found["price"].inferred_type == "Fractional"
    brand = found["brand"]
    assert brand.inferred_type == "String" and brand.missing == frame["brand"].isna().sum()
    assert dict(brand.top()) == frame["brand"].value_counts().to_dict()  # exact below capacity
    assert found["used"].inferred_type == "Boolean"
    assert dict(found["used"].top()) == {
        "true": int(frame["used"].sum()),
        "false": int((~frame["used"]).sum()),
    }
    assert found["year"].distinct_count == pytest.approx(frame["year"].nunique(), rel=0.02)


@settings(max_examples=25, deadline=None)
@given(cuts=st.lists(st.integers(1, 1999), min_size=1, max_size=4, unique=True))
def test_profiles_of_parts_merge_into_the_profile_of_the_whole(cuts: list[int]) -> None:
    frame = _frame(2_000, seed=3)
    whole = profile(frame)
    edges = [0, *sorted(cuts), len(frame)]
    parts = [profile(frame.iloc[a:b]) for a, b in itertools.pairwise(edges)]
    merged = parts[0]
    for part in parts[1:]:
        merged = merged.merge(part)
    assert merged.rows == whole.rows
    for name, column in whole.columns.items():
        other = merged[name]
        assert other.inferred_type == column.inferred_type
        assert (other.count, other.missing, other.non_finite) == (
            column.count,
            column.missing,
            column.non_finite,
        )
        if column.numeric:
            assert other.mean == pytest.approx(column.mean, rel=1e-9)
            assert other.std == pytest.approx(column.std, rel=1e-9)
            assert (other.min, other.max) == (column.min, column.max)
            assert other.kll.n == column.kll.n
        else:
            assert dict(other.top()) == dict(column.top())


def test_statistics_json_uses_sagemakers_fields_and_reads_back(tmp_path: Path) -> None:
    found = profile(_frame(5_000), target="used")
    statistics = found.statistics()
    assert statistics["dataset"] == {"item_count": 5_000}
    price = next(f for f in statistics["features"] if f["name"] == "price")
    numbers = price["numerical_statistics"]
    assert set(numbers) >= {"common", "mean", "sum", "std_dev", "min", "max", "distribution"}
    assert numbers["common"]["num_missing"] == found["price"].missing
    buckets = numbers["distribution"]["kll"]["buckets"]
    assert len(buckets) == 10
    assert sum(b["count"] for b in buckets) == pytest.approx(found["price"].finite, rel=1e-6)
    brand = next(f for f in statistics["features"] if f["name"] == "brand")
    assert brand["string_statistics"]["distinct_count"] == pytest.approx(4, abs=0.01)
    path = tmp_path / "statistics.json"
    path.write_text(json.dumps(statistics, allow_nan=False))
    back = Profile.from_dict(json.loads(path.read_text()))
    assert back.target == "used" and back.rows == found.rows
    assert back["price"].quantile(0.5) == found["price"].quantile(0.5)
    assert back["brand"].top() == found["brand"].top()
    assert back.merge(found).rows == 10_000


def test_constraints_are_inferred_and_an_edited_file_is_checked_field_by_field() -> None:
    frame = pd.DataFrame({"price": [1.0, 2.0, None], "brand": ["a", "b", "a"], "n": [1, 2, 3]})
    constraints = profile(frame).constraints()
    features = {f["name"]: f for f in constraints["features"]}
    assert features["price"]["completeness"] == pytest.approx(2 / 3, abs=1e-6)
    assert features["price"]["num_constraints"] == {"is_non_negative": True}
    assert features["brand"]["string_constraints"] == {"domains": ["a", "b"]}
    assert set(read_constraints(constraints)) == {"price", "brand", "n"}
    for edit, field in [
        ({"inferred_type": "Float"}, "inferred_type"),
        ({"completeness": 1.5}, "completeness"),
        ({"num_constraints": {"is_non_negative": "yes"}}, "is_non_negative"),
        ({"string_constraints": {"domains": "a,b"}}, "domains"),
    ]:
        broken = json.loads(json.dumps(constraints))
        broken["features"][0].update(edit)
        with pytest.raises(DataError, match=rf"features\['price'\]\.\S*{field}"):
            read_constraints(broken)
    with pytest.raises(DataError, match="'features' must be a list"):
        read_constraints({"features": {}})


def test_parquet_folders_csv_files_and_batches_stream_and_columns_may_come_and_go(
    tmp_path: Path,
) -> None:
    frame = _frame(3_000)
    folder = tmp_path / "capture"
    for hour in range(3):
        part = folder / f"hour={hour:02d}"
        part.mkdir(parents=True)
        pq.write_table(
            pa.Table.from_pandas(frame.iloc[hour * 1000 : (hour + 1) * 1000]), part / "a.parquet"
        )
    from_files = profile(folder, batch_rows=256)
    assert from_files.rows == 3_000
    assert from_files["price"].mean == pytest.approx(profile(frame)["price"].mean, rel=1e-9)
    frame.to_csv(tmp_path / "data.csv", index=False)
    assert profile(tmp_path / "data.csv")["year"].count == 3_000
    early = pa.table({"a": [1.0, 2.0]})
    late = pa.table({"a": [3.0], "b": ["x"]})
    mixed = profile([early, late])
    assert (mixed["b"].count, mixed["b"].missing) == (3, 2)
    assert (mixed["a"].count, mixed["a"].missing) == (3, 0)


@pytest.mark.parametrize(
    ("values", "check"),
    [
        ([None, None, None], lambda c: c.missing == 3 and math.isnan(c.std)),
        ([5.0, 5.0, 5.0], lambda c: c.std == 0.0 and c.quantile(0.5) == 5.0),
        ([7.0], lambda c: c.count == 1 and math.isnan(c.std) and c.max == 7.0),
        ([1.0, float("nan"), float("inf"), -float("inf")], lambda c: c.finite == 1),
    ],
    ids=["all-null", "constant", "one-row", "nan-and-inf"],
)
def test_degenerate_columns_profile_without_errors(values: list[Any], check: Any) -> None:
    series = pd.Series(values, dtype="float64")
    column = profile(pd.DataFrame({"x": series}))["x"]
    assert check(column)
    json.dumps(profile(pd.DataFrame({"x": series})).statistics(), allow_nan=False)


def test_a_million_distinct_ids_stay_bounded() -> None:
    ids = pa.table({"id": pa.array([f"user-{i}" for i in range(300_000)])})
    column = profile(ids)["id"]
    assert column.distinct_count == pytest.approx(300_000, rel=0.05)
    assert len(column.top(10_000)) <= 384  # none is frequent: the sketch claims none
    assert len(json.dumps(column.to_dict())) < 50_000


def test_data_of_another_kind_and_missing_paths_are_refused_clearly(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="cannot profile a int"):
        profile(42)
    with pytest.raises(DataError, match="no such file or folder"):
        profile(tmp_path / "nope.parquet")
    with pytest.raises(DataError, match=r"columns \['label'\] are not in the data"):
        profile(pd.DataFrame({"x": [1]}), target="label")
    with pytest.raises(DataError, match="not an alambic profile"):
        Profile.from_dict({"features": []})


def test_a_large_folder_is_profiled_by_several_processes_as_by_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from alambic.data import _profile

    frame = _frame(8_000)
    for i in range(4):
        frame.iloc[i * 2_000 : (i + 1) * 2_000].to_parquet(tmp_path / f"part-{i}.parquet")
    monkeypatch.setattr(_profile, "PARALLEL_BYTES", 0)  # the files are small: force it
    alone, shared = profile(tmp_path, n_jobs=1), profile(tmp_path, n_jobs=2)
    assert shared.rows == alone.rows == 8_000
    for name, column in alone.columns.items():
        other = shared[name]
        assert (other.count, other.missing, other.non_finite) == (
            column.count, column.missing, column.non_finite,
        )  # fmt: skip
        if column.numeric:
            assert other.mean == pytest.approx(column.mean, rel=1e-9)
            assert other.std == pytest.approx(column.std, rel=1e-9)
        else:
            assert dict(other.top()) == dict(column.top())
