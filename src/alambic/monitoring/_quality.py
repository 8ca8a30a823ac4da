"""Data quality: a data set checked against a baseline's constraints, in SageMaker's words.

``check(current, baseline)`` profiles ``current`` (in streaming batches) and returns
its violations, with SageMaker Model Monitor's check types: ``missing_column_check``,
``extra_column_check``, ``data_type_check``, ``completeness_check``,
``categorical_values_check`` and ``baseline_drift_check``; and alambic's
``range_check`` (more than ``range_check_threshold``, 1%, of the values beyond the
baseline's min and max), ``non_negative_check`` and ``non_finite_check`` (±inf).
Each violation names the column, what was observed, what the constraint says and the
share of rows it concerns. The constraints are the baseline's inferred ones, or a
``constraints.json`` a person edited (``constraints=``).

Example:
    >>> import pandas as pd
    >>> from alambic.data import profile
    >>> base = profile(pd.DataFrame({"price": [1.0, 2.0, 3.0], "brand": ["a", "b", "a"]}))
    >>> now = pd.DataFrame({"price": [2.0, None, 9.0], "brand": ["a", "z", "b"]})
    >>> found = check(now, base)
    >>> sorted({(v.feature_name, v.constraint_check_type) for v in found})
    ... # doctest: +NORMALIZE_WHITESPACE
    [('brand', 'categorical_values_check'), ('price', 'completeness_check'),
     ('price', 'range_check')]
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from alambic.data import ColumnProfile, Profile, profile, read_constraints
from alambic.monitoring._capture import CaptureWindow
from alambic.monitoring._drift import drift
from alambic.monitoring._profiles import window_profile

__all__ = ["Violation", "check"]


@dataclass(frozen=True)
class Violation:
    """One broken constraint (SageMaker's ``constraint_violations.json`` entry, and more)."""

    feature_name: str
    constraint_check_type: str
    description: str
    observed: Any = None
    expected: Any = None
    share: float | None = None  # of the current rows it concerns

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def check(
    current: Any,
    baseline: Profile,
    *,
    constraints: Any = None,
    drift_check: bool = True,
) -> list[Violation]:
    """The violations of ``current`` against ``baseline`` (see the module's docstring).

    Args:
        current: a DataFrame, a Profile, or a Parquet/CSV path.
        baseline: the reference profile (``al.monitoring.baseline(...)``).
        constraints: a ``constraints.json`` (dict or path); default: the baseline's own.
        drift_check: also flag columns whose distribution drifted (``baseline_drift_check``).

    Raises:
        DataError: the constraints are not valid (the field is named).
    """
    raw = baseline.constraints() if constraints is None else constraints
    config = raw.get("monitoring_config", {}) if isinstance(raw, dict) else {}
    rules = read_constraints(raw)
    seen = _profiled(current)
    found: list[Violation] = []
    for name in rules:
        if name not in seen.columns:
            found.append(
                Violation(name, "missing_column_check", f"{name} is not in the data", share=1.0)
            )
    for name in seen.columns:
        if name not in rules:
            found.append(
                Violation(name, "extra_column_check", f"{name} is not in the baseline", share=1.0)
            )
    for name, rule in rules.items():
        column = seen.columns.get(name)
        if column is not None and column.count:
            found += _column_violations(column, rule, config)
    if drift_check:
        shared = [n for n in rules if n in seen.columns and n in baseline.columns]
        for result in drift(baseline, seen, columns=shared).columns:
            if result.drifted:
                found.append(
                    Violation(
                        result.column,
                        "baseline_drift_check",
                        _drift_text(result),
                        observed=result.p_value if result.p_value is not None else result.statistic,
                        expected=result.threshold,
                    )
                )
    return found


def _drift_text(result: Any) -> str:
    if result.statistic is None:
        return f"{result.column}: {result.status.replace('_', ' ')}"
    if result.p_value is not None:
        return (
            f"{result.column} drifted: {result.method} statistic {result.statistic:.4g}, "
            f"p-value {result.p_value:.3g} below {result.threshold}"
        )
    return (
        f"{result.column} drifted: {result.method} {result.statistic:.4g}, at or above "
        f"{result.threshold}"
    )


def _profiled(current: Any) -> Profile:
    if isinstance(current, CaptureWindow):
        return window_profile(current)
    if isinstance(current, Profile):
        return current
    from alambic.monitoring._profiles import on_executor

    return profile(current, runner=on_executor)


def _column_violations(
    column: ColumnProfile, rule: dict[str, Any], config: dict[str, Any]
) -> list[Violation]:
    name, found = column.name, []
    expected_type = rule.get("inferred_type")
    wrong = column.other_types / column.count
    if expected_type not in (None, "Unknown") and (
        column.inferred_type != expected_type or wrong > config.get("datatype_check_threshold", 0.1)
    ):
        found.append(
            Violation(
                name,
                "data_type_check",
                f"{name} holds {column.inferred_type} values; the baseline's are {expected_type}",
                observed=column.inferred_type,
                expected=expected_type,
                share=max(wrong, 1.0 if column.inferred_type != expected_type else 0.0),
            )
        )
    completeness = rule.get("completeness")
    if completeness is not None and column.completeness < completeness:
        found.append(
            Violation(
                name,
                "completeness_check",
                f"{name} is {column.completeness:.1%} complete; the baseline asks "
                f"{completeness:.1%}",
                observed=column.completeness,
                expected=completeness,
                share=column.missing / column.count,
            )
        )
    if column.numeric and column.non_finite:
        found.append(
            Violation(
                name,
                "non_finite_check",
                f"{name} holds {column.non_finite} infinite values",
                observed=column.non_finite,
                expected=0,
                share=column.non_finite / column.count,
            )
        )
    if column.numeric and column.finite:
        found += _number_violations(column, rule, config.get("range_check_threshold", 0.01))
    elif not column.numeric:
        found += _domain_violations(column, rule, config)
    return found


def _number_violations(
    column: ColumnProfile, rule: dict[str, Any], tolerance: float
) -> list[Violation]:
    """Negative values where there were none; values beyond the baseline's range, when
    they are more than ``tolerance`` of the rows (new data reaches a little past the old
    extremes by chance)."""
    name, found = column.name, []
    if rule.get("num_constraints", {}).get("is_non_negative") and column.negative:
        found.append(
            Violation(
                name,
                "non_negative_check",
                f"{name} has {column.negative} negative values; the baseline has none",
                observed=column.min,
                expected=">= 0",
                share=column.negative / column.count,
            )
        )
    bounds = rule.get("alambic", {})
    low, high = bounds.get("min"), bounds.get("max")
    if low is not None and high is not None and (column.min < low or column.max > high):
        below = column.kll.get_cdf([low])[0]  # the share under low
        upto = column.kll.get_cdf([high], inclusive=True)[0]  # the share at or under high
        share = (below + (1.0 - upto)) * column.finite / column.count
        if share <= tolerance:
            return found
        found.append(
            Violation(
                name,
                "range_check",
                f"{name} ranges over [{column.min:.6g}, {column.max:.6g}]; the baseline's over "
                f"[{low:.6g}, {high:.6g}]",
                observed=[column.min, column.max],
                expected=[low, high],
                share=share,
            )
        )
    return found


def _domain_violations(
    column: ColumnProfile, rule: dict[str, Any], config: dict[str, Any]
) -> list[Violation]:
    domains = set(rule.get("string_constraints", {}).get("domains", []))
    if not domains or not column.present:
        return []
    # the domain's values are counted one by one (the sketch's estimate of each): every
    # other row is outside it, whether the sketch kept its value or not
    known = sum(min(column.frequent.get_estimate(v), column.present) for v in domains)
    share = max(0.0, 1.0 - known / column.present)
    unknown = {v: n for v, n in column.top(10_000) if v not in domains}
    if share == 0 or share <= config.get("domain_content_threshold", 0.0):
        return []
    shown = sorted(unknown, key=lambda v: -unknown[v])[:5]
    return [
        Violation(
            column.name,
            "categorical_values_check",
            f"{share:.1%} of {column.name} is outside the baseline's values, e.g. {shown}",
            observed=shown,
            expected=sorted(domains)[:50],
            share=share,
        )
    ]
