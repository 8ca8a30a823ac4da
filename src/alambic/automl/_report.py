"""What a search writes for people to read: the candidate definition notebook
(``candidates.ipynb``) and the leaderboard page (``leaderboard.html``: the table, the
Pareto front of score against latency and against size drawn, and the chosen model's
feature importances). Both open offline; the page is one file with inline SVG.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from alambic.core.reports import bar_chart, escape, markdown_table, page, scatter, table

__all__ = ["candidate_notebook", "leaderboard_page"]


def _space_rows(space: dict[str, Any]) -> list[list[str]]:
    return [[f"`{name}`", _range(dimension)] for name, dimension in space.items()]


def _range(dimension: Any) -> str:
    """``50 … 2000 (log scale)``, or the choices of a categorical dimension."""
    when = getattr(dimension, "when", None)
    condition = f" (when {when})" if when else ""
    choices = getattr(dimension, "choices", None)
    if choices is not None:
        return "one of " + ", ".join(f"`{c!r}`" for c in choices) + condition
    low, high = getattr(dimension, "low", None), getattr(dimension, "high", None)
    if low is None:
        return f"`{dimension!r}`"
    scale = " (log scale)" if getattr(dimension, "log", False) else ""
    return f"{low:g} … {high:g}{scale}{condition}"


def _steps(module: Any) -> str:
    """The pipeline's steps and their classes, as built with its defaults."""
    try:
        pipeline = module.build()
    except Exception as exc:  # an edited candidate whose build needs parameters
        return f"(build() without parameters raises {type(exc).__name__})"
    steps = getattr(pipeline, "steps", None) or [("model", pipeline)]
    return " → ".join(f"`{name}` ({type(step).__name__})" for name, step in steps)


def _about(module: Any, name: str) -> str:
    """The first line of a candidate's docstring (its name, if it has none)."""
    lines = (module.__doc__ or "").strip().splitlines()
    return lines[0] if lines else name


# the metrics' names as scikit-learn's scoring= knows them (errors: negated)
SCORING = {
    "roc_auc": "roc_auc",
    "pr_auc": "average_precision",
    "log_loss": "neg_log_loss",
    "accuracy": "accuracy",
    "f1": "f1",
    "brier": "neg_brier_score",
    "macro_f1": "f1_macro",
    "multi_log_loss": "neg_log_loss",
    "rmse": "neg_root_mean_squared_error",
    "mae": "neg_mean_absolute_error",
    "r2": "r2",
    "mape": "neg_mean_absolute_percentage_error",
}


def candidate_notebook(problem: Any, modules: dict[str, Any], data_path: str | None) -> Any:
    """The candidate definition notebook: per candidate, its pipeline, search space and
    portfolio, and a cell that loads it; at the end, how to score one by hand."""
    import nbformat.v4 as nbf

    from alambic.automl._explore_report import read_code

    cells = [
        nbf.new_markdown_cell(
            f"# Candidates for `{problem.target}`\n\n"
            f"A **{problem.task}** task; the search optimises **{problem.metric}**. Each "
            "candidate is a module in `candidates/`: edit one and run `alambic automl "
            "rerun .` from this folder (or `al.automl(..., out=this folder)`) to search "
            "them again as they then read.\n\n"
            + markdown_table(
                ["candidate", "what it is", "hyperparameters", "portfolio entries"],
                [
                    [name, _about(m, name), len(m.SPACE), len(_portfolio(m))]
                    for name, m in modules.items()
                ],
            )
        )
    ]
    for name, module in modules.items():
        cells += [
            nbf.new_markdown_cell(
                f"## {name}\n\n{_about(module, name)}\n\n"
                f"Pipeline: {_steps(module)}\n\n"
                + markdown_table(["hyperparameter", "range"], _space_rows(module.SPACE))
                + f"\n\nPortfolio (tried first): `{_portfolio(module)!r}`"
            ),
            nbf.new_code_cell(
                "from alambic.automl import load_candidate\n\n"
                f'candidate = load_candidate("candidates/{name}.py")\n'
                "candidate.build()"
            ),
        ]
    cells += [
        nbf.new_markdown_cell(
            "## Scoring a candidate by hand\n\nThe search cross-validates every candidate "
            f"on the same folds by {problem.metric}; this cell scores the last one loaded "
            "on five folds of its own (scikit-learn negates error metrics)."
        ),
        nbf.new_code_cell(
            "from sklearn.model_selection import cross_val_score\n\n"
            f"{read_code(data_path, problem.target)}\n"
            "known = frame[frame[target].notna()]\n"
            "x, y = known.drop(columns=[target]), known[target]\n"
            f"cross_val_score(candidate.build(), x, y, cv=5, "
            f"scoring={SCORING.get(problem.metric, None)!r}).mean()"
        ),
    ]
    notebook = nbf.new_notebook(cells=cells)
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    return notebook


def _portfolio(module: Any) -> list[Any]:
    return list(getattr(module, "PORTFOLIO", []))


def leaderboard_page(
    board: pd.DataFrame,
    *,
    target: str,
    metric: str,
    chosen: str,
    importances: pd.DataFrame | None,
) -> str:
    """The leaderboard page: the table, the front drawn twice, the importances."""
    ok = board[board["status"] == "ok"]
    points = list(zip(ok["cv_score"], ok["candidate"], ok["pareto"], strict=True))
    latency = [
        (lat, s, n, bool(f)) for lat, (s, n, f) in zip(ok["latency_ms_1_row"], points, strict=True)
    ]
    size = [(b, s, n, bool(f)) for b, (s, n, f) in zip(ok["size_bytes"], points, strict=True)]
    columns = [c for c in board.columns if c not in ("params", "oof")]
    rows = [
        [
            f"<b>{escape(r['candidate'])}</b>"
            if r["candidate"] == chosen
            else escape(r["candidate"]),
            *(r[c] for c in columns[1:]),
        ]
        for r in board[columns].to_dict("records")
    ]
    parts = [
        f"<p>Predicting <b>{escape(target)}</b>, scored by <b>{escape(metric)}</b> "
        f"(cross-validation). Chosen: <b>{escape(chosen)}</b>. The Pareto front (in "
        "colour) holds the candidates no other beats on score, size and latency at once."
        "</p>",
        table(columns, rows, markup=1),
        '<div class="grid"><div class="cell">',
        scatter(latency, x_label="ms to predict one row", y_label=metric, log_x=True),
        '</div><div class="cell">',
        scatter(size, x_label="bytes stored", y_label=metric, log_x=True),
        "</div></div>",
    ]
    if importances is not None and len(importances):
        top = importances.head(25)
        parts += [
            f"<h2>Feature importances of {escape(chosen)}</h2>",
            f'<p class="small">how much {escape(metric)} worsens on held-out rows when a '
            "column is shuffled (permutation importance)</p>",
            bar_chart([str(f) for f in top["feature"]], [float(v) for v in top["importance"]]),
        ]
    return page(f"AutoML leaderboard: {target}", "".join(parts))
