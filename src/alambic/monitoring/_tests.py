"""The drift tests, each on raw values and on sketches (profiles).

On raw values every test is scipy's (or, for the two-proportion z-test, its normal
distribution): ``ks`` (``ks_2samp``), ``chisquare`` (``chi2_contingency`` on the
reference-by-current counts, so new categories count), ``z`` (two proportions;
chi-square when a third value appears), ``wasserstein`` (``wasserstein_distance``
divided by the reference's standard deviation), ``jensenshannon``
(``scipy.spatial.distance.jensenshannon``), ``psi`` and ``hellinger`` (over the
reference's deciles for numbers, over the categories otherwise).

Against a profile, numbers are compared through their KLL sketches: the statistic comes
with ``bound``, how far the exact statistic can be from it given the sketches' rank
errors (99% confidence), and a p-value taken at the least statistic that bound allows
(so a sketch never claims a drift the exact test would not); categories through their
frequent-value counts (exact below the sketch's capacity, with every other value in one
``other`` bucket).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from alambic.core import optional_import

__all__ = ["DISTANCES", "METHODS", "Outcome", "categorical", "numeric", "numeric_sketch"]

EPS = 1e-4  # the share given to an empty bin in psi (as Evidently and NannyML do)
# test -> (kind of threshold, default threshold): "p" drifts below it, "distance" at or above
METHODS = {
    "ks": ("p", 0.05),
    "chisquare": ("p", 0.05),
    "z": ("p", 0.05),
    "wasserstein": ("distance", 0.1),
    "jensenshannon": ("distance", 0.1),
    "psi": ("distance", 0.1),
    "hellinger": ("distance", 0.1),
}
DISTANCES = {name for name, (kind, _) in METHODS.items() if kind == "distance"}
GRID = 1000  # quantile levels for the Wasserstein distance between sketches


@dataclass(frozen=True)
class Outcome:
    """A test's result: its statistic, p-value (tests) and, against sketches, its bound."""

    statistic: float
    p_value: float | None = None
    bound: float = 0.0  # the exact statistic is within ±bound (0: computed on raw values)


def numeric(method: str, reference: np.ndarray, current: np.ndarray) -> Outcome:
    """A test of two samples of finite numbers."""
    stats, distance = _scipy()

    if method == "ks":
        result = stats.ks_2samp(reference, current)
        return Outcome(float(result.statistic), float(result.pvalue))
    if method == "wasserstein":
        return Outcome(_normed(stats.wasserstein_distance(reference, current), np.std(reference)))
    edges = _decile_edges(np.quantile(reference, np.linspace(0, 1, 11)))
    ref, cur = _shares(reference, edges), _shares(current, edges)
    if method == "jensenshannon":
        return Outcome(float(distance.jensenshannon(ref, cur)))
    return Outcome(_binned(method, ref, cur))


def categorical(method: str, reference: dict[str, float], current: dict[str, float]) -> Outcome:
    """A test of two categorical distributions, given as counts per value."""
    stats, distance = _scipy()

    values = sorted(set(reference) | set(current))
    ref = np.array([reference.get(v, 0.0) for v in values], dtype=np.float64)
    cur = np.array([current.get(v, 0.0) for v in values], dtype=np.float64)
    if method == "chisquare":
        table = np.vstack([ref, cur])
        table = table[:, table.sum(axis=0) > 0]
        if table.shape[1] < 2:  # one value on both sides: nothing differs
            return Outcome(0.0, 1.0)
        result = stats.chi2_contingency(table, correction=False)
        return Outcome(float(result.statistic), float(result.pvalue))
    if method == "z" and len(values) <= 2:
        return _two_proportions(ref, cur)
    if method == "z":  # a value new on one side: two proportions no longer cover it
        return categorical("chisquare", reference, current)
    p, q = ref / ref.sum(), cur / cur.sum()
    if method == "jensenshannon":
        return Outcome(float(distance.jensenshannon(p, q)))
    return Outcome(_binned(method, p, q))


