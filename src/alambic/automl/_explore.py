"""The data exploration report: what a table holds and what is wrong with it, before a
model is fitted.

:func:`explore` reads the table as given and the :class:`~alambic.automl.Problem`
:func:`~alambic.automl.detect` made of it, and gathers: rows and columns, each column's
type, missing values and statistics (from :func:`alambic.data.profile`, the profiles
monitoring uses), duplicated rows (labelled rows alike in every feature and the target:
an identifier does not make a copy new), the target's distribution, each feature's relation to
the target (mutual information, on a sample), pairs of strongly correlated numbers,
anomalous rows (an isolation forest over the numbers), and **insights ranked by
severity** (high, medium, low), each with what to do about it.

:meth:`Exploration.write` puts ``exploration.html`` (self-contained: inline CSS and
SVG, no script, no CDN) and ``exploration.ipynb`` (a Jupyter notebook: the findings as
text, and code cells that recompute them from the data) into the output folder.

Example:
    >>> import pandas as pd
    >>> from alambic.automl import detect
    >>> frame = pd.DataFrame({"x": [1.0, 2, 3, 4, 5, 6, 7, 8], "y": [0, 1] * 4})
    >>> report = explore(frame, detect(frame, "y"))
    >>> report.rows, report.duplicates, [i.severity for i in report.insights][:1]
    (8, 0, ['high'])
"""

from __future__ import annotations

import itertools
import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from alambic.automl._detect import RARE_RATIO, RARE_SHARE, Problem

__all__ = ["Exploration", "Insight", "explore"]

SEVERITIES = ("high", "medium", "low")
SAMPLE = 5_000  # rows mutual information and the anomaly detector fit on
CORRELATED = 0.9  # |Pearson r| from which two numbers are reported as correlated
MISSING_WARN = 0.2  # a feature missing on more rows than this is an insight
FEW_ROWS = 500  # fewer rows than this: scores will vary from one split to the next
ANOMALOUS = 0.65  # an anomaly score (0 to 1, about 0.5 for ordinary rows) beyond this
SKEWED = 2.0  # a regression target whose skewness is beyond this is worth transforming


@dataclass(frozen=True)
class Insight:
    """One finding: how serious it is, what it is, and what to do about it."""

    severity: str
    title: str
    detail: str
    action: str


@dataclass
class Exploration:
    """What :func:`explore` found (see the module's docstring)."""

    problem: dict[str, Any]
    rows: int
    duplicates: int
    columns: list[dict[str, Any]]
    target: dict[str, Any]
    correlated: list[dict[str, Any]]
    anomalies: dict[str, Any]
    insights: list[Insight] = field(default_factory=list)
    data_path: str | None = None
    random_state: int = 0

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        plain: dict[str, Any] = _plain(asdict(self))
        return plain

    def html(self) -> str:
        """The self-contained HTML report."""
        from alambic.automl._explore_report import render_html

        return render_html(self)

    def notebook(self) -> Any:
        """The Jupyter notebook (an ``nbformat`` v4 notebook)."""
        from alambic.automl._explore_report import render_notebook

        return render_notebook(self)

    def write(self, folder: str | Path) -> dict[str, Path]:
        """Write ``exploration.html``, ``exploration.ipynb`` and ``exploration.json``."""
        from alambic.automl._explore_report import write_notebook

        folder = Path(folder)
        paths = {k: folder / f"exploration.{k}" for k in ("html", "ipynb", "json")}
        paths["html"].write_text(self.html())
        write_notebook(self.notebook(), paths["ipynb"])
        paths["json"].write_text(json.dumps(self.to_dict(), indent=2, default=str))
        return paths


