"""Trivial pipelines for the orchestration benchmark (workers import this file)."""

from __future__ import annotations

import alambic as al


@al.step
def trivial(x: int) -> int:
    return x * 2


@al.pipeline
def wide(values: list[int]) -> None:
    """One trivial step per value, all independent (as many as the workers allow at once)."""
    for x in al.map(values):
        trivial(x)
