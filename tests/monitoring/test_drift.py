"""Drift: scipy's tests on raw values, bounded approximations on sketches, clear verdicts."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from scipy.spatial import distance

from alambic.data import profile
from alambic.errors import MonitoringError
from alambic.monitoring import drift


def _sides(n: int, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Ten columns; price, km and brand drift in the current side."""
    rng = np.random.default_rng(seed)

    def side(shift: float, brands: list[float]) -> pd.DataFrame:
        data = {f"x{i}": rng.normal(0, 1, n) for i in range(6)}
        data["price"] = rng.lognormal(3 + shift, 1, n)
        data["km"] = rng.gamma(2 + 2 * shift, 10_000, n)
        data["brand"] = rng.choice(["bmw", "audi", "fiat", "kia"], n, p=brands)
        data["used"] = rng.choice(["yes", "no"], n, p=[0.7, 0.3])
        return pd.DataFrame(data)

    return side(0.0, [0.4, 0.3, 0.2, 0.1]), side(0.5, [0.1, 0.2, 0.3, 0.4])


def test_raw_results_are_scipys_to_1e_9() -> None:
    ref, cur = _sides(600)
    report = drift(ref, cur, method={"x0": "ks", "x1": "wasserstein", "x2": "jensenshannon",
                                     "brand": "chisquare", "used": "z"})  # fmt: skip
    ks = stats.ks_2samp(ref["x0"], cur["x0"])
    assert report["x0"].statistic == pytest.approx(ks.statistic, abs=1e-9)
    assert report["x0"].p_value == pytest.approx(ks.pvalue, abs=1e-9)
    w = stats.wasserstein_distance(ref["x1"], cur["x1"]) / np.std(ref["x1"])
    assert report["x1"].statistic == pytest.approx(w, abs=1e-9)
    edges = np.quantile(ref["x2"], np.linspace(0, 1, 11))[1:-1]
    bins = np.concatenate([[-np.inf], edges, [np.inf]])
    p, q = (np.histogram(s, bins)[0] / len(s) for s in (ref["x2"], cur["x2"]))
    assert report["x2"].statistic == pytest.approx(distance.jensenshannon(p, q), abs=1e-9)
    table = np.array([[(ref["brand"] == b).sum(), (cur["brand"] == b).sum()]
                      for b in sorted(set(ref["brand"]))]).T  # fmt: skip
    chi = stats.chi2_contingency(table, correction=False)
    assert report["brand"].statistic == pytest.approx(chi.statistic, abs=1e-9)
    assert report["brand"].p_value == pytest.approx(chi.pvalue, abs=1e-9)
    p1, p2 = (s["used"].eq("no").mean() for s in (ref, cur))  # "no" sorts first
    pooled = (ref["used"].eq("no").sum() + cur["used"].eq("no").sum()) / 1200
    z = (p1 - p2) / math.sqrt(pooled * (1 - pooled) * (2 / 600))
    assert report["used"].statistic == pytest.approx(z, abs=1e-9)
    assert report["used"].p_value == pytest.approx(2 * stats.norm.sf(abs(z)), abs=1e-9)
    assert all(c.bound == 0.0 for c in report.columns) and not report.approximate


def test_the_test_is_chosen_by_type_and_size_and_the_drifted_columns_are_found() -> None:
    small = drift(*_sides(500))
    assert {c.column: c.method for c in small.columns} == {
        **{f"x{i}": "ks" for i in range(6)},
        "price": "ks", "km": "ks", "brand": "chisquare", "used": "z",
    }  # fmt: skip
    large = drift(*_sides(20_000))
    assert {c.method for c in large.columns} == {"wasserstein", "jensenshannon"}
    assert sorted(large.drifted) == ["brand", "km", "price"]
    assert large.share == pytest.approx(0.3) and not large.dataset_drift
    assert drift(*_sides(20_000), drift_share=0.3).dataset_drift


def test_against_a_sketched_baseline_the_exact_statistic_is_within_the_stated_bound() -> None:
    ref, cur = _sides(30_000, seed=4)
    baseline = profile(ref)  # in estimation mode: 30,000 values in a k=200 sketch
    assert baseline["price"].rank_error() > 0
    for method in ("ks", "wasserstein", "psi", "hellinger", "jensenshannon"):
        exact = drift(ref, cur, columns=["price", "x0"], method=method)
        sketched = drift(baseline, cur, columns=["price", "x0"], method=method)
        assert sketched.approximate
        for column in ("price", "x0"):
            a, b = exact[column], sketched[column]
            assert b.bound > 0, (method, column)
            assert abs(a.statistic - b.statistic) <= b.bound, (method, column, a, b)
            if method == "ks":  # its p-value is the bound's most cautious: no false drift
                assert a.drifted or not b.drifted, (column, a, b)
            else:
                assert a.drifted == b.drifted or abs(a.statistic - a.threshold) <= b.bound


