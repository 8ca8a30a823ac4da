"""Where triggers' events come from (polled by the scheduler's step), and how an event
starts its run.

Each poll reads its source from where the trigger's ``state`` left off, records the new
events (a replay is the same event: ``(trigger, key)`` is unique) and saves the new state.
A crash between the two records the events again on the next poll, as the same events.
"""

from __future__ import annotations

import fnmatch
import logging
import shutil
import subprocess
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from alambic.config import settings
from alambic.core import utcnow
from alambic.errors import AlambicError, TriggerError
from alambic.triggers._store import EventRecord, TriggerRecord, TriggersStore
from alambic.triggers._timing import render
from alambic.triggers._triggers import data_fingerprint, git_tags, limits, new_event, tag_matches

__all__ = ["checkout", "poll_triggers", "start_event"]

log = logging.getLogger(__name__)
_GIT_TIMEOUT = 300.0


# -- polling -------------------------------------------------------------------------------
def _due(record: TriggerRecord, now: datetime) -> bool:
    poll = record.config.get("poll")
    if not poll:
        return False  # webhooks only
    last = record.state.get("polled_at")
    return last is None or now - datetime.fromisoformat(last) >= timedelta(seconds=float(poll))


def _tags(record: TriggerRecord) -> tuple[list[EventRecord], dict[str, Any]]:
    found = git_tags(record.config["repo"])
    seen = set(record.state.get("tags") or [])
    events = [
        new_event(record.name, f"tag:{tag}", {"tag": tag, "commit": commit, "via": "poll"})
        for tag, commit in sorted(found.items())
        if tag not in seen and tag_matches(record, tag)
    ]
    return events, {**record.state, "tags": sorted(seen | set(found))}


def _monitor(record: TriggerRecord) -> tuple[list[EventRecord], dict[str, Any]]:
    from alambic.monitoring import monitor_history

    name, levels = record.config["monitor"], set(record.config["levels"])
    last = datetime.fromisoformat(record.state["last"])
    runs = [
        r
        for r in reversed(monitor_history(name, limit=100))
        if r.finished_at and r.finished_at > last
    ]
    state, events = dict(record.state), []
    for run in runs:
        if run.status in levels and not state.get("open"):
            payload = {"monitor": name, "monitor_run": run.id, "status": run.status}
            events.append(new_event(record.name, f"episode:{run.id}", payload))
            state["open"] = True
        elif run.status == "ok":
            state["open"] = False  # the episode is over: the next alert is a new one
        state["last"] = (run.finished_at or last).isoformat()
    return events, state


def _registry(record: TriggerRecord) -> tuple[list[EventRecord], dict[str, Any]]:
    from alambic.registry import events_since

    after = record.state.get("after")
    cursor = (datetime.fromisoformat(after[0]), after[1]) if after else None
    seen = events_since(cursor)
    wanted, groups = set(record.config["events"]), record.config["groups"]
    events = []
    for event in seen:
        if event.type in wanted and fnmatch.fnmatchcase(event.group, groups):
            payload = {"event": event.type, "group": event.group,
                       "version": "" if event.version is None else str(event.version),
                       "alias": str(event.payload.get("alias") or "")}  # fmt: skip
            events.append(new_event(record.name, f"event:{event.id}", payload))
    state = dict(record.state)
    if seen:
        state["after"] = [seen[-1].created_at.isoformat(), seen[-1].id]
    return events, state


def _data(record: TriggerRecord) -> tuple[list[EventRecord], dict[str, Any]]:
    fingerprint = data_fingerprint(record.config)
    if fingerprint == record.state.get("fingerprint"):
        return [], record.state
    event = new_event(record.name, f"data:{fingerprint}", {"fingerprint": fingerprint})
    return [event], {**record.state, "fingerprint": fingerprint}


_POLLS = {"git_tag": _tags, "monitor": _monitor, "registry": _registry, "data": _data}


def poll_triggers(store: TriggersStore, now: datetime) -> int:
    """Poll every active trigger whose time has come; the number of new events."""
    recorded = 0
    for record in store.list_triggers():
        if record.paused or not _due(record, now):
            continue
        try:
            events, state = _POLLS[record.kind](record)
        except AlambicError as exc:  # a repository or a source that cannot be read now
            log.warning("trigger %s cannot read its source: %s", record.name, exc)
            store.save_state(record.name, {**record.state, "polled_at": now.isoformat(),
                                           "error": str(exc)[:500]})  # fmt: skip
            continue
        recorded += len(store.record_events(events))
        state.pop("error", None)
        store.save_state(record.name, {**state, "polled_at": now.isoformat()})
    return recorded


# -- starting ------------------------------------------------------------------------------
def checkout(repo: str, tag: str, commit: str | None, trigger: str) -> Path:
    """A clean checkout of ``tag`` in the home's workspaces (made once, then reused).

    Raises:
        TriggerError: the clone or the checkout failed (git's reason).
    """
    folder = settings().home / "workspaces" / trigger / tag.replace("/", "_")
    if folder.is_dir() and _git("-C", str(folder), "rev-parse", "HEAD")[1] == commit:
        return folder
    partial = folder.with_name(folder.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.parent.mkdir(parents=True, exist_ok=True)
    steps = [
        ("clone", "--quiet", "--no-checkout", repo, str(partial)),
        ("-C", str(partial), "checkout", "--quiet", "--detach", commit or f"refs/tags/{tag}"),
    ]
    for args in steps:
        ok, answer = _git(*args)
        if not ok:
            raise TriggerError(f"cannot check out tag {tag} of {repo}: {answer}")
    shutil.rmtree(folder, ignore_errors=True)
    partial.rename(folder)
    return folder


def _git(*args: str) -> tuple[bool, str]:
    """Run git; ``(True, its output)`` or ``(False, the last line of its error)``."""
    done = subprocess.run(  # noqa: S603 - arguments, not a shell
        ["git", *args],  # noqa: S607 - git from PATH, as the user runs it
        capture_output=True,
        text=True,
        timeout=_GIT_TIMEOUT,
        check=False,
    )
    if done.returncode != 0:
        return False, (done.stderr.strip().splitlines() or ["no output"])[-1]
    return True, done.stdout.strip()


def start_event(
    record: TriggerRecord, event: EventRecord, started: list[EventRecord]
) -> tuple[str, str, Any]:
    """What an event starts: ``(status, reason, the run to launch or None)``."""
    from alambic.pipelines import Launch

    held = limits(record, started, utcnow())
    if held is not None:
        return held[0], held[1], None
    target = record.target
    values = {k: str(v) for k, v in event.payload.items()}
    try:
        if target.get("workspace"):
            folder = checkout(
                record.config["repo"], values["tag"], values.get("commit"), record.name
            )
            cwd = str(folder)
        else:
            cwd = target["cwd"]
        params = render(target.get("params") or {}, event.received_at, None, values)
    except (AlambicError, OSError, subprocess.SubprocessError) as exc:
        log.warning("trigger %s could not start its run: %s", record.name, exc)
        return "failed", str(exc)[:2000], None
    launch = Launch(
        ref=target["ref"], cwd=cwd, run_id=str(event.run_id), params=params,
        texts=bool(target.get("texts")),
    )  # fmt: skip
    return "started", "", launch