def explore(
    data: pd.DataFrame,
    problem: Problem,
    *,
    random_state: int = 0,
    data_path: str | None = None,
) -> Exploration:
    """Explore ``data`` (the table as given, the target's missing rows included) for the
    problem :func:`~alambic.automl.detect` made of it.

    Args:
        data: the table.
        problem: what :func:`~alambic.automl.detect` decided.
        random_state: seeds the samples and the anomaly detector.
        data_path: the file the table was read from, for the notebook's code to reread.
    """
    from alambic.data import profile

    frame = data.loc[data[problem.target].notna()]
    profiled = profile(_arrow_safe(data), target=problem.target)
    sample = frame.sample(SAMPLE, random_state=random_state) if len(frame) > SAMPLE else frame
    relation = _relation(sample, problem, random_state)
    columns = [
        _column(name, data[name], profiled[name], problem, relation.get(name))
        for name in data.columns
    ]
    found = Exploration(
        problem=problem.to_dict(),
        rows=len(data),
        duplicates=int(frame[[*problem.features, problem.target]].duplicated().sum()),
        columns=columns,
        target=_target(frame[problem.target], problem),
        correlated=_correlated(frame, problem),
        anomalies=_anomalies(sample, problem, random_state),
        data_path=data_path,
        random_state=random_state,
    )
    found.insights = _insights(found, problem)
    return found


def _arrow_safe(data: pd.DataFrame) -> pd.DataFrame:
    """Columns of mixed Python objects as text, so Arrow can read every column."""
    out = data.copy()
    for name in out.columns:
        if out[name].dtype == object:
            out[name] = out[name].map(lambda v: v if v is None or pd.isna(v) else str(v))
    return out


def _role(name: str, problem: Problem) -> str:
    if name == problem.target:
        return "target"
    if name in problem.set_aside:
        return "set aside"
    return problem.features.get(name, "?")


def _column(
    name: str, values: pd.Series, prof: Any, problem: Problem, relation: float | None
) -> dict[str, Any]:
    """One column's row of the report."""
    row: dict[str, Any] = {
        "name": name,
        "role": _role(name, problem),
        "why": problem.set_aside.get(name, ""),
        "type": prof.inferred_type,
        "missing": prof.missing,
        "missing_share": prof.missing / max(1, prof.count),
        "distinct": int(values.nunique()),
        "relation": relation,
    }
    if prof.numeric and prof.finite:
        row.update(
            mean=prof.mean,
            std=prof.std,
            min=prof.min,
            median=prof.quantile(0.5),
            max=prof.max,
            skew=_skew(pd.to_numeric(values, errors="coerce")),
        )
    else:
        row["top"] = [[str(v), int(n)] for v, n in prof.top(5)]
    return row


def _target(labels: pd.Series, problem: Problem) -> dict[str, Any]:
    """Class counts, or a histogram of the values with their skewness."""
    if problem.task != "regression":
        counts = labels.value_counts()
        return {
            "kind": "classes",
            "labels": [str(c) for c in counts.index],
            "counts": [int(n) for n in counts],
        }
    values = labels.astype(float).to_numpy()
    heights, edges = np.histogram(values, bins=20)
    return {
        "kind": "histogram",
        "labels": [f"{a:.3g} to {b:.3g}" for a, b in itertools.pairwise(edges)],
        "counts": [int(n) for n in heights],
        "mean": float(values.mean()),
        "std": float(values.std()),
        "skew": _skew(pd.Series(values)),
    }


def _encoded(sample: pd.DataFrame, problem: Problem) -> tuple[pd.DataFrame, list[bool]]:
    """The features as numbers (categories as codes, dates as seconds), missing filled,
    and which of them are discrete."""
    columns: dict[str, np.ndarray] = {}
    discrete: list[bool] = []
    for name, kind in problem.features.items():
        column = sample[name]
        values: np.ndarray
        if kind == "category":
            values = column.astype("category").cat.codes.to_numpy(dtype=float)
        elif kind == "datetime":
            stamps = pd.to_datetime(column, errors="coerce", format="mixed", utc=True)
            values = (stamps - pd.Timestamp(0, tz="UTC")).dt.total_seconds().to_numpy()
        else:
            values = pd.to_numeric(column, errors="coerce").astype(float).to_numpy()
        finite = np.isfinite(values)
        fill = float(np.median(values[finite])) if finite.any() else 0.0
        columns[name] = np.where(finite, values, fill)
        discrete.append(kind == "category" or pd.api.types.is_bool_dtype(column))
    return pd.DataFrame(columns, index=sample.index), discrete


