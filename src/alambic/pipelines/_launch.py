"""Start runs of a pipeline named by reference, without importing its code here.

A long-running process (the control plane, ``alambic server``) must not import the
pipelines it starts: a file that fails to import, a slow import or a module cached from
an older version of the file would become its problem. So :func:`describe` traces the
pipeline in a child process (``python -m alambic.pipelines._launch REF``) and keeps
what it learnt (the graph's hash, the code reference, the parameters' types) until the
file changes; :func:`launch` then makes a ``pending`` run from it in one insert and hands
it to a detached orchestrator, which loads the code, checks the parameters against their
types and drives the run (a run whose code no longer loads, or whose parameters do not
fit, is recorded ``failed`` with the reason).

Example:
    >>> from alambic.pipelines import describe
    >>> try:
    ...     describe("no/such/file.py:train")
    ... except Exception as exc:
    ...     print(exc)  # doctest: +ELLIPSIS
    no/such/file.py: no such file; give the path of a Python file that defines an @al.pipeline
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alambic.config import Settings, settings
from alambic.core import new_id, utcnow
from alambic.errors import PipelineLoadError
from alambic.pipelines._store import RunRecord, RunStore

__all__ = [
    "Described",
    "Launch",
    "check_params",
    "describe",
    "launch",
    "launch_refs",
    "spawn_detached",
]

_DESCRIBE_TIMEOUT = 300.0  # a pipeline file may import heavy libraries
_cache: dict[tuple[str, str], tuple[tuple[int, int], Described]] = {}
_lock = threading.Lock()


@dataclass(frozen=True)
class Described:
    """What a run of a pipeline needs, learnt by tracing it once in a child process.

    Attributes:
        ref: the reference it was described from (``path/to/file.py:NAME``).
        cwd: the folder it was described in (where its runs start).
        name: the pipeline's name.
        hash: its graph's hash (the definition is stored under it).
        source: the code reference its orchestrator loads.
        params: each parameter's type label, whether it is required and its default.
    """

    ref: str
    cwd: str
    name: str
    hash: str
    source: dict[str, Any]
    params: dict[str, dict[str, Any]]


def _file_of(ref: str, cwd: str) -> Path | None:
    target = ref.rsplit(":", 1)[0] if ":" in ref and not ref.endswith(".py") else ref
    if not target.endswith(".py"):
        return None  # a module name: its file is found by the child
    return Path(cwd, target)


def _stamp(path: Path | None) -> tuple[int, int]:
    if path is None:
        return (0, 0)
    try:
        info = path.stat()
    except OSError:
        return (-1, -1)
    return (info.st_mtime_ns, info.st_size)


def describe(ref: str, *, cwd: str | Path | None = None) -> Described:
    """Trace the pipeline ``ref`` names, in a child process, and store its definition.

    The answer is kept until the file changes (its modification time or size).

    Args:
        ref: ``path/to/file.py[:NAME]`` or ``package.module:NAME``, relative to ``cwd``.
        cwd: the folder the pipeline's project lives in (default: the working folder).

    Raises:
        PipelineLoadError: the file is missing, does not import, or names no pipeline
            (the child's message, naming what to fix).
    """
    folder = str(Path(cwd or os.getcwd()).resolve())
    path = _file_of(ref, folder)
    if path is not None and not path.is_file():
        raise PipelineLoadError(
            f"{ref.rsplit(':', 1)[0] if not ref.endswith('.py') else ref}: no such file; "
            "give the path of a Python file that defines an @al.pipeline"
        )
    key, stamp = (folder, ref), _stamp(path)
    with _lock:
        cached = _cache.get(key)
    if cached is not None and cached[0] == stamp and stamp != (-1, -1):
        return cached[1]
    answer = _child(ref, folder, [])
    described = Described(ref=ref, cwd=folder, **answer)
    with _lock:
        _cache[key] = (stamp, described)
    return described


def check_params(
    described: Described, params: dict[str, Any], *, texts: bool = False
) -> dict[str, Any]:
    """Check parameter values against the pipeline's types (in a child process).

    Args:
        described: what :func:`describe` returned.
        params: the values to check; with ``texts``, command-line texts (``"40"``,
            ``"[a, b]"``) read as each parameter's type, as ``-p key=value`` is.

    Returns:
        Every parameter's value, converted, defaults included.

    Raises:
        ParameterError: a parameter is unknown, missing or of the wrong type.
    """
    from alambic.errors import ParameterError

    if not params:  # the defaults: only a required parameter can be missing
        missing = [name for name, spec in described.params.items() if spec["required"]]
        if missing:
            raise ParameterError(
                f"parameter {missing[0]!r} ({described.params[missing[0]]['type']}) is "
                f"required; pass it with -p {missing[0]}=VALUE"
            )
        return {name: spec["default"] for name, spec in described.params.items()}
    flag = "--texts" if texts else "--values"
    answer = _child(described.ref, described.cwd, [flag, json.dumps(params)])
    if "invalid" in answer:
        raise ParameterError(answer["invalid"])
    return dict(answer["values"])


def _child(ref: str, folder: str, extra: list[str]) -> dict[str, Any]:
    env = {**os.environ, **settings().env(), "PYTHONPATH": _python_path(folder)}
    done = subprocess.run(  # noqa: S603 - our own module, no shell
        [sys.executable, "-m", "alambic.pipelines._launch", ref, *extra],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=_DESCRIBE_TIMEOUT,
        check=False,
    )
    lines = done.stdout.strip().splitlines()
    answer: dict[str, Any] = json.loads(lines[-1]) if lines and lines[-1].startswith("{") else {}
    if done.returncode != 0 or not ("hash" in answer or "invalid" in answer):
        reason = answer.get("error") or (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise PipelineLoadError(reason)
    return answer


def _python_path(folder: str) -> str:
    return os.pathsep.join(p for p in [folder, *sys.path] if p)


def launch(
    described: Described,
    params: dict[str, Any] | None = None,
    *,
    run_id: str | None = None,
    options: dict[str, Any] | None = None,
    spawn: bool = True,
) -> RunRecord:
    """Make a ``pending`` run of a described pipeline and start its detached orchestrator.

    The parameters are checked against their types by the orchestrator, which records
    the run ``failed`` with the reason when they do not fit. Launching again with the
    same ``run_id`` returns the run made the first time (and starts it only if no
    orchestrator ever took it), so a caller that crashed after launching may launch again.

    Args:
        described: what :func:`describe` returned.
        params: parameter values (JSON-able), checked when the run starts.
        run_id: the run's id, chosen by the caller so that a retry is idempotent.
        options: ``cache``, ``executor``, ``max_workers`` as :func:`alambic.submit` takes.
        spawn: start the orchestrator now (False: the caller starts several at once with
            :func:`spawn_detached`).
    """
    config = settings()
    store = RunStore.open(config.db_url)
    run_id = run_id or new_id("run")
    existing = store.find_run(run_id)
    if existing is not None:
        if spawn and existing.status == "pending" and existing.orchestrator is None:
            spawn_detached([existing.id], config, cwd=described.cwd)
        return existing
    values = {"cache": True, "executor": None, "max_workers": None, **(options or {})}
    record = RunRecord(
        id=run_id,
        pipeline_name=described.name,
        pipeline_hash=described.hash,
        params=dict(params or {}),
        source=described.source,
        options={**values, "check_params": True, "cwd": described.cwd},
        status="pending",
        created_at=utcnow(),
    )
    store.create_run(record)
    if spawn:
        spawn_detached([record.id], config, cwd=described.cwd)
    return record


@dataclass(frozen=True)
class Launch:
    """A run to make from a pipeline reference, traced only by its orchestrator.

    Attributes:
        ref: ``path/to/file.py:NAME`` (relative to ``cwd``) or ``module:NAME``.
        cwd: the project folder the run starts in.
        run_id: the run's id, chosen by the caller so that launching again is idempotent.
        params: values, or with ``texts`` command-line texts read as each type.
    """

    ref: str
    cwd: str
    run_id: str
    params: dict[str, Any]
    texts: bool = False


def _name_of(ref: str) -> str:
    target, _, name = (
        ref.rpartition(":") if ":" in ref and not ref.endswith(".py") else (ref, "", "")
    )
    return name or Path(target).stem


def _absolute(ref: str, cwd: str) -> str:
    target, sep, name = (
        ref.rpartition(":") if ":" in ref and not ref.endswith(".py") else (ref, "", "")
    )
    if target.endswith(".py"):
        target = str(Path(cwd, target))
    return f"{target}{sep}{name}"


def launch_refs(launches: list[Launch], *, spawn: bool = True) -> list[RunRecord]:
    """Make ``pending`` runs of pipelines named by reference, in one transaction, without
    tracing them here: each run's orchestrator loads its pipeline, records its definition,
    checks the parameters, and records the run ``failed`` with the reason when the code
    does not load or a parameter does not fit.

    This is how the control plane starts hundreds of runs in a second. Runs whose id
    exists already are returned as they are (and started only if no orchestrator ever
    took them).

    Args:
        launches: the runs to make.
        spawn: start their orchestrators now (one detached process per project folder).
    """
    if not launches:
        return []
    config = settings()
    store = RunStore.open(config.db_url)
    now = utcnow()
    records = [
        RunRecord(
            id=item.run_id,
            pipeline_name=_name_of(item.ref),
            pipeline_hash="",
            params=dict(item.params),
            source={"ref": _absolute(item.ref, item.cwd), "cwd": item.cwd},
            options={
                "cache": True,
                "executor": None,
                "max_workers": None,
                "check_params": True,
                "texts": item.texts,
                "cwd": item.cwd,
            },
            status="pending",
            created_at=now,
        )
        for item in launches
    ]
    made = store.create_untraced_runs(records)
    if spawn:
        by_folder: dict[str, list[str]] = {}
        for record in made:
            if record.status == "pending" and record.orchestrator is None:
                by_folder.setdefault(str(record.options.get("cwd") or ""), []).append(record.id)
        for folder, run_ids in by_folder.items():
            spawn_detached(run_ids, config, cwd=folder or None)
    return made


def spawn_detached(run_ids: list[str], config: Settings, *, cwd: str | None = None) -> None:
    """Start one background process that drives these runs, one forked child each.

    It returns once that process has started; a thread reaps it when it has forked the
    orchestrators (a few at a time: seconds for hundreds of runs). The orchestrators
    outlive the caller.
    """
    if not run_ids:
        return
    log_dir = config.home / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    folder = cwd or os.getcwd()
    env = {**os.environ, **config.env(), "PYTHONPATH": _python_path(folder)}
    with open(log_dir / "detached.log", "ab") as log:
        process = subprocess.Popen(  # noqa: S603 - our own module, no shell
            [sys.executable, "-m", "alambic.pipelines._detached", *run_ids],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            cwd=folder,
            env=env,
            start_new_session=True,
            close_fds=True,
        )
    threading.Thread(target=process.wait, name="alambic-reap", daemon=True).start()


def _main(argv: list[str]) -> int:
    """The child of :func:`describe`: trace a pipeline, store its definition, print JSON.

    ``REF [--values JSON | --texts JSON]``: also check parameter values (or texts).
    """
    from alambic.errors import AlambicError, ParameterError
    from alambic.pipelines._params import parse_cli_params, validate_params
    from alambic.pipelines._run import load_pipeline

    try:
        pipeline = load_pipeline(argv[0])
        graph = pipeline.graph
        store = RunStore.open(settings().db_url)
        store.save_pipeline(graph.hash, graph.name, graph.to_json())
    except AlambicError as exc:
        print(json.dumps({"error": str(exc)}))  # noqa: T201 - the parent reads it
        return 2
    answer: dict[str, Any] = {
        "name": graph.name,
        "hash": graph.hash,
        "source": dict(pipeline.code),
        "params": {name: spec.to_json() for name, spec in pipeline.specs.items()},
    }
    if len(argv) == 3:
        given = json.loads(argv[2])
        try:
            if argv[1] == "--texts":
                given = parse_cli_params(pipeline.specs, [f"{k}={v}" for k, v in given.items()])
            answer["values"] = validate_params(pipeline.specs, given)
        except ParameterError as exc:
            answer["invalid"] = str(exc)
    print(json.dumps(answer, default=str))  # noqa: T201 - the parent reads it
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
