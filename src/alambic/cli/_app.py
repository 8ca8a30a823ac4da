"""The ``alambic`` command line.

Exit codes: 0 success, 1 the run failed (or was cancelled), 2 usage error (bad
parameter, unknown pipeline, a file that does not import, an unknown run…), 124
``runs wait --timeout`` gave up while the run goes on.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import RenderableType
from rich.live import Live
from rich.text import Text

from alambic.cli import _render as render
from alambic.cli._automl import automl
from alambic.cli._batch import batch
from alambic.cli._common import console, errors, friendly
from alambic.cli._events import EventWriter, RunFeed, StepEvents, summary_event
from alambic.cli._follow import TIMEOUT_EXIT, duration_option, follow_step, matching_steps
from alambic.cli._models import models_app
from alambic.cli._monitors import monitors_app
from alambic.cli._server import remote_submit, remote_wait, schedules_app, server
from alambic.cli._serving import endpoints_app, serve, tokens_app
from alambic.cli._triggers import alerts_app, triggers_app
from alambic.config import find_project, settings
from alambic.errors import AlambicError, RunError
from alambic.pipelines import (
    Graph,
    Orchestrator,
    Pipeline,
    Run,
    RunStore,
    get_run,
    load_pipeline,
    parse_cli_params,
    step_logs,
    validate_params,
)
from alambic.pipelines import cancel as cancel_run
from alambic.pipelines import resume as resume_run
from alambic.pipelines import run as run_pipeline
from alambic.pipelines import submit as submit_pipeline
from alambic.store import ArtifactStore

app = typer.Typer(
    name="alambic",
    help="Local-first MLOps: pipelines from data to production models.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
runs_app = typer.Typer(help="Inspect runs.", no_args_is_help=True)
pipelines_app = typer.Typer(help="Inspect pipeline definitions.", no_args_is_help=True)
db_app = typer.Typer(help="Manage the metadata database.", no_args_is_help=True)
experiments_app = typer.Typer(help="Inspect experiments (tracked runs).", no_args_is_help=True)
app.add_typer(runs_app, name="runs")
app.add_typer(pipelines_app, name="pipelines")
app.add_typer(db_app, name="db")
app.add_typer(experiments_app, name="experiments")
app.add_typer(models_app, name="models")
app.add_typer(endpoints_app, name="endpoints")
app.add_typer(tokens_app, name="tokens")
app.add_typer(monitors_app, name="monitors")
app.add_typer(schedules_app, name="schedules")
app.add_typer(triggers_app, name="triggers")
app.add_typer(alerts_app, name="alerts")


@app.callback()
def _announce_a_new_home(ctx: typer.Context) -> None:
    """Say where a command created a new home (not when ALAMBIC_HOME names it)."""
    if os.environ.get("ALAMBIC_HOME"):
        return  # the user named it: no surprise
    try:
        home = settings().home
    except AlambicError:
        return  # the command itself reports the bad setting
    if home.exists():
        return
    project = find_project() or Path.cwd()

    def announce() -> None:
        if home.exists():
            errors.print(
                f"created a new home at {home} (commands run in {project} or below use it; "
                "set ALAMBIC_HOME to use another)",
                style="dim",
                soft_wrap=True,
            )

    ctx.call_on_close(announce)


ParamOption = Annotated[
    list[str] | None,
    typer.Option(
        "--param",
        "-p",
        help="Parameter override NAME=VALUE (JSON, or a,b,c for lists); repeatable.",
    ),
]
NoCache = Annotated[bool, typer.Option("--no-cache", help="Execute every step again.")]
Executor = Annotated[str | None, typer.Option(help="Executor plugin (default: ALAMBIC_EXECUTOR).")]
Output = Annotated[
    str,
    typer.Option(
        "--output",
        "-o",
        help="text: a live view on a terminal, one timestamped line per event elsewhere "
        "(CI logs, files); json: one JSON object per event and a summary, for tools.",
    ),
]
ProgressEvery = Annotated[
    str,
    typer.Option(
        "--progress-every",
        help="Lines only: report a running step's progress (tuning trials) at most this "
        "often, like 30s or 5m.",
    ),
]
Workers = Annotated[
    int | None,
    typer.Option(
        "--max-workers", "-j", min=1, help="Steps at once (default: ALAMBIC_MAX_WORKERS)."
    ),
]


def _store() -> RunStore:
    return RunStore.open(settings().db_url)


class _LiveRun:
    """Renders the orchestrator's state; Rich's refresh thread calls :meth:`render`.

    Rendering reads a copy of the orchestrator's states (``snapshot``), so the thread never
    sees a dictionary change under it.
    """

    def __init__(self) -> None:
        self.started = time.monotonic()
        self.orchestrator: Orchestrator | None = None

    def attach(self, orchestrator: Orchestrator) -> None:
        self.orchestrator = orchestrator

    def render(self) -> RenderableType:
        if self.orchestrator is None:
            return Text("starting…", style="dim")
        return render.live_view(self.orchestrator, self.started)


Start = Callable[[Callable[[Orchestrator], None]], Run]


def _run_with_view(start: Start, quiet: bool, *, output: str, progress_every: str) -> None:
    """Drive a run, showing it as ``output`` says, and report how it ended.

    Text on a terminal is the live view; text elsewhere (a CI log, a file) and JSON are
    one flushed line per event, so a log cut short still holds the run id.
    """
    if output not in ("text", "json"):
        raise AlambicError(f"--output {output!r}: use text or json")
    every = duration_option("--progress-every", progress_every) or 10.0
    if quiet:
        finished = start(lambda _: None)
    elif output == "text" and console.is_terminal:
        view = _LiveRun()
        with Live(get_renderable=view.render, console=console, refresh_per_second=4):
            finished = start(view.attach)
    else:
        finished = _run_with_feed(start, as_json=output == "json", every=every)
    if output == "json":
        EventWriter(as_json=True)(summary_event(finished))
        if not finished.succeeded:
            raise typer.Exit(1)
        return
    _report(finished)


def _run_with_feed(start: Start, *, as_json: bool, every: float) -> Run:
    started = time.monotonic()
    feed = RunFeed(EventWriter(as_json=as_json), progress_every=every)
    try:
        finished = start(feed)
    finally:
        feed.close()
    if not as_json and feed.orchestrator is not None:
        console.print(render.live_view(feed.orchestrator, started))  # the steps at the end
    return finished


def _report(run: Run) -> None:
    style = "green" if run.succeeded else "red"
    console.print(Text(f"run {run.id} {run.status}", style=style))
    if run.succeeded:
        result = run.result()
        if render.is_table(result):
            console.print(render.result_table(result))
        elif result is not None:
            text = json.dumps(result, default=str)
            console.print(Text(f"result: {text if len(text) <= 300 else text[:299] + '…'}"))
    if run.error:
        console.print(Text(run.error, style="red"))
    failed = [s for s in run.steps if s.status == "failed"]
    for step in failed[:3]:
        console.print(Text(f"--- {step.label}: {step.error}", style="red"))
    if failed:
        console.print(f"details: alambic runs show {run.id}")
    if not run.succeeded:
        raise typer.Exit(1)


Target = Annotated[str, typer.Argument(help="path/to/file.py[:PIPELINE] or module:PIPELINE")]
ServerOption = Annotated[
    str | None,
    typer.Option(
        "--server", help="A control plane's URL (alambic server); token in ALAMBIC_TOKEN."
    ),
]


def _load(target: str, pairs: list[str] | None) -> tuple[Pipeline[Any], dict[str, Any]]:
    """Import, trace and validate the pipeline and its parameters before anything is stored."""
    pipeline = load_pipeline(target)
    pipeline.graph  # noqa: B018 - tracing validates the graph
    return pipeline, validate_params(pipeline.specs, parse_cli_params(pipeline.specs, pairs or []))


@app.command()
@friendly
def run(
    target: Target,
    *,
    param: ParamOption = None,
    no_cache: NoCache = False,
    executor: Executor = None,
    max_workers: Workers = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No live view.")] = False,
    output: Output = "text",
    progress_every: ProgressEvery = "10s",
) -> None:
    """Run a pipeline to its end, showing its steps live (or as lines, outside a terminal)."""
    pipeline, params = _load(target, param)
    _run_with_view(
        lambda on_change: run_pipeline(
            pipeline,
            params,
            cache=not no_cache,
            executor=executor,
            max_workers=max_workers,
            on_change=on_change,
        ),
        quiet,
        output=output,
        progress_every=progress_every,
    )


@app.command()
@friendly
def submit(
    target: Target,
    *,
    param: ParamOption = None,
    no_cache: NoCache = False,
    executor: Executor = None,
    max_workers: Workers = None,
    server_url: ServerOption = None,
) -> None:
    """Start a run in the background and print its id at once.

    With --server, the control plane at that URL starts it (token in ALAMBIC_TOKEN; the
    pipeline is named in the server's project).
    """
    if server_url:
        remote_submit(server_url, target, param or [], cache=not no_cache)
        return
    pipeline, params = _load(target, param)
    started = submit_pipeline(
        pipeline, params, cache=not no_cache, executor=executor, max_workers=max_workers
    )
    console.print(started.id)
    errors.print(f"follow it with: alambic runs show {started.id}", style="dim")


@app.command()
@friendly
def resume(
    run_id: Annotated[str, typer.Argument(help="Run id (or a unique prefix).")],
    detach: Annotated[bool, typer.Option("--detach", help="Resume in the background.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q")] = False,
    output: Output = "text",
    progress_every: ProgressEvery = "10s",
) -> None:
    """Finish a failed, cancelled or interrupted run; succeeded steps are not run again."""
    record = _store().get_run(run_id)  # refuse an unknown run before drawing anything
    if record.status == "succeeded":
        raise RunError(f"run {record.id} already succeeded; start a new run instead")
    run_id = record.id
    if detach:
        console.print(resume_run(run_id, detach=True).id)
        return
    _run_with_view(
        lambda on_change: resume_run(run_id, on_change=on_change),
        quiet,
        output=output,
        progress_every=progress_every,
    )


@app.command()
@friendly
def cancel(
    run_id: Annotated[str, typer.Argument(help="Run id (or a unique prefix).")],
    wait: Annotated[float, typer.Option(help="Seconds to wait for the run to stop.")] = 30.0,
) -> None:
    """Cancel a run: running steps are stopped, pending ones never start."""
    cancelled = cancel_run(run_id, wait=wait)
    console.print(f"run {cancelled.id} {cancelled.status}")


@runs_app.command("list")
@friendly
def runs_list(
    pipeline: Annotated[str | None, typer.Option(help="Only runs of this pipeline.")] = None,
    status: Annotated[str | None, typer.Option(help="Only runs in this state.")] = None,
    limit: Annotated[int, typer.Option(min=1)] = 20,
) -> None:
    """List recent runs, newest first."""
    console.print(
        render.runs_table(_store().list_runs(pipeline=pipeline, status=status, limit=limit))
    )


@runs_app.command("show")
@friendly
def runs_show(
    run_id: Annotated[str, typer.Argument(help="Run id (or a unique prefix).")],
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Show a run: its parameters, every step's state, and why it was a cache hit or miss."""
    store = _store()
    record = store.get_run(run_id)
    steps = store.step_runs(record.id)
    if as_json:
        data = {"run": _jsonable(record), "steps": [_jsonable(s) for s in steps]}
        console.print_json(json.dumps(data, default=str))
        return
    console.print(render.run_header(record))
    console.print(render.steps_table(steps))
    for step in steps:
        if step.status == "failed" and step.traceback:
            console.print(Text(f"\n{step.label} traceback:", style="bold red"))
            console.print(Text(step.traceback.rstrip()))


def _jsonable(record: Any) -> dict[str, Any]:
    import dataclasses

    return dataclasses.asdict(record)


@runs_app.command("logs")
@friendly
def runs_logs(
    run_id: Annotated[str, typer.Argument(help="Run id (or a unique prefix).")],
    step: Annotated[str | None, typer.Argument(help="Step name, like train or train[1].")] = None,
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="Tail a running STEP until it finishes.")
    ] = False,
) -> None:
    """Print the captured output (stdout, stderr, logging) of a run's steps."""
    config = settings()
    store = RunStore.open(config.db_url)
    record = store.get_run(run_id)
    artifacts = ArtifactStore(config.artifacts)
    if follow:
        if step is None:
            raise AlambicError("--follow tails one step: give its name, like train or train[1]")
        follow_step(store, artifacts, record, step, out=sys.stdout)
        return
    steps = store.step_runs(record.id)
    if step is not None:
        chosen = matching_steps(steps, step)
        if not chosen:
            known = ", ".join(s.label for s in steps)
            raise AlambicError(f"run {record.id} has no step {step!r}; it has: {known}")
        steps = chosen
    for item in steps:
        text = step_logs(item, artifacts)
        if len(steps) > 1:
            console.print(Text(f"── {item.label} ({item.status})", style="bold"))
        sys.stdout.write(text if text.endswith("\n") or not text else text + "\n")
        sys.stdout.flush()


