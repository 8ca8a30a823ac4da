"""The pipeline ``make_legacy_home.py`` runs: a cached step on the second run, then a failure."""

from __future__ import annotations

import alambic as al


@al.step
def rows(n: int) -> list[int]:
    return list(range(n))


@al.step
def total(values: list[int], fail: bool) -> int:
    if fail:
        raise ValueError("asked to fail")
    return sum(values)


@al.pipeline
def legacy(n: int = 3, fail: bool = False) -> None:
    total(rows(n), fail)
