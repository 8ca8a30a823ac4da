"""Rich views of runs, steps and graphs, shared by the CLI commands."""

from __future__ import annotations

import time
from collections import defaultdict
from datetime import datetime
from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from alambic.pipelines import (
    Graph,
    Orchestrator,
    RunRecord,
    StepRunRecord,
    StepState,
    read_progress,
)
from alambic.tracking import TrackedRunRecord

STYLES = {
    "pending": ("·", "dim"),
    "running": ("▶", "bold cyan"),
    "retrying": ("↻", "yellow"),
    "succeeded": ("✔", "green"),
    "cached": ("⚡", "blue"),
    "failed": ("✘", "bold red"),
    "skipped": ("↷", "dim yellow"),
    "cancelled": ("■", "magenta"),
}


def _row(table: Table, *cells: RenderableType) -> None:
    """Add a row; plain strings are shown as they are (a user's `[red]` is not markup)."""
    table.add_row(*(Text(c) if isinstance(c, str) else c for c in cells))


def status_text(status: str) -> Text:
    """A coloured status with its symbol."""
    symbol, style = STYLES.get(status, ("?", ""))
    return Text(f"{symbol} {status}", style=style)


def duration(seconds: float | None) -> str:
    """``0.41s``, ``2m05s``, ``1h02m``."""
    if seconds is None:
        return ""
    if seconds < 60:
        return f"{seconds:.2f}s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


def when(moment: datetime | None) -> str:
    """A UTC timestamp to the second."""
    return "" if moment is None else moment.strftime("%Y-%m-%d %H:%M:%S")


def elapsed(start: datetime | None, end: datetime | None) -> float | None:
    """Seconds between two datetimes (None if one is missing)."""
    if start is None or end is None:
        return None
    return (end - start).total_seconds()


def live_view(orchestrator: Orchestrator, started: float) -> RenderableType:
    """One row per graph node; map nodes show how many branches are in each state."""
    by_node: dict[str, list[StepState]] = defaultdict(list)
    for state in orchestrator.snapshot():
        by_node[state.node.id].append(state)
    table = Table(box=None, pad_edge=False, show_header=True, header_style="bold")
    table.add_column("step")
    table.add_column("status")
    table.add_column("progress")
    table.add_column("time", justify="right")
    for node_id in orchestrator.order:
        states = by_node.get(node_id, [])
        if not states:
            _row(table, node_id, status_text("pending"), "", "")
            continue
        counts: dict[str, int] = defaultdict(int)
        for state in states:
            counts[state.status] += 1
        overall = _overall(counts)
        done = sum(counts[s] for s in ("succeeded", "cached", "failed", "skipped", "cancelled"))
        progress = f"{done}/{len(states)}" if orchestrator.graph.nodes[node_id].scopes else ""
        running = [s for s in states if s.status == "running"]
        reports = [
            (s.label, read_progress(s.record.log_path)) for s in running[:4] if s.record.log_path
        ]
        scoped = bool(orchestrator.graph.nodes[node_id].scopes)
        lines = [f"{label}: {text}" if scoped else text for label, text in reports if text]
        progress = "\n".join(filter(None, [progress, *lines]))
        seconds = max((time.monotonic() - s.started for s in running), default=None)
        finished = [s.record.duration for s in states if s.record.duration is not None]
        if seconds is None and finished:
            seconds = sum(finished)
        _row(table, node_id, status_text(overall), progress, duration(seconds))
    footer = Text(
        f"{orchestrator.run.id} · {duration(time.monotonic() - started)} elapsed", style="dim"
    )
    return Group(table, footer)


def _overall(counts: dict[str, int]) -> str:
    for status in ("failed", "running", "retrying", "pending", "cancelled"):
        if counts.get(status):
            return status
    if counts.get("succeeded"):
        return "succeeded"
    if counts.get("cached"):
        return "cached"
    return "skipped"


def runs_table(runs: list[RunRecord]) -> Table:
    """A table of runs."""
    table = Table(header_style="bold")
    width = max((len(r.id) for r in runs), default=3)
    table.add_column("run", no_wrap=True, min_width=width)  # ids must stay copyable
    for column in ("pipeline", "status", "started", "duration"):
        table.add_column(column)
    table.add_column("params", overflow="fold", ratio=1)
    for run in runs:
        params = ", ".join(f"{k}={v!r}" for k, v in run.params.items())
        _row(
            table,
            run.id,
            run.pipeline_name,
            status_text(run.status),
            when(run.created_at),
            duration(elapsed(run.started_at, run.ended_at)),
            params if len(params) < 60 else params[:59] + "…",
        )
    return table


