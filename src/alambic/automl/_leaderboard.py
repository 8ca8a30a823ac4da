"""The leaderboard: each candidate's best trial and the ensemble, scored and measured.

For every candidate, its best trial's cross-validation score and spread, its fit time
per fold, and, for the pipeline refitted on the training rows with those parameters,
the score on the held-out rows, its size as stored (bytes of the skops package) and
its prediction latency per row, measured on one row and on 1,000 rows. A candidate
with no finished trial is listed as failed, with the most frequent reason.

:func:`pareto` marks the rows no other row beats on score, size and latency at once;
:func:`pick` takes the best row within a latency and a size limit.

Example:
    >>> import pandas as pd
    >>> board = pd.DataFrame({"candidate": ["a", "b", "c"], "status": ["ok"] * 3,
    ...     "cv_score": [0.9, 0.8, 0.7], "size_bytes": [9e6, 1e5, 2e5],
    ...     "latency_ms_1_row": [2.0, 0.1, 0.3]})
    >>> pareto(board, higher=True)
    [True, True, False]
    >>> pick(board, higher=True, max_latency_ms=1)
    'b'
"""

from __future__ import annotations

import statistics
import time
from collections import Counter
from typing import Any

import numpy as np
import pandas as pd

from alambic.errors import AutoMLError

__all__ = ["COLUMNS", "importances", "measure", "pareto", "pick", "trial_rows"]

IMPORTANCE_ROWS = 2_000  # held-out rows the permutations are scored on, at most

COLUMNS = [
    "candidate",
    "status",
    "cv_score",
    "cv_std",
    "holdout_score",
    "fit_seconds",
    "latency_ms_1_row",
    "latency_ms_per_row_1000",
    "size_bytes",
    "trials",
    "best_trial",
    "reason",
]


def trial_rows(
    trials: pd.DataFrame,
    candidates: list[str],
    value: str,
    *,
    higher: bool,
    sources: dict[str, str] | None = None,
) -> dict[str, dict[str, Any]]:
    """Each candidate's best finished trial (or why it has none), from a study's trials
    (``value``: the metric's column; ``sources``: each candidate's source hash, to keep
    only the trials of its code as it now reads)."""
    out: dict[str, dict[str, Any]] = {}
    column = "params.candidate"
    for name in candidates:
        mine = trials[trials[column] == name] if column in trials else trials.iloc[:0]
        done = mine[mine["state"] == "complete"]
        if sources is not None and name in sources and len(done):
            current = [a.get("source") in (None, sources[name]) for a in done["attrs"]]
            done = done[current]  # an edited candidate: its earlier code's trials set aside
        if done.empty:
            reasons = Counter(r for r in mine["reason"] if r) if len(mine) else Counter()
            why = reasons.most_common(1)[0][0] if reasons else "no trial ran within the budget"
            out[name] = {"status": "failed", "trials": len(mine), "reason": why}
            continue
        best = done.sort_values(value, ascending=not higher, kind="stable").iloc[0]
        attrs = best["attrs"]
        scores = attrs.get("cv_scores", [best[value]])
        out[name] = {
            "status": "ok",
            "cv_score": float(best[value]),
            "cv_std": float(np.std(scores)),
            "fit_seconds": float(attrs.get("fit_seconds", np.nan)),
            "trials": len(mine),
            "best_trial": int(best["number"]),
            "params": dict(attrs.get("params", {})),
            "oof": attrs.get("oof"),
            "reason": "",
        }
    return out


def measure(model: Any, features: pd.DataFrame, *, repeats: int = 15) -> dict[str, float]:
    """A fitted model's latency per row (one row; 1,000 rows) and size as stored."""
    from alambic.models import dumps_model, package

    method = model.predict_proba if hasattr(model, "predict_proba") else model.predict
    one = features.iloc[:1]
    method(one)  # warm: first calls build caches
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        method(one)
        times.append(time.perf_counter() - started)
    batch = features.sample(1000, replace=True, random_state=0)
    started = time.perf_counter()
    method(batch)
    per_row = (time.perf_counter() - started) / len(batch)
    raw, _ = dumps_model(package(model, features.iloc[:50]))
    return {
        "latency_ms_1_row": statistics.median(times) * 1e3,
        "latency_ms_per_row_1000": per_row * 1e3,
        "size_bytes": float(len(raw)),
    }