def test_categories_against_a_baseline_use_its_frequent_values() -> None:
    ref, cur = _sides(5_000)
    sketched = drift(profile(ref), cur, columns=["brand", "used"])
    exact = drift(ref, cur, columns=["brand", "used"])
    for column in ("brand", "used"):  # below the sketch's capacity the counts are exact
        assert sketched[column].statistic == pytest.approx(exact[column].statistic, abs=1e-9)


def test_missing_empty_constant_and_single_row_columns_get_a_verdict_not_an_error() -> None:
    ref = pd.DataFrame({"a": [1.0, 1.0, 1.0, 1.0], "b": [1.0, 2.0, 3.0, 4.0], "c": list("xyxy"),
                        "d": [1.0, 2.0, 3.0, 4.0]})  # fmt: skip
    cur = pd.DataFrame({"a": [1.0, 1.0], "b": [np.nan, np.inf], "c": ["x", "z"]})
    report = drift(ref, cur, method={"a": "wasserstein"})
    assert report["a"].statistic == 0.0 and not report["a"].drifted  # constant and equal
    assert report["b"].status == "no_data" and not report["b"].drifted
    assert report["d"].status == "missing" and report["d"].drifted
    assert report["c"].method == "chisquare"  # z, but "z" is new: three values
    assert report["c"].statistic is not None and report["c"].p_value is not None
    moved = drift(ref, pd.DataFrame({"a": [2.0]}), columns=["a"], method="wasserstein")
    assert moved["a"].statistic == math.inf and moved["a"].drifted
    one = drift(ref, cur.iloc[:1], columns=["a", "c"])
    assert one["a"].n_current == 1
    assert "d: missing" in report.notes and "b: no_data" in report.notes
    assert report.to_dict()["columns"][0]["column"] == "a"


def test_bad_options_are_refused_with_what_to_use() -> None:
    ref, cur = _sides(100)
    with pytest.raises(MonitoringError, match="unknown drift method 'kl'"):
        drift(ref, cur, method="kl")
    with pytest.raises(MonitoringError, match="chisquare tests categories"):
        drift(ref, cur, columns=["price"], method="chisquare")
    with pytest.raises(MonitoringError, match=r"columns \['nope'\] are not in the reference"):
        drift(ref, cur, columns=["nope"])
    with pytest.raises(MonitoringError, match="drift_share"):
        drift(ref, cur, drift_share=0)


def test_a_change_in_how_columns_move_together_is_seen_when_no_column_drifts() -> None:
    from alambic.monitoring import multivariate_drift

    rng = np.random.default_rng(8)
    x = rng.normal(size=6_000)
    brand = rng.choice(["a", "b", "c"], 6_000)
    ref = pd.DataFrame({"x": x, "y": x + rng.normal(0, 0.4, 6_000), "brand": brand})
    same = pd.DataFrame({"x": x[:2_000], "y": x[:2_000] + rng.normal(0, 0.4, 2_000),
                         "brand": brand[:2_000]})  # fmt: skip
    u = rng.normal(size=2_000)
    apart = pd.DataFrame({"x": u, "y": -u + rng.normal(0, 0.4, 2_000), "brand": brand[:2_000]})
    assert drift(ref, apart).drifted == []  # each column alone has not moved
    result = multivariate_drift(ref, apart, chunk_rows=500)
    assert result.drifted and all(c.drifted for c in result.chunks)
    assert not multivariate_drift(ref, same, chunk_rows=500).drifted
    with pytest.raises(MonitoringError, match="two chunks"):
        multivariate_drift(ref.head(600), apart, chunk_rows=500)


@pytest.mark.parametrize("method", ["psi", "hellinger", "jensenshannon", "wasserstein"])
def test_a_constant_reference_drifts_when_the_value_moves(method: str) -> None:
    ref = pd.DataFrame({"x": [5.0] * 200})
    moved = drift(ref, pd.DataFrame({"x": [50.0] * 200}), method=method)
    still = drift(ref, pd.DataFrame({"x": [5.0] * 200}), method=method)
    assert moved["x"].drifted and not still["x"].drifted
    sketched = drift(profile(ref), pd.DataFrame({"x": [50.0] * 200}), method=method)
    assert sketched["x"].drifted


def test_a_new_category_is_seen_even_where_two_proportions_were_chosen() -> None:
    ref = pd.DataFrame({"used": ["yes", "no"] * 100})
    cur = pd.DataFrame({"used": ["no", "zzz"] * 100})
    for reference in (ref, profile(ref)):
        result = drift(reference, cur)["used"]
        assert result.method == "chisquare" and result.drifted


def test_numbers_that_come_as_text_are_a_type_change_and_a_drift() -> None:
    ref = pd.DataFrame({"price": [1.0, 2.0, 3.0] * 50, "n": [1.0, 2.0, 3.0] * 50})
    cur = pd.DataFrame({"price": ["1", "2", "x"] * 50, "n": [1.0, 2.0, 3.0] * 50})
    for reference in (ref, profile(ref)):
        result = drift(reference, cur)
        assert result["price"].status == "type_changed" and result["price"].drifted
        assert result.share == 0.5
