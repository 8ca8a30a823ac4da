"""``alambic monitors …``: create, run and read monitors (drift, quality, performance,
estimated performance)."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.table import Table

from alambic.cli._common import console, friendly
from alambic.cli._render import when

monitors_app = typer.Typer(
    help="Monitors: drift, data quality and model quality of an endpoint or a data source.",
    no_args_is_help=True,
)

Name = Annotated[str, typer.Argument(help="Monitor name.")]
Endpoint = Annotated[str | None, typer.Option(help="Endpoint whose capture it watches.")]
Data = Annotated[str | None, typer.Option(help="Or a Parquet/CSV file or folder to watch.")]
Reference = Annotated[
    str | None,
    typer.Option(help="A model (its baseline), or a data or statistics.json path; default: "
                 "the baseline of the version the endpoint serves."),
]  # fmt: skip
Checks = Annotated[
    str | None, typer.Option(help="Comma-separated: drift, quality, performance, estimate.")
]
Calibration = Annotated[
    str | None,
    typer.Option(help="What the estimate calibrates on: a model (its held-out scores) or a "
                 "file of scores and labels; default: the served version's."),
]  # fmt: skip
Window = Annotated[str | None, typer.Option(help="How far back each run looks: 24h, 7d…")]
Chunk = Annotated[
    str | None,
    typer.Option(help="A period (1h, 1d…) for drift, quality and estimates over time."),
]
Thresholds = Annotated[
    list[str] | None,
    typer.Option(
        "--threshold",
        "-t",
        help="drift_share=0.5, COLUMN=0.2 (a drift threshold) or min.roc_auc=0.8; repeatable.",
    ),
]
Methods = Annotated[
    list[str] | None, typer.Option("--method", "-m", help="[COLUMN=]ks|wasserstein|psi|…")
]
Severity = Annotated[
    list[str] | None, typer.Option("--severity", help="CHECK=warn|alert, e.g. quality=alert.")
]


def _options(
    thresholds: list[str] | None, methods: list[str] | None, severity: list[str] | None
) -> dict[str, Any]:
    """The CLI's ``key=value`` options as :func:`create_monitor`'s arguments."""
    from alambic.errors import MonitoringError

    drift: dict[str, Any] = {}
    minimum: dict[str, float] = {}
    column_thresholds: dict[str, float] = {}
    for item in thresholds or []:
        key, sep, value = item.partition("=")
        if not sep:
            raise MonitoringError(f"--threshold {item!r}: write KEY=VALUE (drift_share=0.5)")
        try:
            number = float(value)
        except ValueError:
            raise MonitoringError(f"--threshold {item!r}: {value!r} is not a number") from None
        if key == "drift_share":
            drift["drift_share"] = number
        elif key.startswith("min."):
            minimum[key[4:]] = number
        else:
            column_thresholds[key] = number
    if column_thresholds:
        drift["threshold"] = column_thresholds
    chosen: dict[str, str] = {}
    for item in methods or []:
        key, sep, value = item.partition("=")
        if sep:
            chosen[key] = value
        else:
            drift["method"] = item
    if chosen:
        drift["method"] = chosen
    levels = dict(item.partition("=")[::2] for item in severity or [])
    return {"drift_options": drift, "minimum": minimum, "severity": levels}


@monitors_app.command("create")
@friendly
def monitors_create(
    name: Name,
    *,
    endpoint: Endpoint = None,
    data: Data = None,
    reference: Reference = None,
    checks: Checks = None,
    window: Window = None,
    chunk: Chunk = None,
    threshold: Thresholds = None,
    method: Methods = None,
    severity: Severity = None,
    calibration: Calibration = None,
) -> None:
    """Store a monitor (audited); `alambic monitors run NAME` runs it."""
    from alambic.monitoring import create_monitor

    record = create_monitor(
        name,
        endpoint=endpoint,
        data=data,
        reference=reference,
        checks=tuple((checks or "drift,quality").split(",")),
        window=window or "24h",
        chunk=chunk,
        calibration=calibration,
        **_options(threshold, method, severity),
    )
    console.print(f"created monitor {record.name}: {_describe(record.config)}")


@monitors_app.command("update")
@friendly
def monitors_update(
    name: Name,
    *,
    reference: Reference = None,
    checks: Checks = None,
    window: Window = None,
    chunk: Chunk = None,
    threshold: Thresholds = None,
    method: Methods = None,
    severity: Severity = None,
    calibration: Calibration = None,
) -> None:
    """Change a monitor's settings (audited)."""
    from alambic.monitoring import get_monitor, update_monitor

    current = get_monitor(name).config
    changes: dict[str, Any] = {}
    given = {"reference": reference, "window": window, "chunk": chunk, "calibration": calibration}
    for key, value in given.items():
        if value is not None:
            changes[key] = value
    if checks is not None:
        changes["checks"] = checks.split(",")
    options = _options(threshold, method, severity)
    if threshold or method:
        changes["drift_options"] = {**current["drift"], **options["drift_options"]}
        changes["minimum"] = {**current["minimum"], **options["minimum"]}
    if severity:
        changes["severity"] = {**current["severity"], **options["severity"]}
    record = update_monitor(name, **changes)
    console.print(
        f"updated monitor {record.name} (rev {record.revision}): {_describe(record.config)}"
    )


