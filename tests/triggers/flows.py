"""Pipelines that schedules start in the tests (their orchestrators import this file)."""

from __future__ import annotations

import time

import alambic as al


@al.step
def add(a: int, b: int, tag: str) -> dict[str, object]:
    return {"sum": a + b, "tag": tag}


@al.pipeline
def adder(a: int = 1, b: int = 2, tag: str = "") -> dict[str, object]:
    return add(a, b, tag)


@al.step
def nap(seconds: float) -> float:
    time.sleep(seconds)
    return seconds


@al.pipeline
def napper(seconds: float = 3.0) -> float:
    return nap(seconds)
