"""Schedules, from Python (the CLI and the server's API call the same functions).

A schedule starts a pipeline (``path/to/file.py:NAME`` with parameters) or runs a
monitor, on a cron expression in a time zone or at a fixed interval. ``alambic server``
makes its fires. Everything is checked when the schedule is made (the expression, the
time zone, the pipeline and each parameter against its type, templates rendered for a
sample fire): a schedule that is stored can fire. Every change is audited.

Example:
    >>> import alambic as al
    >>> import pandas as pd
    >>> from sklearn.linear_model import LogisticRegression
    >>> from alambic.triggers import schedule, list_schedules, next_fires
    >>> x, y = pd.DataFrame({"price": [0.0, 1.0]}), pd.Series([0, 1])
    >>> model = al.models.package(LogisticRegression().fit(x, y), x, y)
    >>> v = al.register(model, "shop-model")["version"]
    >>> _ = al.registry.approve("shop-model", v)
    >>> al.registry.promote("shop-model", v, to="production")
    >>> _ = al.serving.create_endpoint("shop", variants=["shop-model@production"])
    >>> _ = al.monitoring.create_monitor("shop-drift", endpoint="shop", window="1d")
    >>> made = schedule("shop-drift-hourly", monitor="shop-drift", every="1h")
    >>> [s.name for s in list_schedules()], made.catchup, made.concurrency
    (['shop-drift-hourly'], 'once', 'skip')
    >>> len(next_fires(made, 3))
    3
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from typing import Any

from alambic.core import utcnow
from alambic.errors import TriggerError
from alambic.triggers._store import FireRecord, ScheduleRecord, triggers_store
from alambic.triggers._timing import Timing, render, uses_fire_time

__all__ = [
    "CATCHUP",
    "CONCURRENCY",
    "delete_schedule",
    "get_schedule",
    "list_schedules",
    "next_fires",
    "pause_schedule",
    "resume_schedule",
    "schedule",
    "schedule_history",
    "timing_of",
]

CATCHUP = ("skip", "once", "all")
CONCURRENCY = ("skip", "queue", "allow")
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")


def actor() -> str:
    from alambic.registry import current_actor

    return current_actor()


def _choice(what: str, value: str, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise TriggerError(f"{what} {value!r} is unknown; use one of: {', '.join(choices)}")
    return value


def timing_of(record: ScheduleRecord) -> Timing:
    """When a stored schedule fires."""
    return Timing(
        cron=record.cron,
        every_seconds=record.every_seconds,
        timezone=record.timezone,
        anchor=record.created_at,
    )


def pipeline_target(
    pipeline: str,
    params: dict[str, Any],
    *,
    texts: bool,
    cwd: str | Path | None,
    timing: Timing | None = None,
    sample: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Check a pipeline and its parameters, templates rendered for a sample fire (with
    ``sample`` values for an event's names); what a schedule or a trigger stores."""
    from alambic.pipelines import check_params, describe

    described = describe(pipeline, cwd=cwd)
    moment = timing.next_after(utcnow()) if timing else utcnow()
    rendered = render(params, moment, timing, sample)
    values = check_params(described, rendered, texts=texts)
    kept = {k: (v if uses_fire_time(v) else values[k]) for k, v in params.items()}
    return {"kind": "pipeline", "ref": pipeline, "cwd": described.cwd, "params": kept}


def _monitor_target(monitor: str, params: dict[str, Any]) -> dict[str, Any]:
    from alambic.monitoring import get_monitor

    if params:
        raise TriggerError("a monitor's schedule takes no parameters (-p is for pipelines)")
    get_monitor(monitor)  # NotFoundError names `alambic monitors list`
    return {"kind": "monitor", "monitor": monitor}


