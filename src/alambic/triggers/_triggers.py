"""Triggers: a pipeline started by an event rather than a clock.

Four kinds of event, each with a key that makes a replay the same event:

- ``git_tag``: a tag pushed to a repository, from GitHub's or GitLab's webhook
  (:mod:`alambic.triggers._hooks`) or by polling the repository (``git ls-remote``). The
  run executes the pipeline **as of that tag**: a clean checkout of it in a workspace of
  the home, so the registry's lineage records the tag and its commit. Key: the tag.
- ``monitor``: a monitor run in ``alert`` (or ``warn``); one event per alert episode
  (the runs until the monitor is ``ok`` again). Key: the episode's first run.
- ``registry``: registry events (``version_approved``, ``alias_moved``…) of the groups
  a pattern matches (``fraud-*``). Key: the event's id.
- ``data``: the fingerprint of data sources (the one ``al.sql`` uses) changed. Key: the
  fingerprint.

Events are recorded by whichever process sees them; the scheduler's step (one server at
a time) starts them, under the trigger's cooldown and daily cap.

Example:
    >>> from alambic.triggers import KINDS
    >>> KINDS
    ('git_tag', 'monitor', 'registry', 'data')
"""

from __future__ import annotations

import fnmatch
import os
import re
import subprocess
from datetime import timedelta
from pathlib import Path
from typing import Any

from alambic.core import new_id, parse_duration, utcnow
from alambic.errors import TriggerError
from alambic.triggers._schedules import NAME, actor, pipeline_target
from alambic.triggers._store import EventRecord, TriggerRecord, triggers_store

__all__ = [
    "KINDS",
    "create_trigger",
    "delete_trigger",
    "get_trigger",
    "list_triggers",
    "pause_trigger",
    "resume_trigger",
    "trigger_history",
]

KINDS = ("git_tag", "monitor", "registry", "data")
LEVELS = ("warn", "alert")
_DEFAULT_POLL = {"git_tag": 60.0, "monitor": 5.0, "registry": 2.0, "data": 300.0}
_GIT_TIMEOUT = 120.0


def _seconds(what: str, value: str | float | None, default: float) -> float:
    if value is None:
        return default
    if value in (0, "0", "0s"):
        return 0.0
    try:
        return float(parse_duration(value) or 0.0)
    except ValueError as exc:
        raise TriggerError(f"{what}: {exc}") from None