@runs_app.command("wait")
@friendly
def runs_wait(
    run_id: Annotated[str, typer.Argument(help="Run id (or a unique prefix).")],
    *,
    timeout: Annotated[
        str | None, typer.Option(help="Give up after this long, like 30s, 10m or 2h.")
    ] = None,
    output: Output = "text",
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Only the last line.")] = False,
    progress_every: ProgressEvery = "10s",
    server_url: ServerOption = None,
) -> None:
    """Block until a run ends, printing its step events; exit 0 if it succeeded, 1 if not.

    Exit codes: 0 succeeded, 1 failed or cancelled, 2 unknown run or bad option, 124 the
    run was still going at --timeout (it goes on; wait again, or cancel it).
    """
    if output not in ("text", "json"):
        raise AlambicError(f"--output {output!r}: use text or json")
    limit = duration_option("--timeout", timeout)
    if server_url:
        raise typer.Exit(remote_wait(server_url, run_id, timeout=limit, quiet=quiet))
    every = duration_option("--progress-every", progress_every) or 10.0
    store = _store()
    record = store.get_run(run_id)
    write = EventWriter(as_json=output == "json")
    events = StepEvents(progress_every=every)
    deadline = None if limit is None else time.monotonic() + limit
    while True:
        record = store.get_run(record.id)  # before its steps: they are at least as late
        if not quiet:
            steps = store.step_runs(record.id)
            for event in [*events.observe(steps), *events.progress(steps)]:
                write(event)
        if record.finished:
            break
        if deadline is not None and time.monotonic() > deadline:
            errors.print(
                f"run {record.id} still {record.status} after {timeout}; wait again with "
                f"`alambic runs wait {record.id}`, or stop it with `alambic cancel {record.id}`",
                soft_wrap=True,
            )
            raise typer.Exit(TIMEOUT_EXIT)
        time.sleep(0.5)
    finished = get_run(record.id)
    if output == "json":
        write(summary_event(finished))
        if not finished.succeeded:
            raise typer.Exit(1)
        return
    _report(finished)


