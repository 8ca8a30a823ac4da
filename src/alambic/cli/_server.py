"""``alambic server`` (the control plane), ``alambic schedules``, and calls to a server.

``alambic submit --server URL`` and ``alambic runs wait RUN --server URL`` use the
server's REST API with the token in ``ALAMBIC_TOKEN``, so that a CI job needs neither
the project's database nor its code.
"""

from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.request
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from alambic.cli._common import console, errors, friendly
from alambic.errors import AlambicError

__all__ = ["ParamOption", "pair", "remote_submit", "remote_wait", "schedules_app", "server", "when"]

schedules_app = typer.Typer(
    help="Schedules: start pipelines or monitors on a cron or an interval "
    "(alambic server fires them).",
    no_args_is_help=True,
)


@friendly
def server(
    *,
    host: Annotated[str, typer.Option(help="Address to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="Port.")] = 8090,
    workers: Annotated[int, typer.Option("--workers", "-w", min=1, help="Processes.")] = 1,
    project: Annotated[
        Path | None, typer.Option(help="The folder pipelines are named in (default: here).")
    ] = None,
    loops: Annotated[
        bool, typer.Option("--loops/--no-loops", help="Run the scheduler (--no-loops: API only).")
    ] = True,
    log_level: Annotated[str, typer.Option(help="debug, info, warning.")] = "info",
) -> None:
    """Run the control plane: the REST API under /api/v1 and the scheduler.

    Runs it starts are processes of their own: stopping or restarting the server does not
    stop them. Several servers may share one PostgreSQL database (one runs the scheduler
    at a time, another takes over when it dies); on SQLite, one server runs the loops.
    """
    import logging

    from alambic.server import serve_control_plane

    logging.basicConfig(
        level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    serve_control_plane(
        host=host, port=port, workers=workers, project=project, loops=loops, log_level=log_level
    )


# -- schedules -----------------------------------------------------------------------------
ParamOption = Annotated[
    list[str] | None,
    typer.Option(
        "--param", "-p", help="key=value; values may use {{ fire_time }}, {{ window_start }}."
    ),
]


@schedules_app.command("create")
@friendly
def schedules_create(
    name: Annotated[str, typer.Argument(help="The schedule's name.")],
    target: Annotated[
        str | None, typer.Argument(help="path/to/file.py:PIPELINE (or --monitor NAME).")
    ] = None,
    *,
    cron: Annotated[str | None, typer.Option(help="Five fields, e.g. '0 */6 * * *'.")] = None,
    every: Annotated[str | None, typer.Option(help="An interval instead: 30m, 6h, 1d.")] = None,
    tz: Annotated[str, typer.Option("--tz", help="Time zone of --cron (IANA).")] = "UTC",
    param: ParamOption = None,
    monitor: Annotated[str | None, typer.Option(help="Run this monitor instead.")] = None,
    catchup: Annotated[
        str, typer.Option(help="Fires missed while no server ran: skip, once, all.")
    ] = "once",
    concurrency: Annotated[
        str, typer.Option(help="When the previous run still runs: skip, queue, allow.")
    ] = "skip",
    paused: Annotated[bool, typer.Option(help="Make it paused.")] = False,
) -> None:
    """Make a schedule; everything is checked first (nothing is stored when it fails)."""
    from alambic.triggers import next_fires, schedule, timing_of

    params = dict(pair(text) for text in param or [])
    made = schedule(
        name, target, monitor=monitor, cron=cron, every=every, timezone=tz, params=params,
        texts=True, catchup=catchup, concurrency=concurrency, paused=paused,
    )  # fmt: skip
    upcoming = next_fires(made, 1)
    next_text = f"; next fire {when(upcoming[0])}" if upcoming else " (paused)"
    console.print(f"schedule {made.name}: {timing_of(made).describe()}{next_text}")


def pair(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise AlambicError(f"-p {text!r}: use key=value")
    return key.strip(), value


def when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC") if moment else "—"


def _what(target: dict[str, Any]) -> str:
    if target["kind"] == "monitor":
        return f"monitor {target['monitor']}"
    params = " ".join(f"{k}={v}" for k, v in (target.get("params") or {}).items())
    return f"{target['ref']} {params}".strip()


@schedules_app.command("list")
@friendly
def schedules_list(
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Every schedule, with its next fire times."""
    from alambic.triggers import list_schedules, next_fires, timing_of

    records = list_schedules()
    if as_json:
        data = [
            {"name": r.name, "target": r.target, "timing": timing_of(r).describe(),
             "paused": r.paused, "next_fires": [t.isoformat() for t in next_fires(r, 3)]}
            for r in records
        ]  # fmt: skip
        console.print_json(json.dumps(data))
        return
    table = Table(title="schedules", title_justify="left")
    for column in ("name", "starts", "when", "next fires", "policies"):
        table.add_column(column)
    for r in records:
        fires = "\n".join(when(t) for t in next_fires(r, 3)) or "paused"
        policies = f"catch-up {r.catchup}, concurrency {r.concurrency}"
        table.add_row(r.name, _what(r.target), timing_of(r).describe(), fires, policies)
    console.print(table if records else "no schedules; make one with `alambic schedules create`")


@schedules_app.command("show")
@friendly
def schedules_show(
    name: Annotated[str, typer.Argument(help="The schedule's name.")],
    limit: Annotated[int, typer.Option(min=1, help="Fires to show.")] = 20,
) -> None:
    """A schedule and its history: each fire, the run it started, its outcome."""
    from alambic.config import settings
    from alambic.pipelines import RunStore
    from alambic.triggers import get_schedule, next_fires, schedule_history, timing_of

    record = get_schedule(name)
    state = (
        "paused" if record.paused else f"next fire {when(next(iter(next_fires(record, 1)), None))}"
    )
    console.print(Text(f"schedule {record.name}: {_what(record.target)}", style="bold"))
    console.print(f"{timing_of(record).describe()}; {state}")
    console.print(f"catch-up {record.catchup}, concurrency {record.concurrency}; "
                  f"revision {record.revision} by {record.updated_by}")  # fmt: skip
    fires = schedule_history(name, limit=limit)
    states = RunStore.open(settings().db_url).run_states([f.run_id for f in fires if f.run_id])
    table = Table(title="fires (newest first)", title_justify="left")
    for column in ("due", "fire", "run", "run status", "note"):
        table.add_column(column)
    for f in fires:
        run_state = states.get(f.run_id or "", "") if f.status == "started" else ""
        run = f.run_id if f.status == "started" else ""
        table.add_row(when(f.fire_time), f.status, run or "", run_state, f.reason)
    console.print(table if fires else "no fires yet")


def _change(verb: str, name: str) -> None:
    from alambic import triggers

    changed = getattr(triggers, f"{verb}_schedule")(name)
    console.print(f"schedule {changed.name} {'paused' if changed.paused else 'active'}")


@schedules_app.command("pause")
@friendly
def schedules_pause(name: Annotated[str, typer.Argument(help="The schedule's name.")]) -> None:
    """Stop a schedule's fires until it is resumed."""
    _change("pause", name)


@schedules_app.command("resume")
@friendly
def schedules_resume(name: Annotated[str, typer.Argument(help="The schedule's name.")]) -> None:
    """Fire again, from the next due time after now."""
    _change("resume", name)


@schedules_app.command("delete")
@friendly
def schedules_delete(name: Annotated[str, typer.Argument(help="The schedule's name.")]) -> None:
    """Delete a schedule; runs it started go on."""
    from alambic.triggers import delete_schedule

    delete_schedule(name)
    console.print(f"schedule {name} deleted")


# -- calls to a server ---------------------------------------------------------------------
def _call(server_url: str, method: str, path: str, body: Any = None) -> Any:
    """One JSON call to a control plane, with ``ALAMBIC_TOKEN``; errors become AlambicError."""
    token = os.environ.get("ALAMBIC_TOKEN", "").strip()
    if not token:
        raise AlambicError(
            "set ALAMBIC_TOKEN to a token of the server (`alambic tokens create ci --scope run`)"
        )
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(  # noqa: S310 - the user's server URL
        server_url.rstrip("/") + path,
        data=data,
        method=method,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            return json.loads(response.read() or b"null")
    except urllib.error.HTTPError as exc:
        try:
            detail = json.loads(exc.read()).get("detail")
        except (ValueError, AttributeError):
            detail = exc.reason
        raise AlambicError(f"the server answered {exc.code}: {detail}") from None
    except (urllib.error.URLError, OSError) as exc:
        raise AlambicError(
            f"cannot reach the server at {server_url}: {exc}; is it running?"
        ) from None


def remote_submit(server_url: str, target: str, params: list[str], *, cache: bool) -> None:
    """``alambic submit --server URL``: start the run on the server, print its id."""
    body = {
        "pipeline": target,
        "params": dict(pair(p) for p in params),
        "texts": True,
        "cache": cache,
    }
    run = _call(server_url, "POST", "/api/v1/runs", body)
    console.print(run["id"])
    errors.print(
        f"wait for it with: alambic runs wait {run['id']} --server {server_url}", style="dim"
    )


def remote_wait(server_url: str, run_id: str, *, timeout: float | None, quiet: bool) -> int:
    """``alambic runs wait RUN --server URL``: poll until the run ends; the exit code."""
    deadline = None if timeout is None else time.monotonic() + timeout
    seen: dict[str, str] = {}
    while True:
        run = _call(server_url, "GET", f"/api/v1/runs/{run_id}")
        for step in run["steps"]:
            if not quiet and seen.get(step["name"]) != step["status"]:
                seen[step["name"]] = step["status"]
                stamp = time.strftime("%H:%M:%S")
                note = f": {step['error']}" if step.get("error") else ""
                console.print(f"{stamp} {step['name']} {step['status']}{note}", soft_wrap=True)
        if run["status"] in ("succeeded", "failed", "cancelled"):
            style = "green" if run["status"] == "succeeded" else "red"
            console.print(Text(f"run {run['id']} {run['status']}", style=style))
            if run.get("error"):
                console.print(Text(run["error"], style="red"))
            return 0 if run["status"] == "succeeded" else 1
        if deadline is not None and time.monotonic() > deadline:
            errors.print(f"run {run['id']} still {run['status']}; wait again, or cancel it")
            return 124
        time.sleep(1.0)