def schedule(
    name: str,
    pipeline: str | None = None,
    *,
    monitor: str | None = None,
    cron: str | None = None,
    every: str | float | None = None,
    timezone: str = "UTC",
    params: dict[str, Any] | None = None,
    texts: bool = False,
    catchup: str = "once",
    concurrency: str = "skip",
    cwd: str | Path | None = None,
    paused: bool = False,
) -> ScheduleRecord:
    """Make a schedule that starts ``pipeline`` (or runs ``monitor``) on a cron or interval.

    Args:
        name: the schedule's name (letters, digits, ``.``, ``_``, ``-``).
        pipeline: ``path/to/file.py:NAME`` (relative to ``cwd``) or ``module:NAME``.
        monitor: a monitor's name, to run it instead of a pipeline.
        cron: five fields, read in ``timezone`` (``"0 */6 * * *"``).
        every: an interval instead (``"30m"``), counted from now.
        timezone: an IANA time zone for ``cron``.
        params: parameter values; a string may hold ``{{ fire_time }}``,
            ``{{ fire_date }}`` or ``{{ window_start }}`` (with an offset: ``- 7d``).
        texts: the values are command-line texts (``-p n=40``), read as each type.
        catchup: fires missed while no server ran: ``skip`` them, run ``once`` (the
            latest), or ``all``.
        concurrency: when the previous run still runs: ``skip`` the fire, ``queue`` it
            until that run ends, or ``allow`` both.
        cwd: the project folder the pipeline's runs start in (default: the working one).
        paused: make it paused (``resume_schedule`` starts it).

    Raises:
        TriggerError: a bad name, expression, time zone or policy (nothing is stored).
        PipelineLoadError: the pipeline file or name does not exist or does not import.
        ParameterError: a parameter is unknown or of the wrong type.
    """
    if not isinstance(name, str) or not NAME.fullmatch(name):
        raise TriggerError(
            f"schedule name {name!r} is not allowed: use letters, digits, '.', '_' and '-'"
        )
    if (pipeline is None) == (monitor is None):
        raise TriggerError("a schedule starts either a pipeline (FILE:PIPELINE) or a monitor")
    if every is not None and cron is not None:
        raise TriggerError("give a schedule either --cron or --every, not both")
    now = utcnow().replace(microsecond=0)  # an interval counts whole seconds from here
    timing = (
        Timing.every(every, anchor=now)
        if every is not None
        else Timing(cron=cron, timezone=timezone)
    )
    _choice("catch-up policy", catchup, CATCHUP)
    _choice("concurrency policy", concurrency, CONCURRENCY)
    target = (
        pipeline_target(pipeline, params or {}, texts=texts, cwd=cwd, timing=timing)
        if pipeline is not None
        else _monitor_target(str(monitor), params or {})
    )
    who = actor()
    record = ScheduleRecord(
        name=name,
        target=target,
        cron=timing.cron,
        every_seconds=timing.every_seconds,
        timezone=timing.timezone,
        catchup=catchup,
        concurrency=concurrency,
        paused=paused,
        next_fire_at=timing.next_after(now),
        revision=1,
        created_at=now,
        created_by=who,
        updated_at=now,
        updated_by=who,
    )
    return triggers_store().create_schedule(record)


def get_schedule(name: str) -> ScheduleRecord:
    """A schedule by name.

    Raises:
        NotFoundError: no such schedule.
    """
    return triggers_store().get_schedule(name)


def list_schedules() -> list[ScheduleRecord]:
    """Every schedule, by name."""
    return triggers_store().list_schedules()


def next_fires(record: ScheduleRecord, count: int = 5) -> list[datetime]:
    """The next ``count`` fire times of a schedule (none while it is paused)."""
    if record.paused or record.next_fire_at is None:
        return []
    timing, found = timing_of(record), [record.next_fire_at]
    while len(found) < count:
        found.append(timing.next_after(found[-1]))
    return found


def pause_schedule(name: str) -> ScheduleRecord:
    """Stop a schedule's fires until :func:`resume_schedule` (fires waiting stay)."""
    return triggers_store().change_schedule(
        name, actor=actor(), action="pause-schedule", values={"paused": True}
    )


def resume_schedule(name: str) -> ScheduleRecord:
    """Fire again, from the next due time after now (fires missed while paused are not made)."""
    store = triggers_store()
    record = store.get_schedule(name)
    upcoming = timing_of(record).next_after(utcnow())
    return store.change_schedule(
        name,
        actor=actor(),
        action="resume-schedule",
        values={"paused": False, "next_fire_at": upcoming},
    )


def delete_schedule(name: str) -> None:
    """Delete a schedule; fires not started yet go with it, runs it started go on."""
    triggers_store().delete_schedule(name, actor=actor())


def schedule_history(name: str, *, limit: int = 50) -> list[FireRecord]:
    """A schedule's latest fires, newest first: each due time, what became of it, its run."""
    store = triggers_store()
    store.get_schedule(name)
    return store.fires(name, limit=limit)
