"""The exploration as a self-contained HTML page and as a Jupyter notebook.

The page: the problem and its decisions, the insights (most serious first), the target's
distribution, the columns with their statistics and relation to the target, correlated
pairs and anomalous rows. The notebook holds the same findings as text and, after each,
a code cell that recomputes it from the data with pandas and scikit-learn.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from alambic.automl._explore import ANOMALOUS, CORRELATED, SAMPLE
from alambic.core.reports import bar_chart, escape, markdown_table, number, page, table

if TYPE_CHECKING:
    from alambic.automl._explore import Exploration

__all__ = ["read_code", "render_html", "render_notebook", "write_notebook"]


def _overview(found: Exploration) -> list[tuple[str, Any]]:
    problem = found.problem
    return [
        ("rows", found.rows),
        ("rows with a target", problem["rows"]),
        ("columns", len(found.columns)),
        ("features kept", len(problem["features"])),
        ("set aside", len(problem["set_aside"])),
        ("duplicated rows", found.duplicates),
        ("task", problem["task"]),
        ("metric", problem["metric"]),
    ]


def _column_rows(found: Exploration) -> list[list[Any]]:
    rows = []
    for c in found.columns:
        role = c["role"] + (f" ({c['why']})" if c["why"] else "")
        if "mean" in c:
            stats = (
                f"mean {number(c['mean'])} · std {number(c['std'])} · "
                f"{number(c['min'])} … {number(c['median'])} … {number(c['max'])}"
            )
        else:
            stats = ", ".join(f"{v} ({n})" for v, n in c.get("top", []))
        rows.append(
            [
                escape(c["name"]),
                escape(role),
                c["type"],
                f"{c['missing_share']:.1%}",
                c["distinct"],
                stats,
                c["relation"],
            ]
        )
    return rows


def render_html(found: Exploration) -> str:
    """The HTML page (inline CSS and SVG, no script)."""
    problem = found.problem
    parts = [
        f"<p>Predicting <b>{escape(problem['target'])}</b>: a {escape(problem['task'])} task, "
        f"optimising <b>{escape(problem['metric'])}</b>.</p>",
        table(["", ""], [[escape(k), v] for k, v in _overview(found)], markup=1),
        "<h2>Insights</h2>",
        table(
            ["severity", "finding", "detail", "what to do"],
            [
                [
                    f'<span class="badge b-{i.severity}">{i.severity}</span>',
                    i.title,
                    i.detail,
                    i.action,
                ]
                for i in found.insights
            ],
            markup=1,
        )
        if found.insights
        else "<p>Nothing stands out.</p>",
        "<h2>Decisions</h2>",
        "<ul>"
        + "".join(
            f"<li><b>{escape(d['what'])}</b>: {escape(d['value'])} — {escape(d['reason'])}</li>"
            for d in problem["decisions"]
        )
        + "</ul>",
        "<h2>Target</h2>",
        bar_chart(found.target["labels"], found.target["counts"], fmt="{:.0f}"),
        "<h2>Columns</h2>",
        table(
            ["column", "role", "type", "missing", "distinct", "statistics", "mutual information"],
            _column_rows(found),
            markup=2,
        ),
    ]
    related = sorted(
        (c for c in found.columns if c["relation"] is not None), key=lambda c: -c["relation"]
    )[:20]
    if related:
        parts += [
            "<h2>Relation to the target</h2>",
            '<p class="small">mutual information with the target (nats), on a sample</p>',
            bar_chart([c["name"] for c in related], [c["relation"] for c in related]),
        ]
    if found.correlated:
        parts += [
            "<h2>Correlated features</h2>",
            table(["a", "b", "r"], [[p["a"], p["b"], p["r"]] for p in found.correlated]),
        ]
    anomalies = found.anomalies
    if anomalies["examples"]:
        keys = [k for k in anomalies["examples"][0] if k not in ("row", "score")]
        parts += [
            "<h2>Anomalous rows</h2>",
            f"<p>{anomalies['rows']} of {anomalies['sampled']} rows ({anomalies['share']:.1%}) "
            "are isolated quickly by an isolation forest; the most anomalous:</p>",
            table(
                ["row", "score", *keys],
                [[e["row"], e["score"], *(e[k] for k in keys)] for e in anomalies["examples"]],
            ),
        ]
    return page(f"Data exploration: {problem['target']}", "".join(parts))


def read_code(data_path: str | None, target: str) -> str:
    """The lines that read the data back as pandas does (``frame``, ``target``)."""
    if data_path is None:
        read = "frame = ...  # the DataFrame given to al.automl"
    elif data_path.lower().endswith((".parquet", ".pq")):
        read = f"frame = pd.read_parquet({data_path!r})"
    else:
        read = f"frame = pd.read_csv({data_path!r})"
    return f"import numpy as np\nimport pandas as pd\n\n{read}\ntarget = {target!r}"


def render_notebook(found: Exploration) -> Any:
    """The notebook: each finding as Markdown, then the code that recomputes it."""
    import nbformat.v4 as nbf

    problem = found.problem
    insights = "\n".join(
        f"- **{i.severity}** — {i.title}: {i.detail}. *{i.action}.*" for i in found.insights
    )
    cells = [
        nbf.new_markdown_cell(
            f"# Data exploration: `{problem['target']}`\n\n"
            f"A **{problem['task']}** task, optimising **{problem['metric']}**.\n\n"
            + markdown_table(["", ""], [list(kv) for kv in _overview(found)])
        ),
        nbf.new_markdown_cell("## Insights, most serious first\n\n" + (insights or "None.")),
        nbf.new_markdown_cell(
            "## Decisions\n\n"
            + "\n".join(
                f"- **{d['what']}**: {d['value']} — {d['reason']}" for d in problem["decisions"]
            )
        ),
        nbf.new_code_cell(read_code(found.data_path, problem["target"]) + "\nframe.shape"),
        nbf.new_markdown_cell(
            "## Target\n\n"
            + markdown_table(
                ["value", "rows"],
                [list(p) for p in zip(found.target["labels"], found.target["counts"], strict=True)],
            )
        ),
        nbf.new_code_cell(
            "frame[target].describe()"
            if problem["task"] == "regression"
            else "frame[target].value_counts()"
        ),
        nbf.new_markdown_cell(
            "## Columns\n\n"
            + markdown_table(
                ["column", "role", "type", "missing", "distinct", "statistics", "MI"],
                _column_rows(found),
            )
        ),
        nbf.new_code_cell(
            "summary = frame.describe(include='all').T\n"
            "summary['missing'] = frame.isna().mean()\n"
            "labelled = frame[frame[target].notna()]\n"
            f"compared = {[*problem['features'], problem['target']]!r}\n"
            "duplicates = labelled.duplicated(compared).sum()\n"
            "print(duplicates, 'duplicated rows (alike in every feature and the target)')\n"
            "summary"
        ),
        nbf.new_markdown_cell(
            "## Relation to the target and correlated features\n\n"
            "Mutual information on a sample (categories as codes, missing values filled "
            "with the median); pairs of numbers with |r| ≥ 0.9:\n\n"
            + markdown_table(["a", "b", "r"], [[p["a"], p["b"], p["r"]] for p in found.correlated])
        ),
        nbf.new_code_cell(_sample_code(found)),
        nbf.new_code_cell(_relation_code(found)),
        nbf.new_code_cell(_correlation_code()),
        nbf.new_markdown_cell(
            f"## Anomalous rows\n\n{found.anomalies['rows']} of {found.anomalies['sampled']} "
            "rows are isolated quickly by an isolation forest over the features."
        ),
        nbf.new_code_cell(_anomaly_code()),
    ]
    notebook = nbf.new_notebook(cells=cells)
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    return notebook


def _sample_code(found: Exploration) -> str:
    """Code that makes the sample the report's relation and anomalies were measured on,
    encoded as it was (categories as codes, dates as seconds, missing as the median)."""
    problem = found.problem
    kinds = problem["features"]
    return (
        f"SAMPLE, SEED = {SAMPLE}, {found.random_state}\n"
        f"kinds = {kinds!r}\n"
        "labelled = frame[frame[target].notna()]\n"
        "sample = labelled.sample(SAMPLE, random_state=SEED) if len(labelled) > SAMPLE "
        "else labelled\n\n\n"
        "def encoded(column, kind):\n"
        "    if kind == 'category':\n"
        "        values = column.astype('category').cat.codes.astype(float)\n"
        "    elif kind == 'datetime':\n"
        "        stamps = pd.to_datetime(column, errors='coerce', format='mixed', utc=True)\n"
        "        values = (stamps - pd.Timestamp(0, tz='UTC')).dt.total_seconds()\n"
        "    else:\n"
        "        values = pd.to_numeric(column, errors='coerce').astype(float)\n"
        "    values = values.where(np.isfinite(values))\n"
        "    return values.fillna(values.median() if values.notna().any() else 0.0)\n\n\n"
        "numbers = pd.DataFrame({name: encoded(sample[name], kind) for name, kind in "
        "kinds.items()})\n"
        "discrete = [kind == 'category' or pd.api.types.is_bool_dtype(sample[name]) "
        "for name, kind in kinds.items()]\n"
        "numbers.shape"
    )


def _relation_code(found: Exploration) -> str:
    task = found.problem["task"]
    function = "mutual_info_regression" if task == "regression" else "mutual_info_classif"
    labels = (
        "sample[target].astype(float)"
        if task == "regression"
        else "sample[target].astype('category').cat.codes"
    )
    return (
        f"from sklearn.feature_selection import {function}\n\n"
        f"scores = {function}(numbers, {labels}, discrete_features=discrete, "
        "random_state=SEED)\n"
        "relation = pd.Series(scores, index=numbers.columns).sort_values(ascending=False)\n"
        "relation.head(20)"
    )


def _correlation_code() -> str:
    return (
        "plain = [name for name, kind in kinds.items() if kind == 'numeric']\n"
        "rows = labelled[plain] if len(labelled) <= 20_000 else labelled[plain].sample(20_000, "
        "random_state=0)\n"
        "r = rows.apply(pd.to_numeric, errors='coerce').astype(float).corr()\n"
        "upper = r.where(np.triu(np.ones(r.shape, dtype=bool), k=1))\n"
        f"pairs = upper.stack()\npairs[pairs.abs() >= {CORRELATED}].sort_values(key=abs, "
        "ascending=False)"
    )


def _anomaly_code() -> str:
    return (
        "from sklearn.ensemble import IsolationForest\n\n"
        "forest = IsolationForest(n_estimators=100, random_state=SEED).fit(numbers)\n"
        f"anomalous = -forest.score_samples(numbers) > {ANOMALOUS}  # the report's threshold\n"
        "print(anomalous.sum(), 'of', len(numbers), 'rows')\n"
        "sample[anomalous].head()"
    )


def write_notebook(notebook: Any, path: str | Path) -> None:
    """Write a notebook, validated by ``nbformat`` first."""
    import nbformat

    nbformat.validate(notebook)
    nbformat.write(notebook, str(path))
