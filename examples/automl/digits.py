"""AutoML on scikit-learn's digits, end to end, within a budget of two minutes.

The seed's story: point the tool at a table and a target, read what it decided and why,
look at the leaderboard, pick a model small and fast enough (not always the most
accurate), and register it. Run from the repository's root (``make demo`` does):

    .venv/bin/python examples/automl/digits.py

The output folder, ``examples/automl/out/``, holds the data exploration
(``exploration.html``, ``exploration.ipynb``), the candidates it wrote as code a person
can read and edit (``candidates/``, summarised in ``candidates.ipynb``) and the
leaderboard page (``leaderboard.html``: the Pareto front drawn, the chosen model's
feature importances); ``alambic automl rerun examples/automl/out`` tunes the candidates
again as they then read.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from rich.console import Console
from rich.table import Table
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

import alambic as al

OUT = Path(__file__).resolve().parent / "out"
console = Console()


def show(board: pd.DataFrame, title: str) -> None:
    table = Table(title=title)
    columns = {
        "candidate": "candidate",
        "cv_score": "CV accuracy",
        "holdout_score": "holdout",
        "latency_ms_1_row": "ms / row",
        "size_bytes": "bytes",
    }
    for label in columns.values():
        table.add_column(label, justify="left" if label == "candidate" else "right")
    for row in board.to_dict("records"):
        table.add_row(
            str(row["candidate"]),
            *(
                "–" if pd.isna(row[key]) else f"{row[key]:,.4g}"
                for key in ("cv_score", "holdout_score", "latency_ms_1_row", "size_bytes")
            ),
        )
    console.print(table)


def main() -> None:
    frame = load_digits(as_frame=True).frame
    train, test = train_test_split(frame, test_size=0.25, stratify=frame["target"], random_state=0)
    result = al.automl(train, "target", time_budget="2m", out=OUT)
    for decision in result.problem.decisions[:2]:
        console.print(f"  {decision}")
    console.print(f"  {len(result.problem.set_aside)} columns set aside (constant pixels)")
    if result.exploration is not None:
        for insight in result.exploration.insights[:3]:
            console.print(f"  [{insight.severity}] {insight.title}", markup=False)
    ok = result.leaderboard[result.leaderboard["status"] == "ok"]
    show(ok, f"leaderboard ({result.seconds:.0f}s of a 2m budget)")
    show(result.pareto_front(), "Pareto front: no other model is more accurate, smaller and faster")
    features, labels = test.drop(columns=["target"]), test["target"]
    best = result.model
    fastest = ok["latency_ms_1_row"].min()
    small = result.pick(max_latency_ms=max(1.0, fastest * 1.5))
    for label, model in (("best", best), ("fast pick", small)):
        accuracy = (model.predict(features) == labels).mean()
        name = model.metadata["origin"]["candidate"]
        console.print(f"{label}: {name}, test accuracy {accuracy:.4f}")
    if result.importances is not None and len(result.importances):
        top = ", ".join(result.importances["feature"].head(5))
        console.print(f"the pixels {best.metadata['origin']['candidate']} relies on most: {top}")
    console.print(f"pages: {OUT / 'exploration.html'}, {OUT / 'leaderboard.html'}")
    version = result.register("digits", model=best)
    console.print(
        f"registered {version['ref']} ({version['status']}); its card shows the leaderboard"
    )


if __name__ == "__main__":
    main()
