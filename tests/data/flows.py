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