def _describe(config: dict[str, Any]) -> str:
    watched = f"endpoint {config['endpoint']}" if config["endpoint"] else f"data {config['data']}"
    return f"{'+'.join(config['checks'])} on {watched}, window {config['window']}"


@monitors_app.command("list")
@friendly
def monitors_list() -> None:
    """List monitors with their last run."""
    from alambic.monitoring import list_monitors, monitor_history

    table = Table(header_style="bold")
    for column in ("monitor", "watches", "checks", "window", "last run", "status"):
        table.add_column(column)
    for record in list_monitors():
        runs = monitor_history(record.name, limit=1)
        config = record.config
        table.add_row(
            record.name,
            config["endpoint"] or config["data"],
            ", ".join(config["checks"]),
            config["window"],
            when(runs[0].started_at) if runs else "never",
            _status(runs[0].status) if runs else "",
        )
    console.print(table)


def _status(status: str) -> str:
    colour = {"ok": "green", "warn": "yellow", "alert": "red"}.get(status, "dim")
    return f"[{colour}]{status}[/{colour}]"


@monitors_app.command("show")
@friendly
def monitors_show(name: Name) -> None:
    """A monitor's configuration and its recent runs."""
    from alambic.monitoring import get_monitor

    record = get_monitor(name)
    console.print(f"monitor {name} (rev {record.revision}, by {record.updated_by})")
    console.print_json(json.dumps(record.config))
    _runs(name, 10)


def _runs(name: str, limit: int) -> None:
    from alambic.monitoring import monitor_history

    table = Table(header_style="bold", title=f"runs of monitor {name}")
    for column in ("run", "started", "window", "status", "what"):
        table.add_column(column)
    for run in monitor_history(name, limit=limit):
        window = f"{when(run.window_since)} → {when(run.window_until)}"
        table.add_row(run.id, when(run.started_at), window, _status(run.status), _headline(run))
    console.print(table)


def _headline(run: Any) -> str:
    results = run.results or {}
    if run.status == "failed":
        return str(run.error)[:120]
    if "no_data" in results:
        return str(results["no_data"])
    parts = []
    drifted = (results.get("drift") or {}).get("drifted") or []
    if drifted:
        parts.append(f"drift: {', '.join(drifted[:6])}{'…' if len(drifted) > 6 else ''}")
    if results.get("quality"):
        parts.append(f"{len(results['quality'])} quality violations")
    parts += results.get("performance_problems") or []
    parts += results.get("estimate_problems") or []
    if (results.get("since") or {}).get("first_seen"):
        parts.append(f"not ok since the run ending {results['since']['first_seen']}")
    return "; ".join(parts) or "nothing wrong"


@monitors_app.command("history")
@friendly
def monitors_history(
    name: Name, limit: Annotated[int, typer.Option(help="Runs shown, newest first.")] = 50
) -> None:
    """A monitor's runs, newest first (a run killed halfway shows as running)."""
    _runs(name, limit)


