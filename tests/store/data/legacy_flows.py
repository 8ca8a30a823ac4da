"""The pipeline ``make_legacy_home.py`` runs: a cached step on the second run, then a failure;
beside them, a query of a file, a model trained on it and registered (library steps)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import alambic as al

TABLE = "legacy.csv"


def write_table(folder: Path) -> Path:
    """The file the pipeline queries, the same bytes every time."""
    path = folder / TABLE
    rows = [f"{i},{(i * 7) % 5},{int(i % 3 == 0)}" for i in range(30)]
    path.write_text("x,y,label\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


@al.step
def rows(n: int) -> list[int]:
    return list(range(n))


@al.step
def total(values: list[int], fail: bool) -> int:
    if fail:
        raise ValueError("asked to fail")
    return sum(values)


@al.step
def fit(table: Any) -> Any:
    from sklearn.tree import DecisionTreeClassifier

    from alambic.models import package

    features, labels = table[["x", "y"]], table["label"]
    return package(DecisionTreeClassifier(random_state=0).fit(features, labels), features, labels)


@al.pipeline
def legacy(n: int = 3, fail: bool = False) -> None:
    total(rows(n), fail)
    table = al.sql("SELECT * FROM t ORDER BY x", sources={"t": TABLE})
    al.register(fit(table), "legacy-flow-model")
