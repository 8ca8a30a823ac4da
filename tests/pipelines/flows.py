"""Pipelines used by the tests; workers import this file, so it stays at module level."""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

import alambic as al
from alambic.pipelines import current_step, report_progress

log = logging.getLogger("flows")


@al.step
def numbers(n: int) -> list[int]:
    return list(range(n))


@al.step
def square(x: int) -> int:
    print(f"squaring {x}")
    log.info("logged %s", x)
    return x * x


@al.step
def total(values: list[int]) -> int:
    return sum(values)


@al.step
def make_frame(category: str, rows: int) -> pd.DataFrame:
    return pd.DataFrame({"category": [category] * rows, "value": np.arange(rows, dtype=float)})


@al.step
def mean_value(frame: pd.DataFrame) -> float:
    return float(frame["value"].mean())


@al.step
def publish(score: float) -> str:
    return f"published {score}"


@al.step
def alert(score: float) -> str:
    return f"alert {score}"


@al.step
def split_pair(n: int) -> tuple[list[int], list[int]]:
    values = list(range(n))
    return values[: n // 2], values[n // 2 :]


@al.step
def metrics(x: int) -> dict[str, Any]:
    return {"auc": x / 10, "name": f"m{x}"}


@al.pipeline
def squares(values: list[int] = [1, 2, 3]) -> int:
    for value in al.map(values):
        sq = square(value)
    return total(sq)


@al.pipeline
def dynamic(n: int = 4) -> int:
    """Fan out over a list that a step returns at run time."""
    for value in al.map(numbers(n)):
        sq = square(value)
    return total(sq)


@al.pipeline
def gated(categories: list[str] = ["a", "b"], rows: int = 5, min_mean: float = 1.5) -> None:
    for category in al.map(categories):
        score = mean_value(make_frame(category, rows))
        with al.when(score >= min_mean):
            publish(score)
        with al.otherwise():
            alert(score)


@al.pipeline
def pairs(n: int = 6) -> Any:
    left, right = split_pair(n)
    return {"left": total(left), "right": total(right)}


@al.pipeline
def selected(xs: list[int] = [3, 8]) -> Any:
    for x in al.map(xs):
        m = metrics(x)
        with al.when(m["auc"] >= 0.5):
            publish(m["auc"])
    return m


# -- faults --------------------------------------------------------------------------------
@al.step
def flaky(marker_dir: str, failures: int) -> str:
    """Fails `failures` times (counted in files), then succeeds."""
    folder = Path(marker_dir)
    folder.mkdir(parents=True, exist_ok=True)
    attempts = len(list(folder.iterdir()))
    (folder / f"attempt-{attempts}").touch()
    if attempts < failures:
        raise RuntimeError(f"flaky failure {attempts}")
    return f"ok after {attempts} failures"


@al.pipeline
def retried(marker_dir: str, failures: int = 2) -> str:
    return flaky.with_options(retries=2, retry_delay=0.05)(marker_dir, failures)


@al.pipeline
def not_retried(marker_dir: str, failures: int = 1) -> str:
    return flaky(marker_dir, failures)


@al.step
def boom(x: int) -> int:
    if x == 2:
        raise ValueError(f"cannot handle {x}")
    return x


@al.step
def crash(x: int) -> int:
    if x == 2:
        os._exit(3)
    return x


@al.pipeline
def partly_failing(values: list[int] = [1, 2, 3]) -> int:
    for value in al.map(values):
        ok = boom(value)
        square(ok)
    return total(ok)


@al.pipeline
def crashing(values: list[int] = [1, 2, 3]) -> None:
    for value in al.map(values):
        crash(value)


@al.step
def nap(seconds: float, marker_dir: str = "", tag: str = "") -> float:
    if marker_dir:
        Path(marker_dir).mkdir(parents=True, exist_ok=True)
        (Path(marker_dir) / f"{tag}-{os.getpid()}-{time.time_ns()}").touch()
    time.sleep(seconds)
    return seconds


@al.pipeline
def slow(seconds: float = 30.0) -> float:
    return nap.with_options(timeout=0.5)(seconds)


@al.step
def nap_after(previous: float, seconds: float, marker_dir: str, tag: str) -> float:
    return previous + nap.fn(seconds, marker_dir, tag)


@al.pipeline
def chain(marker_dir: str, first: float = 0.1, second: float = 30.0) -> float:
    """Two steps in a row; the test kills the orchestrator during the second."""
    a = nap(first, marker_dir, "first")
    return nap_after(a, second, marker_dir, "second")


@al.pipeline
def sleepy(n: int = 3, seconds: float = 30.0) -> None:
    for _ in al.map(numbers(n)):
        nap(seconds)


class Opaque:
    def __init__(self, value: int) -> None:
        self.value = value


@al.step
def opaque(x: int) -> Opaque:
    return Opaque(x)


@al.step(allow_pickle=True)
def pickled(x: int) -> Opaque:
    return Opaque(x)


@al.step(allow_pickle=True)
def unwrap(o: Opaque) -> int:
    return o.value


@al.pipeline
def unstorable(x: int = 1) -> None:
    opaque(x)


@al.pipeline
def opted_in(x: int = 5) -> int:
    return unwrap(pickled(x))


@al.step
def joined(words: list[str]) -> str:
    return ",".join(words)


@al.step
def kind_of(words: tuple[str, ...]) -> str:
    return f"{type(words).__name__}:{len(words)}"


@al.step
def upper(word: str) -> str:
    return word.upper()


@al.pipeline
def tupled(categories: tuple[str, ...] = ("auto", "moto", "loisir")) -> list[str]:
    for category in al.map(categories):
        shouted = upper(category)
    return [joined(categories), kind_of(categories), joined(shouted)]


@al.pipeline
def listed(categories: list[str] = ["auto", "moto", "loisir"]) -> list[str]:
    for category in al.map(categories):
        shouted = upper(category)
    return [joined(categories), kind_of(categories), joined(shouted)]


# -- steps that look at their own context and report progress ----------------------


@al.step
def whoami() -> dict[str, Any]:
    step = current_step()
    assert step is not None
    return {"label": step.label, "step_run": step.step_run}


@al.step
def reporting(gate: str) -> int:
    for i in range(3):
        report_progress(f"chunk {i + 1}/3")
    while not Path(gate).exists():
        time.sleep(0.05)
    return 3


@al.pipeline
def context() -> dict[str, Any]:
    return whoami()


@al.pipeline
def progress(gate: str) -> int:
    return reporting(gate)