@monitors_app.command("run")
@friendly
def monitors_run(
    name: Name,
    until: Annotated[str | None, typer.Option(help="The window's end (default: now).")] = None,
    output: Annotated[str, typer.Option(help="text or json.")] = "text",
) -> None:
    """Run a monitor now; exit 0 (ok, warn, no data) or 1 (alert)."""
    from alambic.monitoring import run_monitor

    run = run_monitor(name, until=until)
    if output == "json":
        typer.echo(json.dumps(_run_dict(run), default=str))
    else:
        console.print(f"monitor {name}: {_status(run.status)} — {_headline(run)}")
        console.print(f"report: {_report_path(run)}")
        console.print(f"run: {run.id} (alambic monitors report {run.id})")
    if run.status == "alert":
        raise typer.Exit(1)


def _run_dict(run: Any) -> dict[str, Any]:
    return {
        "id": run.id,
        "monitor": run.monitor,
        "status": run.status,
        "window": [run.window_since, run.window_until],
        "report": _report_path(run),
        "results": run.results,
    }


def _report_path(run: Any) -> str:
    from alambic.monitoring import report_file

    path = report_file(run)
    return "none" if path is None else str(path)


@monitors_app.command("report")
@friendly
def monitors_report(
    run_id: Annotated[str, typer.Argument(help="A run id (from history).")],
    output: Annotated[str, typer.Option(help="text, json or html (the file's path).")] = "text",
) -> None:
    """A run's results: Rich tables, JSON for tools, or the HTML report's path."""
    from alambic.monitoring import monitoring_store

    run = monitoring_store().get_run(run_id)
    if output == "json":
        typer.echo(json.dumps(_run_dict(run), default=str))
        return
    if output == "html":
        typer.echo(_report_path(run))
        return
    console.print(f"monitor {run.monitor}, run {run.id}: {_status(run.status)} — {_headline(run)}")
    _drift_table(run.results.get("drift") or {})
    _violations(run.results.get("quality") or [])
    _estimates(run.results.get("estimate") or {})
    console.print(f"report: {_report_path(run)}")


def _estimates(found: dict[str, Any]) -> None:
    """Estimated against realized metrics, chunk by chunk."""
    if not found.get("chunks"):
        return
    table = Table(header_style="bold", title="estimated performance (95% band) and realized")
    for column in ("chunk", "rows", "metric", "estimated", "band", "realized"):
        table.add_column(column)
    for chunk in found["chunks"]:
        for metric, value in chunk["estimated"].items():
            low, high = chunk["band"].get(metric, [None, None])
            realized = chunk["realized"].get(metric)
            table.add_row(
                chunk["chunk"], str(chunk["rows"]), metric, f"{value:.4f}",
                "—" if low is None else f"{low:.4f}–{high:.4f}",
                "—" if realized is None else f"{realized:.4f}",
            )  # fmt: skip
    console.print(table)


def _drift_table(drift: dict[str, Any]) -> None:
    if not drift.get("columns"):
        return
    table = Table(header_style="bold", title=f"drift (share {drift['share']:.0%})")
    for column in ("column", "test", "statistic", "threshold", "verdict"):
        table.add_column(column)
    for c in drift["columns"]:
        stat = c["statistic"]
        shown = f"{stat:.4g}" if isinstance(stat, float) else str(stat)
        table.add_row(c["column"], c["method"], shown, f"{c['threshold']:g}", _status(c["status"]))
    console.print(table)


def _violations(violations: list[dict[str, Any]]) -> None:
    if not violations:
        return
    table = Table(header_style="bold", title="data quality")
    for column in ("column", "check", "share", "what"):
        table.add_column(column)
    for v in violations:
        share = "" if v.get("share") is None else f"{v['share']:.1%}"
        table.add_row(v["feature_name"], v["constraint_check_type"], share, v["description"])
    console.print(table)


@monitors_app.command("delete")
@friendly
def monitors_delete(name: Name) -> None:
    """Delete a monitor (audited; its runs stay readable by id)."""
    from alambic.monitoring import delete_monitor

    delete_monitor(name)
    console.print(f"deleted monitor {name}")
