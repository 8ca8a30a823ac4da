"""``alambic automl DATA --target y``: AutoML from the command line, with a live view.

In a terminal, a table of the candidates (trials done, running, pruned, failed, the best
score so far of each) stays up to date while the search runs; elsewhere (a CI log, a
file) one timestamped line per finished trial. Then the decisions, the leaderboard and
the model chosen; ``--register NAME`` registers it. ``alambic automl rerun DIR`` runs
the search of DIR again (its candidates as they now read; finished trials kept).
"""

from __future__ import annotations

import contextlib
import json
import time
from collections import Counter, defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.live import Live
from rich.table import Table

from alambic.cli._common import console, friendly
from alambic.errors import AutoMLError

__all__ = ["automl"]


class _Board:
    """What the live view shows, fed by the search's ``on_progress``."""

    def __init__(self, budget: str) -> None:
        self.started = time.monotonic()
        self.budget = budget
        self.states: dict[str, Counter[str]] = defaultdict(Counter)
        self.best: dict[str, float] = {}
        self.running: Counter[str] = Counter()
        self.overall = "–"
        self.higher = True

    def update(self, progress: dict[str, Any]) -> dict[str, Any] | None:
        from alambic.evaluation import METRICS

        self.overall = str(progress.get("best", "–"))
        named = self.overall.partition("=")[0]  # "rmse=56.2": which way is better
        if named in METRICS:
            self.higher = METRICS[named][1]
        self.running = Counter(
            str(p.get("candidate")) for p in progress.get("running_params") or []
        )
        finished = progress.get("finished")
        if finished:
            name = str(finished["params"].get("candidate"))
            self.states[name][finished["state"]] += 1
            values = finished.get("values") or []
            if finished["state"] == "complete" and values:
                value = float(values[0])
                kept = self.best.get(name)
                if kept is None or (value > kept if self.higher else value < kept):
                    self.best[name] = value
        return dict(finished) if finished else None

    def table(self) -> Table:
        elapsed = time.monotonic() - self.started
        table = Table(title=f"AutoML · {elapsed:.0f}s of {self.budget} · best {self.overall}")
        for column in ("candidate", "done", "running", "pruned", "failed", "best"):
            table.add_column(column, justify="left" if column == "candidate" else "right")
        for name in sorted(set(self.states) | set(self.running)):
            counts = self.states[name]
            best = self.best.get(name)
            table.add_row(
                name,
                str(counts["complete"]),
                str(self.running[name]),
                str(counts["pruned"]),
                str(counts["fail"]),
                "–" if best is None else f"{best:.4f}",
            )
        return table


def _line(finished: dict[str, Any]) -> str:
    stamp = datetime.now(UTC).strftime("%H:%M:%S")
    name = finished["params"].get("candidate")
    values = finished.get("values") or []
    what = f"{values[0]:.4f}" if finished["state"] == "complete" and values else finished["state"]
    reason = f" ({finished['reason']})" if finished["state"] == "fail" else ""
    return f"{stamp} trial {finished['number']} {name}: {what}{reason}"


def _leaderboard(board: Any) -> Table:
    table = Table(title="leaderboard")
    shown = {
        "candidate": "candidate",
        "status": "status",
        "cv_score": "CV",
        "cv_std": "±",
        "holdout_score": "holdout",
        "fit_seconds": "fit s",
        "latency_ms_1_row": "ms/1 row",
        "latency_ms_per_row_1000": "ms/row (1k)",
        "size_bytes": "bytes",
        "pareto": "front",
    }
    for label in shown.values():
        table.add_column(label, justify="left" if label in ("candidate", "status") else "right")
    for row in board.to_dict("records"):
        cells = []
        for key in shown:
            value = row.get(key)
            if isinstance(value, float):
                cells.append("–" if value != value else f"{value:,.4g}")
            elif isinstance(value, bool):
                cells.append("★" if value else "")
            else:
                cells.append(str(value))
        table.add_row(*cells)
    return table