def _relation(sample: pd.DataFrame, problem: Problem, random_state: int) -> dict[str, float]:
    """Each feature's mutual information with the target (nats), on a sample."""
    from sklearn.feature_selection import mutual_info_classif, mutual_info_regression

    if not problem.features or len(sample) < 10:
        return {}
    encoded, discrete = _encoded(sample, problem)
    labels = sample[problem.target]
    if problem.task == "regression":
        scores = mutual_info_regression(
            encoded, labels.astype(float), discrete_features=discrete, random_state=random_state
        )
    else:
        codes = labels.astype("category").cat.codes
        scores = mutual_info_classif(
            encoded, codes, discrete_features=discrete, random_state=random_state
        )
    return {name: float(s) for name, s in zip(encoded.columns, scores, strict=True)}


def _correlated(frame: pd.DataFrame, problem: Problem) -> list[dict[str, Any]]:
    """Pairs of numeric features with |Pearson r| of at least ``CORRELATED``."""
    numbers = [n for n, k in problem.features.items() if k == "numeric"]
    if len(numbers) < 2:
        return []
    rows = frame[numbers]
    if len(rows) > 20_000:
        rows = rows.sample(20_000, random_state=0)
    sample = rows.apply(pd.to_numeric, errors="coerce").astype(float)
    matrix = sample.corr().to_numpy()
    pairs: list[dict[str, Any]] = []
    for i, j in zip(*np.triu_indices(len(numbers), k=1), strict=True):
        r = matrix[i, j]
        if np.isfinite(r) and abs(r) >= CORRELATED:
            pairs.append({"a": numbers[i], "b": numbers[j], "r": float(r)})
    return sorted(pairs, key=lambda p: -abs(p["r"]))[:25]


def _anomalies(sample: pd.DataFrame, problem: Problem, random_state: int) -> dict[str, Any]:
    """Rows an isolation forest over the features isolates quickly (an anomaly score
    beyond ``ANOMALOUS``): their share, and the five most anomalous with their values."""
    from sklearn.ensemble import IsolationForest

    if len(sample) < 20 or not problem.features:
        return {"rows": 0, "share": 0.0, "examples": [], "sampled": len(sample)}
    encoded, _ = _encoded(sample, problem)
    forest = IsolationForest(n_estimators=100, random_state=random_state).fit(encoded)
    scores = forest.score_samples(encoded)
    flagged = scores < -ANOMALOUS  # the anomaly score of Liu et al. (2008), beyond this
    worst = np.argsort(scores)[:5]
    examples = [
        {"row": _plain(sample.index[i]), "score": float(scores[i]), **_row(sample, i, problem)}
        for i in worst
        if flagged[i]
    ]
    return {
        "rows": int(flagged.sum()),
        "share": float(flagged.mean()),
        "examples": examples,
        "sampled": len(sample),
    }


def _row(sample: pd.DataFrame, i: int, problem: Problem) -> dict[str, Any]:
    return {name: _plain(sample[name].iloc[i]) for name in list(problem.features)[:8]}


def _insights(found: Exploration, problem: Problem) -> list[Insight]:
    """Every finding worth a look, the most serious first."""
    out = _row_insights(found, problem) + _column_insights(found, problem)
    out += _target_insights(found, problem)
    return sorted(out, key=lambda i: SEVERITIES.index(i.severity))


def _row_insights(found: Exploration, problem: Problem) -> list[Insight]:
    out = []
    if problem.dropped_rows:
        share = problem.dropped_rows / max(1, found.rows)
        out.append(
            Insight(
                "high" if share > 0.2 else "medium",
                f"{problem.dropped_rows} rows ({share:.1%}) have no target",
                "they are dropped: the search learns from the rows whose target is known",
                "check how the labels were joined; rows missing a label are often not random",
            )
        )
    if problem.rows < FEW_ROWS:
        out.append(
            Insight(
                "high" if problem.rows < FEW_ROWS / 5 else "medium",
                f"only {problem.rows} rows",
                "cross-validation scores on so few rows vary from one split to the next",
                "gather more rows if you can; compare candidates by their spread (±) too",
            )
        )
    if found.duplicates:
        share = found.duplicates / max(1, found.rows)
        out.append(
            Insight(
                "medium" if share > 0.05 else "low",
                f"{found.duplicates} duplicated rows ({share:.1%})",
                "a row and its copy may fall in different folds, which flatters the scores",
                "drop the copies unless the same observation truly occurs twice",
            )
        )
    anomalies = found.anomalies
    if anomalies["rows"]:
        out.append(
            Insight(
                "medium" if anomalies["share"] > 0.05 else "low",
                f"{anomalies['share']:.1%} of rows look anomalous",
                f"an isolation forest over the features isolates {anomalies['rows']} of the "
                f"{anomalies['sampled']} rows it saw quickly (the worst are listed below)",
                "look at the listed rows: entry errors, units or a different population",
            )
        )
    return out


