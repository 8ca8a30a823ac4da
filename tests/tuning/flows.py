"""Objectives the tuning tests run; workers import this module by name."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Any

import alambic as al
from alambic.tuning import Pruned, Trial


def quadratic(params: dict[str, Any], trial: Trial) -> float:
    """Best at x = 0.3; logs a metric of its own."""
    al.log_metric("own_metric", params["x"])
    return -((params["x"] - 0.3) ** 2)


def two_objectives(params: dict[str, Any], trial: Trial) -> tuple[float, float]:
    """Accuracy-like against cost-like: every x is on the Pareto front."""
    return params["x"], params["x"] ** 2


def curve(params: dict[str, Any], trial: Trial) -> float:
    """Reports a learning curve; low x learns slowly and should be pruned."""
    value = 0.0
    for step in range(5):
        value = params["x"] * (step + 1)
        trial.report(value, step)
        if trial.should_prune():
            raise Pruned(f"step {step}")
    return value


def flaky(params: dict[str, Any], trial: Trial) -> float:
    if params["x"] > 0.5:
        raise ValueError("x too large for this model")
    return params["x"]


def always_fails(params: dict[str, Any], trial: Trial) -> float:
    raise ValueError("boom")


def slow_for_some(params: dict[str, Any], trial: Trial) -> float:
    if trial.number == 1:
        time.sleep(60)
    return params["x"]


def killed_once(params: dict[str, Any], trial: Trial) -> float:
    if trial.number == 1:
        os.kill(os.getpid(), signal.SIGKILL)
    return params["x"]


def marked(params: dict[str, Any], trial: Trial) -> float:
    """Leaves a mark per trial; trial 3 waits for a gate file (to be killed meanwhile)."""
    folder = Path(os.environ["MARKS"])
    (folder / f"start-{trial.number}-{time.time_ns()}").touch()
    if trial.number == 3:
        while not (folder / "gate").exists():
            time.sleep(0.05)
    (folder / f"done-{trial.number}-{time.time_ns()}").touch()
    return params["x"]


@al.step
def study(n_trials: int) -> dict[str, Any]:
    result = al.tune(
        objective=marked,
        space={"x": {"type": "float", "low": 0.0, "high": 1.0}},
        metric="score",
        directions=["maximize"],
        n_trials=n_trials,
        n_jobs=1,
    )
    return {"best": result.best_value, "trials": result.summary()["trials"]}


@al.pipeline
def tuned(n_trials: int = 5) -> dict[str, Any]:
    return study(n_trials)