@friendly
def automl(
    data: Annotated[
        str, typer.Argument(help="A Parquet or CSV file; or 'rerun' to run DIR's search again.")
    ],
    folder: Annotated[
        str | None, typer.Argument(help="With 'rerun': the output folder of a search.")
    ] = None,
    *,
    target: Annotated[
        str | None, typer.Option("--target", "-t", help="The column to predict.")
    ] = None,
    budget: Annotated[str, typer.Option("--budget", "-b", help="Wall-clock budget.")] = "10m",
    task: Annotated[
        str | None, typer.Option(help="binary, multiclass or regression (default: detected).")
    ] = None,
    metric: Annotated[str | None, typer.Option(help="The metric to optimise.")] = None,
    out: Annotated[
        str | None, typer.Option("--out", "-o", help="Output folder (default: a new one).")
    ] = None,
    register: Annotated[
        str | None, typer.Option(help="Register the chosen model under this name.")
    ] = None,
    families: Annotated[
        str | None, typer.Option(help="Comma-separated families (default: all that fit).")
    ] = None,
    jobs: Annotated[int | None, typer.Option("--jobs", "-j", min=1, help="Trials at once.")] = None,
    max_latency_ms: Annotated[
        float | None, typer.Option(help="Choose the best model answering one row this fast.")
    ] = None,
    max_bytes: Annotated[
        float | None, typer.Option(help="Choose the best model stored in this many bytes.")
    ] = None,
) -> None:
    """Detect the problem, write candidates as code, search them within a budget, rank them.

    Example: alambic automl train.parquet --target churned --budget 10m --register churn
    """
    from alambic.automl import automl as run_automl

    arguments: dict[str, Any] = {"task": task, "metric": metric}
    if data == "rerun":
        data, target, out, arguments = _rerun(folder)
    elif folder is not None:
        raise AutoMLError(f"unexpected argument {folder!r}: give the output folder with --out")
    if target is None:
        raise AutoMLError("give --target, the column to predict")
    constraints = {"max_latency_ms": max_latency_ms, "max_bytes": max_bytes}
    picked = {k: v for k, v in constraints.items() if v is not None}
    board = _Board(budget)
    live = Live(board.table(), console=console, refresh_per_second=4, transient=False)

    def progress(report: dict[str, Any]) -> None:
        finished = board.update(report)
        if console.is_terminal:
            live.update(board.table())
        elif finished is not None:
            console.print(_line(finished), soft_wrap=True)

    if not console.is_terminal:
        console.print(f"automl: {data} → {target}, budget {budget}", soft_wrap=True)
    with live if console.is_terminal else contextlib.nullcontext():
        result = run_automl(
            data,
            target,
            time_budget=budget,
            n_jobs=jobs,
            constraints=picked or None,
            out=out,
            families=families.split(",") if families else None,
            on_progress=progress,
            **arguments,
        )
    _report(result, budget)
    if register is not None:
        version = result.register(register, model=result.model)
        console.print(f"registered {version['ref']} ({version['status']})")


def _rerun(folder: str | None) -> tuple[str, str, str, dict[str, Any]]:
    if folder is None:
        raise AutoMLError("give the folder to rerun: alambic automl rerun DIR")
    path = Path(folder)
    try:
        problem = json.loads((path / "problem.json").read_text())
    except (OSError, ValueError) as exc:
        raise AutoMLError(f"{path} is not the output folder of a search ({exc})") from exc
    source = problem.get("data")  # written before the search: a killed one reruns too
    if not source:
        raise AutoMLError(
            f"{path}'s search was given a DataFrame, not a file: rerun it from Python with "
            "al.automl(frame, target, out=DIR)"
        )
    chosen = {d["what"]: d["value"] for d in problem["decisions"] if d.get("chosen")}
    arguments = {
        "task": chosen.get("task"),
        "metric": chosen.get("metric"),
        "keep": list(problem.get("keep") or []),
    }
    return str(source), str(problem["target"]), str(path), arguments


def _report(result: Any, budget: str) -> None:
    for decision in result.problem.decisions:
        console.print(f"  {decision}", soft_wrap=True)
    insights = result.exploration.insights if result.exploration else []
    serious = [i for i in insights if i.severity != "low"]
    for insight in serious:
        console.print(
            f"  [{insight.severity}] {insight.title}: {insight.action}",
            soft_wrap=True,
            markup=False,
        )
    console.print(
        f"  data exploration: {result.folder / 'exploration.html'} ({len(insights)} insights, "
        f"{len(serious)} high or medium; also exploration.ipynb)",
        soft_wrap=True,
    )
    console.print(_leaderboard(result.leaderboard))
    chosen = result.model.metadata["origin"]["candidate"]
    console.print(
        f"chosen: {chosen} · {result.seconds:.1f}s of a {budget} budget · folder {result.folder}",
        soft_wrap=True,
    )
    console.print(
        f"leaderboard page (the Pareto front, importances): {result.folder / 'leaderboard.html'}",
        soft_wrap=True,
    )
