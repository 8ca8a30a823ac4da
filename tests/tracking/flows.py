"""Pipelines whose steps log to experiment tracking (workers import this file)."""

from __future__ import annotations

import alambic as al
from alambic import tracking


@al.step
def fit(depth: int, epochs: int = 3) -> float:
    tracking.log_params({"optimizer": "sgd"})
    for epoch in range(epochs):
        tracking.log_metric("loss", 1.0 / (depth + epoch), step=epoch)
    tracking.set_tag("family", "tree")
    for trial in range(2):  # nested runs, as a tuning step makes them
        with tracking.start_run(f"trial-{trial}", kind="trial"):
            tracking.log_params({"lr": 0.1 * (trial + 1)})
            tracking.log_metric("auc", 0.8 + trial / 10)
    return 1.0 / depth


@al.step
def broken(depth: int) -> float:
    tracking.log_metric("loss", 9.0)
    raise RuntimeError("diverged")


@al.pipeline
def tracked(depths: list[int] = [2, 4]) -> None:
    for depth in al.map(depths):
        fit(depth)


@al.pipeline
def tracked_failure(depth: int = 3) -> None:
    broken(depth)