def git_tags(repo: str) -> dict[str, str]:
    """The tags of a repository (a path or a URL) and the commit each names.

    Raises:
        TriggerError: git cannot read the repository (the reason, from git).
    """
    try:
        done = subprocess.run(  # noqa: S603 - arguments, not a shell
            ["git", "ls-remote", "--tags", repo],  # noqa: S607 - git from PATH, as users run it
            capture_output=True,
            text=True,
            timeout=_GIT_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise TriggerError(f"cannot run git ls-remote on {repo}: {exc}") from None
    if done.returncode != 0:
        reason = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise TriggerError(f"git cannot read the repository {repo}: {reason}")
    tags: dict[str, str] = {}
    for line in done.stdout.splitlines():
        commit, _, ref = line.partition("\t")
        name = ref.removeprefix("refs/tags/")
        if name.endswith("^{}"):  # an annotated tag, peeled: the commit it names
            tags[name[:-3]] = commit
        else:
            tags.setdefault(name, commit)
    return tags


def _git_config(
    repo: str | None, tags: str, secret_env: str | None, poll: float | None
) -> dict[str, Any]:
    if not repo:
        raise TriggerError("a git-tag trigger needs --repo PATH_OR_URL (where its tags are read)")
    if secret_env is not None and not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", secret_env):
        raise TriggerError(f"--secret-env {secret_env!r} is not an environment variable name")
    source = str(Path(repo).resolve()) if Path(repo).exists() else repo
    git_tags(source)  # reachable now, or refused with git's reason
    if poll is None and secret_env is None:
        poll = _DEFAULT_POLL["git_tag"]  # no webhook: the repository is polled
    return {"repo": source, "tags": tags, "secret_env": secret_env, "poll": poll}


def _monitor_config(monitor: str | None, levels: tuple[str, ...]) -> dict[str, Any]:
    from alambic.monitoring import get_monitor

    if not monitor:
        raise TriggerError("a monitor trigger needs --monitor NAME")
    get_monitor(monitor)
    unknown = [level for level in levels if level not in LEVELS]
    if unknown or not levels:
        raise TriggerError(f"--level {unknown or levels}: use alert, or warn (warn and alert)")
    return {"monitor": monitor, "levels": list(levels), "poll": _DEFAULT_POLL["monitor"]}


def _registry_config(events: list[str] | None, groups: str) -> dict[str, Any]:
    from alambic.registry import EVENT_TYPES

    chosen = [e.replace(".", "_") for e in events or []]  # model.approved reads as well
    aliases = {"model_approved": "version_approved", "model_registered": "version_registered"}
    chosen = [aliases.get(e, e) for e in chosen]
    unknown = [e for e in chosen if e not in EVENT_TYPES]
    if unknown or not chosen:
        raise TriggerError(
            f"--event {unknown or '(none)'}: use one or more of {', '.join(EVENT_TYPES)}"
        )
    return {"events": chosen, "groups": groups, "poll": _DEFAULT_POLL["registry"]}


def _data_config(
    sources: dict[str, str] | None, url: str | None, snapshot: str | None, every: float
) -> dict[str, Any]:
    if not sources and not (url and snapshot):
        raise TriggerError(
            "a data trigger needs --source NAME=PATH (files), or --url with --snapshot "
            "(a query whose answer changes when the data does)"
        )
    return {"sources": dict(sources or {}), "url": url, "snapshot": snapshot, "poll": every}


def _first_state(kind: str, config: dict[str, Any]) -> dict[str, Any]:
    """Where a new trigger's source starts: what exists now is not an event."""
    if kind == "git_tag":
        return {"tags": sorted(git_tags(config["repo"]))}
    if kind == "registry":
        from alambic.registry import events_since

        seen = events_since(None, limit=100_000)
        return {"after": [seen[-1].created_at.isoformat(), seen[-1].id] if seen else None}
    if kind == "data":
        return {"fingerprint": data_fingerprint(config)}
    return {"open": False, "last": utcnow().isoformat()}


def data_fingerprint(config: dict[str, Any]) -> str:
    """The fingerprint of a data trigger's sources now."""
    from alambic.data import sql_fingerprint

    return sql_fingerprint(
        "", sources=config["sources"] or None, url=config["url"], snapshot=config["snapshot"]
    )


def create_trigger(
    name: str,
    *,
    on: str,
    run: str,
    params: dict[str, Any] | None = None,
    texts: bool = False,
    cwd: str | Path | None = None,
    repo: str | None = None,
    tags: str = "*",
    secret_env: str | None = None,
    poll: str | float | None = None,
    monitor: str | None = None,
    levels: tuple[str, ...] = ("alert",),
    events: list[str] | None = None,
    groups: str = "*",
    sources: dict[str, str] | None = None,
    url: str | None = None,
    snapshot: str | None = None,
    every: str | float | None = None,
    cooldown: str | float | None = None,
    daily_cap: int = 24,
    paused: bool = False,
) -> TriggerRecord:
    """Make a trigger that starts the pipeline ``run`` when its event comes.

    Args:
        name: the trigger's name.
        on: ``git_tag`` (or ``git-tag``), ``monitor``, ``registry`` or ``data``.
        run: ``path/to/file.py:NAME``; for a git tag, relative to the repository's root.
        params: the run's parameters; strings may hold ``{{ tag }}``, ``{{ commit }}``,
            ``{{ version }}``, ``{{ group }}``, ``{{ fire_time }}`` (when it came)…
        texts: the values are command-line texts (``-p n=40``), read as each type.
        cwd: the project folder runs start in (not for git tags: their checkout).
        repo: git tags: the repository (a path or a URL the server can read).
        tags: git tags: a pattern the tag must match (``v*``).
        secret_env: git tags: the environment variable holding the webhook's secret.
        poll: git tags: poll the repository this often (default: 1m without a webhook).
        monitor: the monitor whose alerts start the run; ``levels``: ``alert``, or
            ``warn`` and ``alert``.
        events: registry event types; ``groups``: a pattern of model groups.
        sources: data: files by name (as ``al.sql`` takes them); or ``url`` and a
            ``snapshot`` query; checked ``every`` (default 5m).
        cooldown: at least this long between two runs (default 1h for monitors, else 0).
        daily_cap: at most this many runs in 24 hours; more are recorded ``capped``.
        paused: make it paused.

    Raises:
        TriggerError: a bad name, kind, repository, pattern or setting (nothing stored).
        PipelineLoadError, ParameterError: the pipeline or a parameter does not fit.
    """
    kind = on.replace("-", "_")
    if not isinstance(name, str) or not NAME.fullmatch(name):
        raise TriggerError(
            f"trigger name {name!r} is not allowed: use letters, digits, '.', '_', '-'"
        )
    if kind not in KINDS:
        raise TriggerError(f"--on {on!r} is unknown; use one of: git-tag, monitor, registry, data")
    if daily_cap < 1:
        raise TriggerError("--daily-cap must be 1 or more")
    if kind == "git_tag":
        config = _git_config(repo, tags, secret_env, _seconds("--poll", poll, 0) or None)
        target = {"kind": "pipeline", "ref": run, "params": dict(params or {}), "texts": texts,
                  "workspace": True}  # fmt: skip
    else:
        config = {
            "monitor": lambda: _monitor_config(monitor, tuple(levels)),
            "registry": lambda: _registry_config(events, groups),
            "data": lambda: _data_config(
                sources, url, snapshot, _seconds("--every", every, _DEFAULT_POLL["data"])
            ),
        }[kind]()
        target = pipeline_target(
            run, params or {}, texts=texts, cwd=cwd, sample=_sample_values(kind)
        )
    now = utcnow()
    who = actor()
    record = TriggerRecord(
        name=name, kind=kind, config=config, target=target,
        cooldown_seconds=_seconds("--cooldown", cooldown, 3600.0 if kind == "monitor" else 0.0),
        daily_cap=daily_cap, paused=paused, state=_first_state(kind, config), revision=1,
        created_at=now, created_by=who, updated_at=now, updated_by=who,
    )  # fmt: skip
    return triggers_store().create_trigger(record)


def _sample_values(kind: str) -> dict[str, str]:
    """What an event of this kind offers its templates (sample values, to check them)."""
    return {
        "monitor": {"monitor": "m", "monitor_run": "mrun-x", "status": "alert"},
        "registry": {"event": "version_approved", "group": "g", "version": "1", "alias": ""},
        "data": {"fingerprint": "0" * 64},
    }[kind]


def get_trigger(name: str) -> TriggerRecord:
    """A trigger by name (NotFoundError names `alambic triggers list`)."""
    return triggers_store().get_trigger(name)


def list_triggers() -> list[TriggerRecord]:
    """Every trigger, by name."""
    return triggers_store().list_triggers()


def pause_trigger(name: str) -> TriggerRecord:
    """Stop starting runs for a trigger's events (they are still recorded, then started on
    resume)."""
    return triggers_store().change_trigger(
        name, actor=actor(), action="pause-trigger", values={"paused": True}
    )


def resume_trigger(name: str) -> TriggerRecord:
    """Start runs for a trigger's events again."""
    return triggers_store().change_trigger(
        name, actor=actor(), action="resume-trigger", values={"paused": False}
    )


def delete_trigger(name: str) -> None:
    """Delete a trigger; events not started go with it, runs it started go on."""
    triggers_store().delete_trigger(name, actor=actor())


def trigger_history(name: str, *, limit: int = 50) -> list[EventRecord]:
    """A trigger's latest events, newest first: each one, what became of it, its run."""
    store = triggers_store()
    store.get_trigger(name)
    return store.trigger_events(name, limit=limit)


def new_event(trigger: str, key: str, payload: dict[str, Any]) -> EventRecord:
    """An event to record (``due``), with the id of the run it will start."""
    return EventRecord(
        id=new_id("tev"), trigger=trigger, key=key[:300], received_at=utcnow(),
        payload=payload, status="due", run_id=new_id("run"), reason="", started_at=None,
    )  # fmt: skip


def tag_matches(record: TriggerRecord, tag: str) -> bool:
    """Whether a git-tag trigger takes this tag (its pattern)."""
    return fnmatch.fnmatchcase(tag, record.config.get("tags") or "*")


def secret_of(record: TriggerRecord) -> str | None:
    """A git-tag trigger's webhook secret, read from the environment (never stored)."""
    variable = record.config.get("secret_env")
    return os.environ.get(variable) if variable else None


def limits(record: TriggerRecord, started: list[EventRecord], now: Any) -> tuple[str, str] | None:
    """``(status, reason)`` when the cooldown or the daily cap holds a new run back."""
    day = [e for e in started if e.started_at and e.started_at >= now - timedelta(days=1)]
    if len(day) >= record.daily_cap:
        return (
            "capped",
            f"{len(day)} runs in the last 24 h reached the daily cap ({record.daily_cap})",
        )
    if started and record.cooldown_seconds:
        last = started[-1].started_at
        if last is not None and (now - last).total_seconds() < record.cooldown_seconds:
            return "skipped", (
                f"cooldown: the last run started at {last:%H:%M:%S} UTC, less than "
                f"{record.cooldown_seconds:g} s ago"
            )
    return None
