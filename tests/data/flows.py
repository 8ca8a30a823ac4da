"""Pipelines over SQL sources (workers import this file)."""

from __future__ import annotations

import pandas as pd

import alambic as al


@al.step
def count_rows(frame: pd.DataFrame) -> int:
    return len(frame)


@al.pipeline
def per_category(path: str, categories: list[str] = ["auto", "moto"]) -> list[int]:
    for category in al.map(categories):
        rows = al.sql(
            "SELECT * FROM listings WHERE category = $category ORDER BY id",
            params={"category": category},
            sources={"listings": path},
        )
        n = count_rows(rows)
    return n


@al.pipeline
def broken(path: str) -> int:
    return count_rows(al.sql("SELEC * FROM listings", sources={"listings": path}))


@al.pipeline
def non_empty(path: str, categories: list[str] = ["auto"], min_rows: int = 1) -> list[int]:
    for category in al.map(categories):
        rows = al.sql(
            "SELECT * FROM listings WHERE category = $category ORDER BY id",
            params={"category": category},
            sources={"listings": path},
            min_rows=min_rows,
        )
        n = count_rows(rows)
    return n


PINNED_QUERY = "SELECT * FROM t WHERE x > $x"


@al.pipeline
def pinned() -> int:
    """A query over ``t.csv`` in the working folder, as 0.1.0 could write it."""
    return count_rows(al.sql(PINNED_QUERY, params={"x": 1}, sources={"t": "t.csv"}))


@al.pipeline
def pinned_min_rows() -> int:
    """The same query, asking for at least one row."""
    return count_rows(al.sql(PINNED_QUERY, params={"x": 1}, sources={"t": "t.csv"}, min_rows=1))