@pipelines_app.command("list")
@friendly
def pipelines_list() -> None:
    """List the pipelines that have run against this store."""
    from rich.table import Table

    table = Table(header_style="bold")
    for column in ("pipeline", "versions", "latest", "runs", "last run"):
        table.add_column(column)
    for row in _store().list_pipelines():
        table.add_row(
            row["name"],
            str(row["versions"]),
            row["hash"][:12],
            str(row["runs"]),
            render.when(row["last_run"]),
        )
    console.print(table)


@pipelines_app.command("show")
@friendly
def pipelines_show(
    name: Annotated[str, typer.Argument(help="A stored pipeline name, or path/to/file.py[:NAME].")],
    fmt: Annotated[str, typer.Option("--format", help="text, mermaid or json.")] = "text",
) -> None:
    """Draw a pipeline's DAG: its steps in order, fan-outs, conditions and inputs."""
    if name.endswith(".py") or ".py:" in name or ":" in name:
        graph = load_pipeline(name).graph
    else:
        graph = Graph.from_json(_store().latest_pipeline(name).definition)
    if fmt == "json":
        console.print_json(json.dumps(graph.to_json()))
    elif fmt == "mermaid":
        sys.stdout.write(graph.to_mermaid() + "\n")
    elif fmt == "text":
        console.print(render.params_table(graph.params))
        console.print(render.graph_table(graph))
    else:
        raise AlambicError(f"--format {fmt!r}: use text, mermaid or json")


