"""The exploration as a self-contained HTML page and as a Jupyter notebook.

The page: the problem and its decisions, the insights (most serious first), the target's
distribution, the columns with their statistics and relation to the target, correlated
pairs and anomalous rows. The notebook holds the same findings as text and, after each,
a code cell that recomputes it from the data with pandas and scikit-learn.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from alambic.core.reports import bar_chart, escape, markdown_table, number, page, table

if TYPE_CHECKING:
    from alambic.automl._explore import Exploration

__all__ = ["render_html", "render_notebook", "write_notebook"]


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


def _load_code(found: Exploration) -> str:
    target = found.problem["target"]
    if found.data_path is None:
        read = "frame = ...  # the DataFrame given to al.automl"
    elif found.data_path.lower().endswith((".parquet", ".pq")):
        read = f"frame = pd.read_parquet({found.data_path!r})"
    else:
        read = f"frame = pd.read_csv({found.data_path!r})"
    return f"import pandas as pd\n\n{read}\ntarget = {target!r}\nframe.shape"


def render_notebook(found: Exploration) -> Any:
    """The notebook: each finding as Markdown, then the code that recomputes it."""
    import nbformat.v4 as nbf

    problem = found.problem
    features = list(problem["features"])
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
        nbf.new_code_cell(_load_code(found)),
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
            f"print(frame.duplicated({[*problem['features'], problem['target']]!r}).sum(), "
            "'duplicated rows')\n"
            "summary"
        ),
        nbf.new_markdown_cell(
            "## Relation to the target and correlated features\n\n"
            "Mutual information on a sample (categories as codes, missing values filled "
            "with the median); pairs of numbers with |r| ≥ 0.9:\n\n"
            + markdown_table(["a", "b", "r"], [[p["a"], p["b"], p["r"]] for p in found.correlated])
        ),
        nbf.new_code_cell(_relation_code(problem["task"], features)),
        nbf.new_markdown_cell(
            f"## Anomalous rows\n\n{found.anomalies['rows']} of {found.anomalies['sampled']} "
            "rows are isolated quickly by an isolation forest over the features."
        ),
        nbf.new_code_cell(
            "from sklearn.ensemble import IsolationForest\n\n"
            "forest = IsolationForest(random_state=0).fit(numbers)\n"
            "frame.loc[numbers.index[forest.predict(numbers) == -1]].head()"
        ),
    ]
    notebook = nbf.new_notebook(cells=cells)
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    return notebook


def _relation_code(task: str, features: list[str]) -> str:
    function = "mutual_info_regression" if task == "regression" else "mutual_info_classif"
    return (
        f"from sklearn.feature_selection import {function}\n\n"
        f"features = {features!r}\n"
        "numbers = frame.loc[frame[target].notna(), features].apply(\n"
        "    lambda c: c if pd.api.types.is_numeric_dtype(c) else c.astype('category').cat.codes\n"
        ").astype(float)\n"
        "numbers = numbers.fillna(numbers.median())\n"
        "labels = frame.loc[numbers.index, target]\n"
        + ("labels = labels.astype('category').cat.codes\n" if task != "regression" else "")
        + f"relation = pd.Series({function}(numbers, labels, random_state=0), index=features)\n"
        "print(relation.sort_values(ascending=False).head(20))\n"
        "numbers.corr().where(lambda r: r.abs() >= 0.9).stack().loc[lambda r: r < 1]"
    )


def write_notebook(notebook: Any, path: str | Path) -> None:
    """Write a notebook, validated by ``nbformat`` first."""
    import nbformat

    nbformat.validate(notebook)
    nbformat.write(notebook, str(path))