def run_header(run: RunRecord) -> Table:
    """Key facts of one run."""
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column()
    grid.add_row("run", run.id)
    grid.add_row("pipeline", f"{run.pipeline_name} ({run.pipeline_hash[:12]})")
    grid.add_row("status", status_text(run.status))
    grid.add_row("created", when(run.created_at))
    grid.add_row("duration", duration(elapsed(run.started_at, run.ended_at)))
    grid.add_row("params", ", ".join(f"{k}={v!r}" for k, v in run.params.items()) or "—")
    if run.orchestrator and not run.finished:
        grid.add_row("orchestrator", f"{run.orchestrator} (heartbeat {when(run.heartbeat_at)})")
    if run.error:
        grid.add_row("error", Text(run.error, style="red"))
    return grid


def steps_table(steps: list[StepRunRecord]) -> Table:
    """One row per step run with its status, attempts, duration and cache decision."""
    table = Table(header_style="bold")
    for column in ("step", "status", "tries", "duration", "cache", "note"):
        table.add_column(column, overflow="fold")
    for step in steps:
        cache = step.cache.get("reason", "") if step.cache else ""
        note = (step.error or "").splitlines()[0][:120] if step.error else ""
        seconds = (
            step.duration if step.duration is not None else elapsed(step.started_at, step.ended_at)
        )
        _row(
            table,
            step.label,
            status_text(step.status),
            str(step.attempt or ""),
            duration(seconds),
            cache,
            Text(note, style="red" if step.status == "failed" else "dim"),
        )
    return table


def graph_table(graph: Graph) -> Table:
    """The DAG as a table in topological order: fan-out, conditions and inputs of each step."""
    table = Table(header_style="bold", title=f"{graph.name}  ({graph.hash[:12]})")
    for column in ("#", "step", "fan-out", "when", "inputs"):
        table.add_column(column, overflow="fold")
    for i, row in enumerate(graph.describe(), 1):
        _row(table, str(i), row["node"], row["fan_out"], row["when"], row["inputs"])
    return table


def params_table(params: dict[str, dict[str, Any]]) -> Table:
    """The pipeline's parameters with types and defaults."""
    table = Table(header_style="bold", title="parameters")
    for column in ("name", "type", "default"):
        table.add_column(column)
    for name, spec in params.items():
        default = "(required)" if spec.get("required") else repr(spec.get("default"))
        _row(table, name, spec.get("type", ""), default)
    return table


def experiments_table(rows: list[dict[str, Any]]) -> Table:
    """Experiments with run counts."""
    table = Table(header_style="bold")
    for column in ("experiment", "runs", "created", "last run"):
        table.add_column(column)
    for row in rows:
        _row(table, row["name"], str(row["runs"]), when(row["created_at"]), when(row["last_run"]))
    return table


def compare_table(runs: list[TrackedRunRecord]) -> Table:
    """Tracked runs side by side: one column per run, one row per param and metric.

    Values that differ between runs are highlighted.
    """
    table = Table(header_style="bold")
    table.add_column("")
    for run in runs:
        table.add_column(f"{run.name}\n{run.id}", overflow="fold")
    _row(table, "status", *(status_text(_STATUS.get(r.status, r.status)) for r in runs))
    for section in ("params", "metrics"):
        keys = sorted({k for r in runs for k in getattr(r, section)})
        for key in keys:
            values = [getattr(r, section).get(key) for r in runs]
            differ = len({repr(v) for v in values}) > 1
            cells = [Text(_show(v), style="bold yellow" if differ else "") for v in values]
            _row(table, Text(f"{section}.{key}", style="bold" if differ else "dim"), *cells)
    return table


_STATUS = {"finished": "succeeded", "killed": "cancelled"}


def _show(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def is_table(value: Any) -> bool:
    """Whether a pipeline result reads best as a table: a list of flat dicts."""
    return (
        isinstance(value, list)
        and bool(value)
        and all(isinstance(r, dict) for r in value)
        and all(not isinstance(v, dict) for r in value for v in r.values())
    )


def result_table(rows: list[dict[str, Any]]) -> Table:
    """A pipeline's result (a list of flat dicts) as a table, one row per dict."""
    table = Table(header_style="bold", title="result")
    columns: list[str] = []
    for row in rows:
        columns += [k for k in row if k not in columns]
    first = [c for c in ("name", "category", "model", "id") if c in columns]
    columns = first + [c for c in columns if c not in first]  # what a row is about, first
    for column in columns:
        table.add_column(column, overflow="fold")
    for row in rows:
        _row(table, *(_show(row.get(c)) for c in columns))
    return table
