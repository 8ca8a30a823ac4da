"""Where a model came from: the run and step, parameters, data fingerprints, code, packages."""

from __future__ import annotations

import functools
import importlib.metadata
import logging
import platform
import subprocess
import time
from pathlib import Path
from typing import Any

__all__ = ["code_version", "collect_lineage"]

log = logging.getLogger(__name__)

_PACKAGES = (
    "alambic",
    "scikit-learn",
    "lightgbm",
    "xgboost",
    "pandas",
    "numpy",
    "optuna",
    "skops",
)


def _git(folder: Path, *args: str) -> str | None:
    try:
        done = subprocess.run(  # noqa: S603 - fixed git arguments, no shell
            ["git", "-C", str(folder), *args],  # noqa: S607 - git from PATH, as users run it
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


_CODE_TTL = 2.0  # seconds: a burst of registrations asks git once
_code_cache: dict[Path, tuple[float, dict[str, Any]]] = {}


def code_version(folder: Path | None = None) -> dict[str, Any]:
    """The git commit, tag, branch and dirty flag of the repository holding ``folder`` (cwd)."""
    where = (folder or Path.cwd()).resolve()
    cached = _code_cache.get(where)
    if cached is not None and time.monotonic() - cached[0] < _CODE_TTL:
        return dict(cached[1])
    # One call gives the commit, the branch and the changes (porcelain v2 headers).
    status = _git(where, "status", "--porcelain=v2", "--branch", "--untracked-files=no")
    found: dict[str, Any] = {}
    if status is not None:
        headers = dict(
            line[2:].split(" ", 1) for line in status.splitlines() if line.startswith("# ")
        )
        commit = headers.get("branch.oid", "")
        if commit and commit != "(initial)":
            found = {
                "commit": commit,
                "tag": _git(where, "describe", "--tags", "--exact-match") or None,
                "branch": headers.get("branch.head"),
                "dirty": any(not line.startswith("#") for line in status.splitlines()),
            }
    _code_cache[where] = (time.monotonic(), found)
    return dict(found)


@functools.cache
def _packages() -> dict[str, str]:
    found = {"python": platform.python_version()}
    for name in _PACKAGES:
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return found


def _ancestors(graph: Any, node: str) -> set[str]:
    seen: set[str] = set()
    todo = [node]
    while todo:
        for parent in graph.dependencies(todo.pop()):
            if parent not in seen:
                seen.add(parent)
                todo.append(parent)
    return seen


def _pipeline_lineage(step_run: str) -> dict[str, Any]:
    """The run, step, parameters and upstream data fingerprints of a step run."""
    from alambic.config import settings
    from alambic.pipelines import Graph, RunStore

    store = RunStore.open(settings().db_url)
    this = store.get_step_run(step_run)
    run = store.get_run(this.run_id)
    graph = Graph.from_json(store.get_pipeline(run.pipeline_hash).definition)
    upstream = _ancestors(graph, this.node)
    # A branch's own ancestors: same map index (or none, outside the map).
    data = {
        s.label: s.cache["components"]["data"]
        for s in store.step_runs(run.id)
        if s.node in upstream
        and s.cache.get("components", {}).get("data")
        and (not s.instance or this.instance.startswith(s.instance))
    }
    return {
        "run": run.id,
        "pipeline": run.pipeline_name,
        "pipeline_hash": run.pipeline_hash,
        "step": this.label,
        "step_run": step_run,
        "params": run.params,
        "data": data,
    }


def collect_lineage(extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """Lineage for a version registered now (inside a pipeline step, or not)."""
    from alambic.pipelines import current_step

    lineage: dict[str, Any] = {"code": code_version(), "packages": dict(_packages())}
    step = current_step()
    if step is not None and step.step_run:
        try:
            lineage.update(_pipeline_lineage(step.step_run))
        except Exception:  # lineage is best effort: never lose a registration to it
            log.warning("cannot read the lineage of step run %s", step.step_run, exc_info=True)
    lineage.update(extra or {})
    return lineage
