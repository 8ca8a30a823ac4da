"""Capture windows, realized quality with late labels, and CBPE before they arrive."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import alambic as al
from alambic.errors import MonitoringError
from alambic.monitoring import capture, drift, estimate, performance
from alambic.monitoring._capture import parse_period
from tests.monitoring.helpers import write_capture

HOUR = 3600.0


def _traffic(n: int, seed: int, shift: float = 0.0) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {"price": rng.normal(10 + shift, 1, n), "brand": rng.choice(["a", "b"], n)}
    )
    p = rng.random(n)
    return frame, np.column_stack([1 - p, p]), (rng.random(n) < p).astype(int)


def test_a_window_streams_only_its_hours_and_feeds_drift() -> None:
    now = time.time()
    old, _, _ = _traffic(50, 0)
    new, proba, _ = _traffic(80, 1, shift=3.0)
    write_capture("cars", old, at=now - 30 * HOUR, prefix="old")
    write_capture("cars", new, at=now - HOUR, probabilities=proba, prefix="new")
    last_day = capture("cars", since="24h")
    frame = last_day.to_pandas()
    assert len(frame) == 80 and set(frame.columns) >= {"price", "brand", "prediction", "score"}
    assert frame["score"].tolist() == pytest.approx(proba[:, 1].tolist())
    assert len(capture("cars").to_pandas()) == 130
    assert len(capture("cars", since="48h", until="24h").to_pandas()) == 50
    report = drift(old, last_day, columns=["price", "brand"])
    assert report.approximate and report["price"].drifted
    empty = drift(old, capture("cars", since="10m"))
    assert empty.status == "no_data" and "endpoint 'cars'" in empty.notes[0]
    assert [len(w.to_pandas()) for w in capture("cars", since="48h").chunks("1d")] == [50, 80]


def test_periods_and_windows_are_checked() -> None:
    assert parse_period("90m").total_seconds() == 5400
    with pytest.raises(MonitoringError, match="not a period"):
        parse_period("soon")
    with pytest.raises(MonitoringError, match=r"ends .* before it starts"):
        capture("cars", since="1h", until="2h")


def test_late_labels_give_metrics_per_variant_and_holdout_with_intervals() -> None:
    now = time.time()
    frame, proba, y = _traffic(400, 2)
    holdout = np.arange(400) % 10 == 0
    ids = write_capture("ab", frame, at=now - 2 * HOUR, probabilities=proba, holdout=holdout,
                        variant="champion", prefix="c")  # fmt: skip
    ids2 = write_capture("ab", frame, at=now - 2 * HOUR, probabilities=proba[::-1].copy(),
                         variant="challenger", prefix="x")  # fmt: skip
    labels = pd.DataFrame({"request_id": ids[:300] + ids2[:300], "label": list(y[:300]) * 2})
    extra = pd.DataFrame({"request_id": ["never-seen", ids[0]], "label": [1, int(y[0])]})
    al.serving.write_labels("ab", labels)
    al.serving.write_labels("ab", extra)
    report = performance("ab", since="1d", n_boot=50)
    assert report.task == "binary" and report.status == "ok"
    assert report.labels == {"received": 602, "duplicates": 1, "used": 600, "unmatched": 1,
                             "invalid": 0}  # fmt: skip
    champion = report.groups["variant=champion"]
    assert (champion.predictions, champion.labelled) == (400, 300)
    assert champion.labelled_share == pytest.approx(0.75)
    from sklearn.metrics import roc_auc_score

    expected = roc_auc_score(y[:300], proba[:300, 1])
    assert champion.metrics["roc_auc"] == pytest.approx(expected, abs=1e-12)
    low, high = champion.ci["roc_auc"]
    assert low <= expected <= high
    assert report.groups["variant=challenger"].metrics["roc_auc"] < 0.6 < expected
    assert {"holdout", "treated"} <= set(report.groups)
    assert report.groups["holdout"].predictions == 40  # the champion's tenth
    assert report.groups["treated"].predictions == 760
    assert report.groups["treated"].labelled + report.groups["holdout"].labelled == 600
    assert 1.9 < champion.delay_hours["p50"] < 2.2
    assert performance("nothing-here").status == "no_data"


def test_cbpe_estimates_what_the_labels_later_show() -> None:
    rng = np.random.default_rng(5)
    p = rng.beta(2, 2, 20_000)
    scores = np.clip(p + rng.normal(0, 0.05, p.size), 0, 1)  # informative, miscalibrated
    frame = pd.DataFrame({"score": scores, "label": (rng.random(p.size) < p).astype(int)})
    reference, current = frame.iloc[:10_000], frame.iloc[10_000:]
    result = estimate(reference, current, chunk_rows=2_500)
    assert len(result.chunks) == 4 and result.task == "binary"
    for chunk in result.chunks:
        for name in ("roc_auc", "accuracy", "f1"):
            low, high = chunk.band[name]
            assert low - 0.01 <= chunk.realized[name] <= high + 0.01, (name, chunk)
            assert abs(chunk.estimated[name] - chunk.realized[name]) < 0.03
    unlabelled = estimate(reference, current.drop(columns=["label"]), chunk_rows=5_000)
    assert unlabelled.chunks[0].realized == {}
    with pytest.raises(MonitoringError, match="one class only"):
        estimate(reference.assign(label=1), current)


def test_multiclass_cbpe_estimates_every_metric_within_its_band(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from alambic.monitoring import _estimate

    monkeypatch.setattr(_estimate, "_DRAW_CELLS", 50_000)  # the draws in batches of four
    rng = np.random.default_rng(11)
    p = rng.dirichlet([1.0, 1.0, 1.0], 24_000)
    noisy = np.clip(p + rng.normal(0, 0.04, p.shape), 1e-3, None)
    scores = noisy / noisy.sum(axis=1, keepdims=True)
    labels = (rng.random((len(p), 1)) > p.cumsum(axis=1)).sum(axis=1).clip(max=2)
    frame = pd.DataFrame(scores, columns=["proba_0", "proba_1", "proba_2"]).assign(label=labels)
    reference, current = frame.iloc[:12_000], frame.iloc[12_000:]
    result = estimate(reference, current, chunk_rows=4_000)
    assert result.task == "multiclass" and len(result.chunks) == 3
    for chunk in result.chunks:
        assert set(chunk.estimated) == {"roc_auc", "accuracy", "precision", "recall", "f1"}
        for name, value in chunk.estimated.items():
            low, high = chunk.band[name]
            assert low - 0.01 <= chunk.realized[name] <= high + 0.01, (name, chunk)
            assert abs(value - chunk.realized[name]) < 0.03, (name, chunk)
    from sklearn.metrics import precision_score, roc_auc_score

    realized = result.chunks[0].realized
    first = current.iloc[:4_000]
    chosen = first[["proba_0", "proba_1", "proba_2"]].to_numpy().argmax(axis=1)
    assert realized["precision"] == pytest.approx(
        precision_score(first["label"], chosen, average="macro"), abs=1e-12
    )
    ovr = [roc_auc_score(first["label"] == k, first[f"proba_{k}"]) for k in range(3)]
    assert realized["roc_auc"] == pytest.approx(np.mean(ovr), abs=1e-12)
    tiny = estimate(reference, current.head(3), chunk_rows=1)  # one row: no ROC AUC band
    assert len(tiny.chunks) == 3 and all("roc_auc" not in c.band for c in tiny.chunks)


def test_cbpe_on_a_capture_window_joins_the_labels_that_arrived() -> None:
    now = time.time()
    frame, proba, y = _traffic(600, 7)
    ids = write_capture("est", frame, at=now - HOUR, probabilities=proba, prefix="e")
    al.serving.write_labels("est", pd.DataFrame({"request_id": ids[:200], "label": y[:200]}))
    reference = pd.DataFrame({"score": proba[:, 1], "label": y})
    result = estimate(reference, capture("est", since="1d"))
    (chunk,) = result.chunks
    assert chunk.rows == 600 and "accuracy" in chunk.realized


def test_whole_hours_are_profiled_once_and_merged_with_the_edges() -> None:
    from datetime import UTC, datetime, timedelta

    from alambic.data import profile
    from alambic.monitoring._profiles import window_profile

    top = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    frames = [_traffic(40, seed)[0] for seed in range(4)]
    for hours_ago, frame in zip((3, 2, 1, 0), frames, strict=True):
        at = (top - timedelta(hours=hours_ago) + timedelta(minutes=10)).timestamp()
        write_capture("hours", frame, at=at, prefix=f"h{hours_ago}-")
    later = top + timedelta(minutes=30)  # as seen half an hour past the hour, whenever now is
    window = capture("hours", since=top - timedelta(hours=3), until=later)
    first = window_profile(window, now=later)
    assert first.rows == 160
    whole = pd.concat(frames, ignore_index=True)
    assert first["price"].mean == pytest.approx(profile(whole)["price"].mean, rel=1e-9)
    from alambic.config import settings

    cached = sorted(Path(str(settings().artifacts), "profiles", "endpoint=hours").glob("*.json"))
    assert len(cached) == 3  # the three whole hours; the current one is read again
    again = window_profile(window, now=later)
    assert again.rows == 160 and again["brand"].top() == first["brand"].top()
    write_capture("hours", frames[0], at=(top - timedelta(minutes=110)).timestamp(), prefix="late-")
    assert window_profile(window, now=later).rows == 200  # a file added to an hour: again


def test_new_hours_are_profiled_on_the_executor_and_merge_as_profiled_here(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from datetime import UTC, datetime, timedelta

    from alambic.data import profile
    from alambic.monitoring import _profiles

    top = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    frames = [_traffic(50, seed)[0] for seed in range(20, 23)]
    for hours_ago, frame in zip((3, 2, 1), frames, strict=True):
        at = (top - timedelta(hours=hours_ago) + timedelta(minutes=5)).timestamp()
        write_capture("spread", frame, at=at, prefix=f"s{hours_ago}-")
    sent: list[int] = []
    real = _profiles.on_executor

    def counted(fn: Any, calls: list[Any]) -> list[Any]:
        sent.append(len(calls))
        return real(fn, calls)  # the local executor's worker processes

    monkeypatch.setattr(_profiles, "on_executor", counted)
    monkeypatch.setattr(_profiles, "PARALLEL_BYTES", 0)  # small hours: send them anyway
    window = capture("spread", since=top - timedelta(hours=3), until=top)
    settled = top + timedelta(minutes=2)  # the last hour is whole, even in its first minute
    shared = _profiles.window_profile(window, now=settled)
    assert sent == [3]  # the three new hours, as three tasks
    whole = profile(pd.concat(frames, ignore_index=True))
    assert shared.rows == 150 and shared["brand"].top() == whole["brand"].top()
    assert shared["price"].mean == pytest.approx(whole["price"].mean, rel=1e-9)
    kept = _profiles.window_profile(window, now=settled)
    assert kept.rows == 150 and sent == [3]  # kept: none sent


def test_labels_of_the_wrong_type_are_counted_and_drift_goes_chunk_by_chunk() -> None:
    from alambic.monitoring import drift_over_time

    now = time.time()
    frame, proba, y = _traffic(100, 9)
    ids = write_capture("typed", frame, at=now - 1800, probabilities=proba, prefix="t")
    labels = pd.DataFrame({"request_id": ids[:60], "label": [*map(str, y[:50]), *["maybe"] * 10]})
    al.serving.write_labels("typed", labels)
    report = performance("typed", n_boot=20)
    assert report.labels["invalid"] == 10 and report.labels["used"] == 50
    assert report.groups["all"].labelled == 50
    reference, _, _ = _traffic(500, 10)
    chunks = drift_over_time(reference, capture("typed", since="2h"), "1h")
    assert [r.status for _, r in chunks] in (["no_data", "ok"], ["ok", "no_data"], ["ok", "ok"])