def _column_insights(found: Exploration, problem: Problem) -> list[Insight]:
    out = []
    plain = {}
    for name, why in problem.set_aside.items():
        if not why.startswith("a leak"):
            plain[name] = why
            continue
        out.append(
            Insight(
                "high",
                f"column {name!r} is set aside as a leak",
                why,
                "pass keep=[...] if it is truly known when a prediction is asked for",
            )
        )
    if plain:
        listed = "; ".join(f"{name!r} {why}" for name, why in list(plain.items())[:10])
        others = f" and {len(plain) - 10} more" if len(plain) > 10 else ""
        out.append(
            Insight(
                "low",
                f"{_count(len(plain), 'column')} set aside (identifiers, constants, empty)",
                listed + others,
                "nothing to do if that is right; keep=[...] uses one anyway",
            )
        )
    for column in found.columns:
        if column["role"] in ("target", "set aside"):
            continue
        if column["missing_share"] > MISSING_WARN:
            out.append(
                Insight(
                    "medium",
                    f"{column['name']!r} is missing on {column['missing_share']:.0%} of rows",
                    "missing values are imputed (the median, or the most frequent category)",
                    "find out why it is missing: the fact that it is may itself be a feature",
                )
            )
    if found.correlated:
        first = found.correlated[0]
        more = len(found.correlated) - 1
        out.append(
            Insight(
                "low",
                f"{_count(len(found.correlated), 'pair')} of features are correlated "
                f"(|r| ≥ {CORRELATED})",
                f"the strongest: {first['a']!r} and {first['b']!r} (r = {first['r']:.3f})"
                + (f", and {more} more (listed below)" if more else "")
                + "; one of a pair adds little, and linear models spread their weight",
                "drop one of each pair if the model must be small or explained",
            )
        )
    for name in problem.high_cardinality:
        out.append(
            Insight(
                "low",
                f"{name!r} is a category of many levels",
                "it is encoded with the target's mean out of fold rather than one-hot",
                "group rare levels if they mean the same thing",
            )
        )
    relations = [c for c in found.columns if c["relation"] is not None]
    useless = [c["name"] for c in relations if c["relation"] < 1e-3]
    if useless and len(useless) < len(relations):
        out.append(
            Insight(
                "low",
                f"{_count(len(useless), 'feature')} show no relation to the target",
                "their mutual information with it is about zero: " + ", ".join(useless[:10]),
                "they may still help in combination; drop them if they cost to collect",
            )
        )
    return out


def _target_insights(found: Exploration, problem: Problem) -> list[Insight]:
    target = found.target
    if target["kind"] == "classes":
        counts = target["counts"]
        share = min(counts) / sum(counts)
        rare = target["labels"][int(np.argmin(counts))]
        binary = len(counts) == 2
        if (binary and share < RARE_SHARE) or (
            not binary and min(counts) < RARE_RATIO * max(counts)
        ):
            return [
                Insight(
                    "high" if share < 0.01 else "medium",
                    f"the classes are imbalanced: {rare!r} is {share:.1%} of rows",
                    f"the search optimises {problem.metric}, which does not reward "
                    "ignoring the rare class",
                    "collect more of the rare class if you can; pick a decision threshold "
                    "for its cost, not 0.5",
                )
            ]
        return []
    if abs(target["skew"]) > SKEWED:
        return [
            Insight(
                "medium",
                f"the target is skewed (skewness {target['skew']:.2f})",
                "a few large values weigh heavily on squared errors",
                "consider predicting its logarithm, or metric='mae'",
            )
        ]
    return []


def _skew(values: pd.Series) -> float:
    skew = values.astype(float).skew()
    return float(skew) if isinstance(skew, int | float) else float("nan")


def _count(n: int, what: str) -> str:
    return f"{n} {what}" if n == 1 else f"{n} {what}s"


def _plain(value: Any) -> Any:
    """JSON-able: numpy scalars as Python ones, NaN as None, containers walked."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    return value