def numeric_sketch(method: str, reference: Any, current: Any) -> Outcome:
    """A test of two columns' KLL sketches (:class:`~alambic.data.ColumnProfile`)."""
    stats, _distance = _scipy()

    error = reference.rank_error() + current.rank_error()
    if method == "ks":
        points = sorted(
            set(reference.kll.get_quantiles(list(np.linspace(0, 1, 201))))
            | set(current.kll.get_quantiles(list(np.linspace(0, 1, 201))))
        )
        gap = np.abs(np.subtract(reference.kll.get_cdf(points), current.kll.get_cdf(points)))
        d = float(gap.max())
        n = round(reference.finite * current.finite / (reference.finite + current.finite))
        # the p-value of the least statistic the sketches allow: drift only when proven
        return Outcome(d, float(stats.kstwo.sf(max(d - error, 0.0), max(n, 1))), bound=error)
    if method == "wasserstein":
        levels = list((np.arange(GRID) + 0.5) / GRID)
        gap = np.subtract(reference.kll.get_quantiles(levels), current.kll.get_quantiles(levels))
        spread = max(reference.max, current.max) - min(reference.min, current.min)
        std = reference.std
        # a rank error e moves each quantile within the values e of the ranks around it:
        # at most e * (the range) over the whole integral, plus the grid's own step
        return Outcome(
            _normed(float(np.abs(gap).mean()), std), bound=_normed(spread * (error + 1 / GRID), std)
        )
    edges = _decile_edges(reference.kll.get_quantiles(list(np.linspace(0, 1, 11))))
    ref = np.array(reference.histogram(edges))
    cur = np.array(current.histogram(edges))
    if method == "jensenshannon":
        return Outcome(float(_scipy()[1].jensenshannon(ref, cur)), bound=math.sqrt(2 * error))
    return Outcome(_binned(method, ref, cur), bound=_binned_bound(method, ref, cur, 2 * error))


def _scipy() -> tuple[Any, Any]:
    stats = optional_import("scipy.stats", extra="monitoring")
    return stats, optional_import("scipy.spatial.distance", extra="monitoring")


def _normed(value: float, std: float) -> float:
    """A distance in reference standard deviations (a constant reference: 0 or inf)."""
    if std > 0 and math.isfinite(std):
        return float(value / std)
    return 0.0 if value == 0 else math.inf


def _decile_edges(quantiles: Any) -> np.ndarray:
    edges = np.unique(np.asarray(quantiles, dtype=np.float64))
    if len(edges) < 2:  # a constant reference: below it, exactly it, above it
        c = float(edges[0])
        edges = np.array([c - 1.0, c, np.nextafter(c, np.inf), c + 1.0])
    return edges


def _shares(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Shares per bin: below the first edge, each interval, above the last."""
    inner = np.concatenate([[-np.inf], edges[1:-1], [np.inf]])
    counts: np.ndarray = np.histogram(values, bins=inner)[0].astype(np.float64)
    return counts / max(float(counts.sum()), 1.0)


def _binned(method: str, ref: np.ndarray, cur: np.ndarray) -> float:
    if method == "psi":
        p, q = np.clip(ref, EPS, None), np.clip(cur, EPS, None)
        return float(np.sum((q - p) * np.log(q / p)))
    if method == "hellinger":
        return float(math.sqrt(max(0.0, 1.0 - float(np.sum(np.sqrt(ref * cur))))))
    raise ValueError(f"unknown drift method {method!r}; one of {sorted(METHODS)}")


def _binned_bound(method: str, ref: np.ndarray, cur: np.ndarray, shift: float) -> float:
    """How far a binned distance can move when each bin's share moves by ``shift``."""
    if method == "hellinger":
        return math.sqrt(len(ref) * shift)
    p, q = np.clip(ref, EPS, None), np.clip(cur, EPS, None)
    # d/dq of (q - p) log(q / p) is log(q / p) + 1 - p / q; likewise in p
    slope = np.abs(np.log(q / p)) + np.abs(1 - p / q) + np.abs(1 - q / p)
    return float(np.sum(slope) * shift)


def _two_proportions(ref: np.ndarray, cur: np.ndarray) -> Outcome:
    """The two-proportion z-test on the first value's share (two values at most)."""
    stats, _distance = _scipy()

    n1, n2 = ref.sum(), cur.sum()
    if len(ref) == 1:
        return Outcome(0.0, 1.0)
    p1, p2 = ref[0] / n1, cur[0] / n2
    pooled = (ref[0] + cur[0]) / (n1 + n2)
    spread = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    if spread == 0:
        return Outcome(0.0, 1.0)
    z = float((p1 - p2) / spread)
    return Outcome(z, float(2 * stats.norm.sf(abs(z))))
