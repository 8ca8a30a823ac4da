"""Helpers of the CLI tests: running ``alambic`` as a user does, and the small pipeline
files the tests write into their folder and run (steps sit at the top level of each
file, as the worker processes import them from there)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["SCRIPT", "Alambic", "Result", "Show", "Write", "invoke"]

SCRIPT = Path(sys.executable).with_name("alambic")  # the console script of this environment


@dataclass(frozen=True)
class Result:
    """What one ``alambic`` command did."""

    args: tuple[str, ...]
    code: int
    out: str
    err: str

    @property
    def output(self) -> str:
        """stdout and stderr together."""
        return self.out + self.err

    @property
    def transcript(self) -> str:
        """The command, its exit code and its whole output, as an assertion message."""
        return (
            f"$ alambic {' '.join(self.args)}  → exit {self.code}\n{self.out}--- stderr\n{self.err}"
        )


Alambic = Callable[..., Result]
Write = Callable[[str, str], Path]
Show = Callable[[str], dict[str, Any]]


def invoke(
    folder: Path,
    *args: str,
    env: Mapping[str, str] | None = None,
    timeout: float = 120.0,
    module: bool = False,
) -> Result:
    """Run ``alambic ARGS…`` in ``folder`` with this process's environment.

    Args:
        folder: the working folder.
        env: extra environment variables.
        timeout: a bound on how long the command may take (not an assertion on speed).
        module: run ``python -m alambic.cli`` instead of the console script.
    """
    environ = os.environ.copy()
    for key in ("FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE"):
        environ.pop(key, None)  # Rich would act as on a terminal (colours, live redraws)
    # A wide console, so that tables do not cut the ids and messages under assertion.
    environ.update({"COLUMNS": "200", "NO_COLOR": "1", **(env or {})})
    command = (
        [sys.executable, "-m", "alambic.cli"] if module or not SCRIPT.exists() else [str(SCRIPT)]
    )
    done = subprocess.run(
        [*command, *args],
        cwd=folder,
        env=environ,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    return Result(tuple(args), done.returncode, done.stdout, done.stderr)


FLOW = '''
"""Squares of a list, summarised; the square step prints, logs and writes to stderr."""
import logging
import sys
from typing import Any

import alambic as al

log = logging.getLogger("flow")


@al.step
def square(x: int) -> int:
    print(f"squaring {x}")
    log.info("info about %s", x)
    log.warning("warning about %s", x)
    print(f"to stderr {x}", file=sys.stderr)
    return x * x


@al.step
def summarize(squares: list[int], scale: float, offset: int, label: str,
              tags: list[str]) -> dict[str, Any]:
    return {"label": label, "total": sum(squares) * scale + offset, "tags": tags}


@al.pipeline
def squares(values: list[int] = [1, 2, 3], scale: float = 1.0, offset: int = 0,
            label: str = "sum", tags: list[str] = ["x"]) -> dict[str, Any]:
    for value in al.map(values):
        sq = square(value)
    return summarize(sq, scale, offset, label, tags)
'''
DEFAULT_RESULT = {"label": "sum", "total": 14.0, "tags": ["x"]}

FAILING = '''
"""prepare → fragile for each value (fragile fails on 2), and an independent side step.

Each execution leaves a marker file, so tests can count what really ran.
"""
import uuid
from pathlib import Path

import alambic as al

MARKS = Path(__file__).parent / "marks"


def mark(tag: str) -> None:
    MARKS.mkdir(exist_ok=True)
    (MARKS / f"{tag}.{uuid.uuid4().hex}").touch()


@al.step
def prepare(x: int) -> int:
    mark(f"prepare-{x}")
    return x


@al.step
def fragile(x: int) -> int:
    mark(f"fragile-{x}")
    if x == 2:
        raise ValueError(f"cannot handle {x}")
    return 10 * x


@al.step
def side() -> str:
    mark("side")
    return "side done"


@al.step
def total(values: list[int]) -> int:
    return sum(values)


@al.pipeline
def partly(values: list[int] = [1, 2, 3]) -> dict:
    note = side()
    for value in al.map(values):
        result = fragile(prepare(value))
    return {"total": total(result), "note": note}
'''

GATED = """
import alambic as al


@al.step
def score(x: int) -> float:
    return x / 10


@al.step
def publish(s: float) -> str:
    return f"published {s}"


@al.step
def alert(s: float) -> str:
    return f"alert {s}"


@al.pipeline
def gated(xs: list[int] = [3, 8], weights: dict[str, float] = {}, min_score: float = 0.5) -> None:
    for x in al.map(xs):
        s = score(x)
        with al.when(s >= min_score):
            publish(s)
        with al.otherwise():
            alert(s)
"""

SLEEPY = """
import time

import alambic as al


@al.step
def nap(seconds: float) -> float:
    print(f"napping {seconds}s", flush=True)
    time.sleep(seconds)
    return seconds


@al.pipeline
def sleepy(seconds: float = 120.0) -> float:
    return nap(seconds)
"""

TWO = """
import alambic as al


@al.step
def hello() -> str:
    return "hello"


@al.pipeline
def first() -> str:
    return hello()


@al.pipeline
def second() -> str:
    return hello()
"""

NEEDS = """
import alambic as al


@al.step
def greet(name: str) -> str:
    return f"hello {name}"


@al.pipeline
def hello(name: str) -> str:
    return greet(name)
"""

MISMATCH = """
import alambic as al


@al.step
def word() -> str:
    return "a"


@al.step
def double(x: int) -> int:
    return 2 * x


@al.pipeline
def wrong() -> int:
    return double(word())
"""

OPTIONAL = """
import alambic as al


@al.step
def describe(limit: int | None) -> str:
    return "everything" if limit is None else f"first {limit}"


@al.pipeline
def capped(limit: int | None = None) -> str:
    return describe(limit)
"""