def importances(
    model: Any,
    features: pd.DataFrame,
    labels: Any,
    *,
    metric: str,
    task: str,
    seconds: float,
    random_state: int = 0,
) -> pd.DataFrame:
    """Permutation importances of a fitted model on held-out rows: how much its score
    drops when one column's values are shuffled (mean and spread over the repeats,
    positive: the column helps), most important first.

    The repeats (at most 5, at least 1) are those that fit in ``seconds``; none fit: an
    empty frame.
    """
    from sklearn.inspection import permutation_importance

    from alambic.evaluation import METRICS, scores_of
    from alambic.evaluation import metric as score

    sign = 1.0 if METRICS[metric][1] else -1.0

    def scorer(estimator: Any, x: pd.DataFrame, y: Any) -> float:
        return sign * score(metric, y, scores_of(estimator, x, task))

    labels = np.asarray(labels)
    if len(features) > IMPORTANCE_ROWS:
        rows = np.random.default_rng(random_state).choice(len(features), IMPORTANCE_ROWS, False)
        features, labels = features.iloc[rows], labels[rows]
    started = time.perf_counter()
    scorer(model, features, labels)
    one = (time.perf_counter() - started) * features.shape[1]  # one repeat of every column
    repeats = min(5, int(seconds / max(one, 1e-9)))
    if repeats < 1:
        return pd.DataFrame(columns=["feature", "importance", "std"])
    found = permutation_importance(
        model, features, labels, scoring=scorer, n_repeats=repeats, random_state=random_state
    )
    frame = pd.DataFrame(
        {
            "feature": features.columns,
            "importance": found.importances_mean,
            "std": found.importances_std,
        }
    )
    return frame.sort_values("importance", ascending=False, kind="stable").reset_index(drop=True)


def pareto(board: pd.DataFrame, *, higher: bool) -> list[bool]:
    """Whether each row is on the front: no other finished row is at least as good on
    score, size and latency, and better on one of them."""
    ok = (board["status"] == "ok").tolist()
    sign = 1.0 if higher else -1.0
    columns = ("cv_score", "size_bytes", "latency_ms_1_row")
    values = board.loc[:, list(columns)].to_numpy(dtype=float) * np.array([sign, -1.0, -1.0])
    points: list[tuple[float, ...]] = [tuple(row) for row in values]
    front = []
    for i, p in enumerate(points):
        dominated = any(
            ok[j] and j != i and all(a >= b for a, b in zip(q, p, strict=True)) and q != p
            for j, q in enumerate(points)
        )
        front.append(ok[i] and not dominated)
    return front


def pick(
    board: pd.DataFrame,
    *,
    higher: bool,
    max_latency_ms: float | None = None,
    max_bytes: float | None = None,
) -> str:
    """The best-scoring finished candidate within the limits.

    Raises:
        AutoMLError: none is within them (says the smallest and fastest there are).
    """
    rows = board[board["status"] == "ok"]
    if max_latency_ms is not None:
        rows = rows[rows["latency_ms_1_row"] <= max_latency_ms]
    if max_bytes is not None:
        rows = rows[rows["size_bytes"] <= max_bytes]
    if rows.empty:
        done = board[board["status"] == "ok"]
        raise AutoMLError(
            f"no candidate is within max_latency_ms={max_latency_ms}, max_bytes={max_bytes}: "
            f"the fastest answers one row in {done['latency_ms_1_row'].min():.3f} ms, the "
            f"smallest is {done['size_bytes'].min():,.0f} bytes"
        )
    order = rows.sort_values("cv_score", ascending=not higher, kind="stable")
    return str(order["candidate"].iloc[0])
