"""`alambic experiments list` and `alambic runs compare`, as a user runs them."""

from __future__ import annotations

import json

from tests.cli.helpers import Alambic, Write

TRACKED = """
import alambic as al
from alambic import tracking


@al.step
def fit(depth: int) -> float:
    tracking.log_metric("auc", 0.8 + depth / 100)
    return depth / 10


@al.pipeline
def tune(depths: list[int] = [3, 6]) -> None:
    for depth in al.map(depths):
        fit(depth)
"""


def test_experiments_list_and_runs_compare(alambic: Alambic, write: Write) -> None:
    write("tracked.py", TRACKED)
    run = alambic("run", "tracked.py:tune", "-q")
    assert run.code == 0, run.transcript
    listed = alambic("experiments", "list")
    assert listed.code == 0, listed.transcript
    assert "tune" in listed.out and "3" in listed.out  # the pipeline run and its two steps

    shown = alambic("runs", "show", run.out.split()[1], "--json")
    steps = [s["id"] for s in json.loads(shown.out)["steps"]]
    compared = alambic("runs", "compare", *steps)
    assert compared.code == 0, compared.transcript
    assert "params.depth" in compared.out and "metrics.auc" in compared.out
    assert "0.83" in compared.out and "0.86" in compared.out


def test_runs_compare_needs_two_known_runs(alambic: Alambic) -> None:
    one = alambic("runs", "compare", "trk-nope")
    assert one.code == 2 and "at least two" in one.err
    unknown = alambic("runs", "compare", "trk-a", "trk-b")
    assert unknown.code == 2 and "no tracked run 'trk-a'" in unknown.err