@experiments_app.command("list")
@friendly
def experiments_list() -> None:
    """List experiments with their number of tracked runs."""
    from alambic.tracking import tracking_store

    console.print(render.experiments_table(tracking_store().list_experiments()))


@runs_app.command("compare")
@friendly
def runs_compare(
    run_ids: Annotated[
        list[str], typer.Argument(help="Tracked run ids: pipeline runs, step runs, trials.")
    ],
) -> None:
    """Compare tracked runs side by side: their params and metrics."""
    from alambic.tracking import get_tracked_run

    if len(run_ids) < 2:
        raise AlambicError("give at least two run ids to compare")
    console.print(render.compare_table([get_tracked_run(run_id) for run_id in run_ids]))


@db_app.command("upgrade")
@friendly
def db_upgrade() -> None:
    """Create the metadata database or migrate it to the newest schema."""
    from alambic.store import get_engine, upgrade

    engine = get_engine(settings().db_url, migrate=False)
    before, after = upgrade(engine)
    if before == after:
        console.print(f"database is up to date (revision {after})")
    else:
        console.print(f"database migrated from {before or 'empty'} to {after}")


app.command("serve")(serve)
app.command("server")(server)
app.command("batch")(batch)
app.command("automl")(automl)


def main() -> None:
    """Console-script entry point."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    app()
