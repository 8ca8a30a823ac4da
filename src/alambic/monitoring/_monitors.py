"""Monitors: stored, audited configurations that check an endpoint's (or a data source's)
recent data against a reference, and the runs they make.

A monitor names what it watches (an endpoint's capture, or a Parquet/CSV path), its
reference (by default the baseline of the model version the endpoint serves), the checks
to run (``drift``, ``quality``, ``performance`` once labels arrive, ``estimate`` before
they do), the window (``"24h"``) and chunk size (``"1h"``: drift, quality and estimated
performance over time), thresholds, and a severity per check (``warn`` or ``alert``).
:func:`run_monitor` evaluates it over the window ending now (or at ``until``): the run is
stored as ``running``, then its results (JSON) and its HTML report (an artifact) land
together with its status, ``ok``, ``warn``, ``alert`` or ``no_data``: each check's
severity when it finds a problem (drift: when the data set drifts, past ``drift_share``;
columns drifting alone warn). A run that is not ok says since when (``since``: the end of
the first window of its unbroken streak of warn and alert runs, and of the last ok run's).
A run killed halfway stays ``running`` with no report; running it again over the same
window gives the same results.

Example:
    >>> create_monitor("fraud-drift", endpoint="fraud", window="24h")  # doctest: +SKIP
    >>> run_monitor("fraud-drift").status  # doctest: +SKIP
    'ok'
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import re
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from alambic.data import Profile, profile
from alambic.errors import MonitoringError, NotFoundError, RegistryError
from alambic.monitoring._capture import capture, parse_period, parse_time, rejections
from alambic.monitoring._drift import DriftReport, drift, drift_over_time
from alambic.monitoring._profiles import on_executor, window_profile
from alambic.monitoring._quality import Violation, check
from alambic.monitoring._store import MonitorRecord, MonitorRunRecord, monitoring_store
from alambic.pipelines import step

__all__ = [
    "CHECKS",
    "create_monitor",
    "delete_monitor",
    "get_monitor",
    "list_monitors",
    "monitor_history",
    "monitor_step",
    "report_file",
    "run_monitor",
    "update_monitor",
]

CHECKS = ("drift", "quality", "performance", "estimate")
SEVERITIES = ("warn", "alert")
_DEFAULT_SEVERITY = {
    "drift": "alert",
    "quality": "warn",
    "performance": "alert",
    "estimate": "warn",
}
_RANK = {"ok": 0, "warn": 1, "alert": 2}
ESTIMATE_ROWS = 50  # a chunk's estimate is checked against the floors from this many rows
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")


def _actor() -> str:
    from alambic.registry import current_actor

    return current_actor()


def _config(
    *,
    endpoint: str | None,
    data: str | None,
    reference: str | None,
    checks: list[str] | tuple[str, ...],
    window: str,
    chunk: str | None,
    drift_options: dict[str, Any] | None,
    minimum: dict[str, float] | None,
    severity: dict[str, str] | None,
    calibration: str | None = None,
) -> dict[str, Any]:
    """A checked configuration (what the ``monitors`` table stores)."""
    if (endpoint is None) == (data is None):
        raise MonitoringError(
            "a monitor watches an endpoint (endpoint=) or a data source (data=): give one"
        )
    unknown = [c for c in checks if c not in CHECKS]
    if unknown or not checks:
        raise MonitoringError(f"unknown checks {unknown}; choose among {list(CHECKS)}")
    for needs_endpoint in ("performance", "estimate"):
        if needs_endpoint in checks and endpoint is None:
            raise MonitoringError(
                f"the {needs_endpoint} check reads an endpoint's scores and labels: give endpoint="
            )
    parse_period(window)
    if chunk is not None:
        parse_period(chunk)
    severities = {**_DEFAULT_SEVERITY, **(severity or {})}
    wrong = {k: v for k, v in severities.items() if k not in CHECKS or v not in SEVERITIES}
    if wrong:
        raise MonitoringError(f"severities {wrong}: each check's is warn or alert")
    if data is None and reference is None:
        reference = None  # the served model version's baseline, found at each run
    return {
        "endpoint": endpoint,
        "data": data,
        "reference": reference,
        "checks": list(checks),
        "window": window,
        "chunk": chunk,
        "drift": dict(drift_options or {}),
        "minimum": dict(minimum or {}),
        "severity": {k: severities[k] for k in CHECKS},
        "calibration": calibration,
    }


def create_monitor(
    name: str,
    *,
    endpoint: str | None = None,
    data: str | None = None,
    reference: str | None = None,
    checks: list[str] | tuple[str, ...] = ("drift", "quality"),
    window: str = "24h",
    chunk: str | None = None,
    drift_options: dict[str, Any] | None = None,
    minimum: dict[str, float] | None = None,
    severity: dict[str, str] | None = None,
    calibration: str | None = None,
) -> MonitorRecord:
    """Store a monitor (see the module's docstring).

    Args:
        name: the monitor's name.
        endpoint: the endpoint whose capture it watches; or ``data``: a Parquet/CSV path.
        reference: a model (``fraud@production``: its baseline) or a data/statistics.json
            path; default: the baseline of the version the endpoint serves.
        checks: among ``drift``, ``quality``, ``performance`` (realized, once labels
            arrive) and ``estimate`` (estimated from the scores before they do: CBPE).
        window: how far back each run looks (``"24h"``).
        chunk: a period (``"1h"``) for drift, realized quality and estimated performance
            over time, or None.
        drift_options: ``method``, ``threshold`` (one, or per column), ``drift_share``.
        minimum: the metrics' floors (``{"roc_auc": 0.8}``; a ceiling for a loss) that
            ``performance`` checks on the realized metrics and ``estimate`` on the
            estimated ones, chunk by chunk.
        severity: per check, ``warn`` or ``alert`` (drift and performance alert, quality
            and estimate warn, by default).
        calibration: what ``estimate`` calibrates the scores on: a model (``fraud/3``: the
            held-out scores registered with it) or a Parquet/CSV file of scores and a
            ``label`` column; default: those of the version the endpoint serves.

    Raises:
        MonitoringError: a configuration that cannot run (the message says what to fix).
        StoreError: a monitor of that name exists.
    """
    if not isinstance(name, str) or not NAME.fullmatch(name):
        raise MonitoringError(
            f"monitor name {name!r} is not allowed: use letters, digits, '.', '_' and '-' "
            f"(pattern {NAME.pattern})"
        )
    config = _config(
        endpoint=endpoint, data=data, reference=reference, checks=checks, window=window,
        chunk=chunk, drift_options=drift_options, minimum=minimum, severity=severity,
        calibration=calibration,
    )  # fmt: skip
    return monitoring_store().create_monitor(name, config, actor=_actor())


def update_monitor(name: str, **changes: Any) -> MonitorRecord:
    """Change some of a monitor's settings (the arguments of :func:`create_monitor`)."""
    store = monitoring_store()
    current = store.get_monitor(name).config
    keys = {"drift": "drift_options"}
    merged: dict[str, Any] = {"calibration": None}  # monitors stored before it lack it
    merged.update({keys.get(k, k): v for k, v in current.items()})
    unknown = [k for k in changes if k not in merged]
    if unknown:
        raise MonitoringError(f"unknown settings {unknown}; a monitor has {sorted(merged)}")
    merged.update(changes)
    return store.update_monitor(name, _config(**merged), actor=_actor())


def get_monitor(name: str) -> MonitorRecord:
    return monitoring_store().get_monitor(name)


def list_monitors() -> list[MonitorRecord]:
    return monitoring_store().list_monitors()


def delete_monitor(name: str) -> None:
    """Delete a monitor (audited); its runs stay readable by id, its gauges go."""
    store = monitoring_store()
    config = store.get_monitor(name).config
    store.delete_monitor(name, actor=_actor())
    if config["endpoint"]:
        from alambic.serving import publish_gauges

        publish_gauges(config["endpoint"], f"monitor-{name}", [])


def monitor_history(name: str, *, limit: int = 50) -> list[MonitorRunRecord]:
    """The monitor's runs, newest first."""
    get_monitor(name)
    return monitoring_store().runs(name, limit=limit)


def run_monitor(name: str, *, until: Any = None) -> MonitorRunRecord:
    """Run a monitor over its window ending ``until`` (default: now); the stored run.

    A check that fails for a reason other than the data (a reference that cannot be
    found, say) fails the run: it is stored as ``failed`` with the error, and raised.
    """
    from alambic.config import settings
    from alambic.monitoring._report import render
    from alambic.store import ArtifactStore

    store = monitoring_store()
    monitor = store.get_monitor(name)
    config = monitor.config
    end = parse_time(until) or datetime.now(UTC)
    start = end - parse_period(config["window"])
    run = store.start_run(monitor, since=start, until=end, actor=_actor())
    try:
        results, status = _evaluate(config, start, end)
        if status in ("warn", "alert"):
            results["since"] = _since(store.runs(name, limit=500), run.id, end)
        window = f"{_watched(config)} from {start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M} UTC"
        html = render(f"monitor {name}", status, results, window)
        key = ArtifactStore(settings().artifacts).put_bytes(html.encode())
        results = json.loads(json.dumps(results, default=_jsonable))
        finished = store.finish_run(run.id, status=status, results=results, report=key)
    except Exception as exc:
        store.finish_run(run.id, status="failed", results={}, report=None, error=str(exc)[:2000])
        raise
    if config["endpoint"]:
        from alambic.serving import publish_gauges

        publish_gauges(config["endpoint"], f"monitor-{name}", _gauges(name, finished))
    return finished


def _since(history: list[MonitorRunRecord], current: str, end: datetime) -> dict[str, Any]:
    """Since when the monitor has not been ok: the end of the window of the first run in
    the unbroken streak of warn and alert runs that this one closes (``first_seen``), and
    that of the last ok run before it (``last_ok``; None: none was). Runs still running,
    failed or with no data neither break the streak nor join it."""
    first_seen, last_ok = end, None
    for earlier in history:  # newest first
        if earlier.id == current or earlier.status in ("running", "failed", "no_data"):
            continue
        if earlier.window_until is None:
            break
        if earlier.status not in ("warn", "alert"):
            last_ok = earlier.window_until
            break
        first_seen = min(first_seen, earlier.window_until)

    def text(at: datetime | None) -> str | None:
        return None if at is None else at.astimezone(UTC).isoformat(timespec="minutes")

    return {"first_seen": text(first_seen), "last_ok": text(last_ok)}


@step(cache=False)  # a monitor looks at the data of now: each run runs it again
def monitor_step(name: str, *, until: str | None = None) -> dict[str, Any]:
    """Run the monitor ``name`` as a pipeline step: ``{"id", "status", "report",
    "report_key", "results"}`` (plain data, so later steps and ``al.when`` read it: a
    pipeline can go on to retrain only when ``status`` is ``alert``). From plain Python it
    runs at once.

    Example:
        >>> import alambic as al  # doctest: +SKIP
        >>> @al.pipeline  # doctest: +SKIP
        ... def nightly():
        ...     found = al.monitoring.monitor_step("fraud-health")
        ...     with al.when(found["status"] == "alert"):
        ...         retrain()
    """
    run = run_monitor(name, until=until)
    path = report_file(run)
    return {
        "id": run.id,
        "status": run.status,
        "report": None if path is None else str(path),  # a file of this machine
        "report_key": run.report,  # the artifact: readable wherever the store is
        "results": run.results,
    }


_STATUS_VALUE = {"ok": 0.0, "warn": 1.0, "alert": 2.0, "no_data": -1.0}


def _gauges(name: str, run: MonitorRunRecord) -> list[tuple[str, str, dict[str, str], float]]:
    """What ``/metrics`` of ``alambic serve`` shows of a run, for Prometheus alerts."""
    results, mine = run.results, {"monitor": name}
    at = (run.finished_at or run.started_at).timestamp()
    gauges = [
        ("alambic_monitor_status", "A monitor's last status: 0 ok, 1 warn, 2 alert, -1 no data.",
         mine, _STATUS_VALUE.get(run.status, -1.0)),
        ("alambic_monitor_last_run_timestamp_seconds", "When a monitor last ran.", mine, at),
    ]  # fmt: skip
    drift = results.get("drift") or {}
    if drift:
        gauges.append(
            ("alambic_monitor_drift_share", "The share of drifted features.", mine, drift["share"])
        )
    for column in drift.get("columns", []):
        labels = {**mine, "column": column["column"], "method": column["method"]}
        if isinstance(column["statistic"], float):
            gauges.append(
                (
                    "alambic_monitor_drift_statistic",
                    "A column's drift statistic.",
                    labels,
                    column["statistic"],
                )
            )
        gauges.append(
            (
                "alambic_monitor_column_drifted",
                "1 when a column drifted.",
                labels,
                float(column["drifted"]),
            )
        )
    counts: dict[str, int] = {}
    for violation in results.get("quality") or []:
        counts[violation["constraint_check_type"]] = (
            counts.get(violation["constraint_check_type"], 0) + 1
        )
    for check_type, n in counts.items():
        gauges.append(
            (
                "alambic_monitor_violations",
                "Quality violations by check.",
                {**mine, "check": check_type},
                float(n),
            )
        )
    groups = (results.get("performance") or {}).get("groups", {})
    for group, quality in groups.items():
        for metric, value in quality.get("metrics", {}).items():
            labels = {**mine, "group": group, "metric": metric}
            gauges.append(("alambic_monitor_quality", "A realized quality metric.", labels, value))
    chunks = (results.get("estimate") or {}).get("chunks") or []
    for metric, value in (chunks[-1]["estimated"] if chunks else {}).items():
        labels = {**mine, "metric": metric}
        gauges.append(
            ("alambic_monitor_estimated", "A metric estimated before labels (last chunk).",
             labels, value)
        )  # fmt: skip
    return gauges


def report_file(run: MonitorRunRecord) -> Path | None:
    """A run's HTML report as a local file, ``<home>/reports/RUN.html`` (None: no report,
    a run that failed or is still running)."""
    from alambic.config import settings
    from alambic.store import ArtifactStore

    if not run.report:
        return None
    folder = Path(settings().home) / "reports"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{run.id}.html"
    if not path.exists():
        tmp = path.with_suffix(f".{uuid.uuid4().hex[:8]}.tmp")  # runs may race: one wins
        tmp.write_bytes(ArtifactStore(settings().artifacts).get_bytes(run.report))
        tmp.replace(path)  # a reader never opens half a file
    return path


def _watched(config: dict[str, Any]) -> str:
    if config["endpoint"]:
        return f"endpoint {config['endpoint']}"
    return f"data {config['data']}"


def _jsonable(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    return str(value)


def _reference(config: dict[str, Any]) -> Profile:
    from alambic.monitoring._baseline import baseline_of

    ref = config["reference"]
    if ref is None:
        from alambic.serving import get_endpoint

        variants = get_endpoint(config["endpoint"]).variants  # the champion: most traffic
        return baseline_of(max(variants, key=lambda v: v.weight).model)
    path = Path(ref)
    if path.suffix == ".json" and path.is_file():
        return Profile.from_dict(json.loads(path.read_text()))
    if path.exists():
        return profile(path, runner=on_executor)  # training data: profiled at each run
    try:
        return baseline_of(ref)
    except (NotFoundError, RegistryError) as exc:
        raise MonitoringError(
            f"cannot find the reference {ref!r}: not a file, nor a model with a baseline ({exc})"
        ) from None


def _evaluate(config: dict[str, Any], start: datetime, end: datetime) -> tuple[dict[str, Any], str]:
    """Every check's results, and the run's status."""
    reference = _reference(config)
    if config["endpoint"]:
        window = capture(config["endpoint"], since=start, until=end)
        current = window_profile(window)  # whole hours: profiled once, then read back
    else:
        window, current = None, profile(config["data"], runner=on_executor)
    if current.rows == 0:
        where = str(window) if window is not None else config["data"]
        return {"no_data": f"no rows in {where}"}, "no_data"
    # the capture's outputs are checked only where the reference has them too
    outputs = [c for c in current.columns if _is_output(c) and c not in reference.columns]
    for name in outputs:
        del current.columns[name]
    results: dict[str, Any] = {"rows": current.rows}
    levels = ["ok"]
    state = _Run(config, reference, current, window, results)
    for name, finds in (
        ("drift", _drift_check),
        ("quality", _quality_check),
        ("performance", _performance_check),
        ("estimate", _estimate_check),
    ):
        if name in config["checks"] and finds(state):
            levels.append(config["severity"][name])
    if (results.get("drift") or {}).get("drifted"):
        levels.append("warn")  # some columns drifted, not the data set (see drift_share)
    return results, max(levels, key=_RANK.__getitem__)


@dataclasses.dataclass
class _Run:
    """What every check of a monitor run reads, and the results it adds to."""

    config: dict[str, Any]
    reference: Profile
    current: Profile
    window: Any  # the capture window, or None for a data source
    results: dict[str, Any]


def _drift_check(run: _Run) -> bool:
    options = run.config["drift"]
    report = drift(run.reference, run.current, **options)
    run.results["drift"] = report.to_dict()
    run.results["distributions"] = _distributions(run.reference, run.current, report)
    if run.config["chunk"] and run.window is not None:
        run.results["drift_over_time"] = _over_time(
            run.reference, run.window, run.config["chunk"], options
        )
    return bool(report.dataset_drift)


def _quality_check(run: _Run) -> bool:
    violations = check(run.current, run.reference, drift_check=False)
    if run.window is not None:  # what serving refused never reached the capture: count it here
        refused = rejections(run.window)
        total = sum(r["count"] for r in refused)
        for r in refused:
            violations.append(
                Violation(
                    r["field"],
                    "rejected_requests_check",
                    f"{r['count']} requests refused for {r['field']} ({r['reason']})",
                    observed=r["count"],
                    expected=0,
                    share=r["count"] / (run.current.rows + total),
                )
            )
    run.results["quality"] = [v.to_dict() for v in violations]
    return bool(violations)


def _performance_check(run: _Run) -> bool:
    from alambic.monitoring._performance import performance

    if run.window is None:
        return False
    quality = performance(run.window).to_dict()
    run.results["performance"] = quality
    run.results["performance_problems"] = _below(quality, run.config["minimum"])
    if run.config["chunk"]:  # quality over time: each chunk's metrics with their intervals
        run.results["performance_over_time"] = [
            {"chunk": part.since.isoformat(timespec="minutes"), **found["groups"]["all"]}
            for part in run.window.chunks(run.config["chunk"])
            for found in [performance(part, n_boot=100).to_dict()]
            if "all" in found["groups"]
        ]
    return bool(run.results["performance_problems"])


def _estimate_check(run: _Run) -> bool:
    """CBPE over the window's rows that the calibrated model answered, chunk by chunk,
    against the floors in ``minimum``."""
    from alambic.monitoring._estimate import estimate

    if run.window is None:
        return False
    calibration, model = _calibration(run.config)
    found = estimate(calibration, run.window, chunk=run.config["chunk"], model=model).to_dict()
    run.results["estimate"] = found
    found["model"] = model  # whose rows were estimated, as resolved for this run
    problems = []
    for chunk in found["chunks"]:
        if chunk["rows"] < ESTIMATE_ROWS:  # too few rows to say much: shown, not checked
            continue
        worse = _below({"groups": {"all": {"metrics": chunk["estimated"]}}}, run.config["minimum"])
        problems += [f"estimated {problem} ({chunk['chunk']})" for problem in worse]
    run.results["estimate_problems"] = problems
    return bool(problems)


def _calibration(config: dict[str, Any]) -> tuple[Any, str | None]:
    """The labelled scores the estimate calibrates on (see :func:`create_monitor`), and
    the model version they are of (whose rows are estimated; None: a file's, every row)."""
    import pandas as pd

    from alambic.monitoring._baseline import calibration_of
    from alambic.registry import resolve

    ref = config.get("calibration")
    if ref is None:
        from alambic.serving import get_endpoint

        variants = get_endpoint(config["endpoint"]).variants  # the champion: most traffic
        ref = max(variants, key=lambda v: v.weight).model
    elif Path(ref).is_file():
        path = Path(ref)
        return (pd.read_csv(path) if path.suffix == ".csv" else pd.read_parquet(path)), None
    try:
        return calibration_of(ref), resolve(ref).ref
    except (NotFoundError, RegistryError) as exc:
        raise MonitoringError(
            f"cannot find the calibration {ref!r}: not a file, nor a model ({exc})"
        ) from None


def _is_output(column: str) -> bool:
    return column in ("prediction", "score") or re.fullmatch(r"proba_\d+", column) is not None


def _below(quality: dict[str, Any], minimum: dict[str, float]) -> list[str]:
    """The metrics past their limit: a floor where higher is better (roc_auc), a ceiling
    where lower is (log_loss, rmse)."""
    from alambic.evaluation import METRICS

    found = quality.get("groups", {}).get("all", {}).get("metrics", {})
    problems = []
    for metric, limit in minimum.items():
        if metric not in found:
            continue
        higher = METRICS.get(metric, ("", True))[1]
        if higher and found[metric] < limit:
            problems.append(f"{metric} is {found[metric]:.4g}, under its floor of {limit}")
        elif not higher and found[metric] > limit:
            problems.append(f"{metric} is {found[metric]:.4g}, over its ceiling of {limit}")
    return problems


def _over_time(
    reference: Profile, window: Any, chunk: str, options: dict[str, Any]
) -> list[dict[str, Any]]:
    return [
        {
            "chunk": start,
            "status": report.status,
            "share": report.share,
            "drifted": report.drifted,
            "statistics": {c.column: c.statistic for c in report.columns},
        }
        for start, report in drift_over_time(reference, window, chunk, **options)
    ]


def _distributions(reference: Profile, current: Profile, report: DriftReport) -> dict[str, Any]:
    """Reference and current shares per bin (deciles, or the top categories) per column."""
    out: dict[str, Any] = {}
    for result in report.columns:
        ref, cur = reference.columns.get(result.column), current.columns.get(result.column)
        if ref is None or cur is None or not ref.finite or not cur.finite:
            continue
        if ref.numeric and cur.numeric:
            edges = sorted(set(ref.kll.get_quantiles([i / 10 for i in range(11)])))
            if len(edges) < 2:
                continue
            labels = [f"{a:.4g}–{b:.4g}" for a, b in itertools.pairwise(edges)]
            out[result.column] = {
                "labels": labels,
                "reference": ref.histogram(edges),
                "current": cur.histogram(edges),
            }
        elif not ref.numeric and not cur.numeric:
            top = [v for v, _ in ref.top(9)]
            shares = []
            for column in (ref, cur):
                counts = dict(column.top(10_000))
                values = [counts.get(v, 0) / column.present for v in top]
                shares.append([*values, max(0.0, 1 - sum(values))])
            out[result.column] = {
                "labels": [*top, "other"],
                "reference": shares[0],
                "current": shares[1],
            }
    return out
