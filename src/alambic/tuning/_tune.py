"""The tuning driver: ask Optuna for points, run trials on the executor, tell the results.

:func:`tune` runs wherever it is called: in a notebook, or inside a pipeline step (the
study is then named after the step run, so ``alambic resume`` continues it without
repeating finished trials). Trials run in parallel on the configured executor (local
worker processes or Ray); each is a tracked run, child of the step's (or of a ``tune``
run). A failing, timed-out or crashed trial is recorded as failed with its reason and
the study goes on.

Example:
    >>> from lightgbm import LGBMClassifier  # doctest: +SKIP
    >>> result = tune(LGBMClassifier(verbose=-1), {"num_leaves": Int(8, 64)},  # doctest: +SKIP
    ...               data=train, target="is_fraud", metric="roc_auc", n_trials=30, n_jobs=2)
    >>> result.best_params, result.model  # doctest: +SKIP
"""

from __future__ import annotations

import base64
import collections
import logging
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from alambic.config import settings as current_settings
from alambic.core import new_id, parse_duration
from alambic.errors import TuningError
from alambic.tuning._space import Space
from alambic.tuning._study import (
    create_or_resume,
    enqueue_grid,
    make_pruner,
    make_sampler,
    storage_path,
    study_spec,
)
from alambic.tuning._study import warm_start as seed_study
from alambic.tuning._trial import MODEL_OBJECTIVES

__all__ = ["TuningResult", "tune"]

log = logging.getLogger(__name__)

_TRIAL_CODE = {"module": "alambic.tuning._trial", "file": None, "qualname": "run_trial"}


@dataclass
class TuningResult:
    """What a study found.

    Attributes:
        study_name: the study's name (pass it as ``warm_start=`` to a later study).
        storage: its journal file.
        metrics: the objectives, in order; ``directions`` says which way each is better.
        best_params: hyperparameters of the chosen trial.
        best_values: its objective values, by metric name.
        best_trial: its number.
        cv_scores: its per-fold scores, by metric (estimator objectives).
        trials: one row per trial: number, state, values, params, duration, reason.
        pareto: the Pareto front (several objectives): one dict per trial.
        model: the chosen point refit on all the data, packaged with its signature.
    """

    study_name: str
    storage: str
    metrics: list[str]
    directions: list[str]
    best_params: dict[str, Any]
    best_values: dict[str, float]
    best_trial: int
    cv_scores: dict[str, list[float]] = field(default_factory=dict)
    trials: Any = None
    pareto: list[dict[str, Any]] = field(default_factory=list)
    model: Any = None

    @property
    def best_value(self) -> float:
        """The first objective's value for the chosen trial."""
        return self.best_values[self.metrics[0]]

    def summary(self) -> dict[str, Any]:
        """JSON-able facts about the study (for model metadata and step outputs)."""
        states = collections.Counter(self.trials["state"]) if self.trials is not None else {}
        return {
            "study": self.study_name,
            "metrics": self.metrics,
            "directions": self.directions,
            "best_trial": self.best_trial,
            "best_params": self.best_params,
            "best_values": self.best_values,
            "cv_scores": self.cv_scores,
            "trials": dict(states),
            "pareto": self.pareto,
        }


@dataclass
class _Running:
    trial: Any
    params: dict[str, Any]
    run_id: str
    started: float


def _directions(metrics: list[str], directions: Sequence[str] | None) -> list[str]:
    from alambic.evaluation import METRICS

    if directions is not None:
        chosen = [str(d).lower() for d in directions]
        if len(chosen) != len(metrics) or set(chosen) - {"maximize", "minimize"}:
            raise TuningError(
                f"directions must give 'maximize' or 'minimize' for each of {metrics}, "
                f"got {list(directions)}"
            )
        return chosen
    out = []
    for name in metrics:
        if name in MODEL_OBJECTIVES:
            out.append("minimize")
        elif name in METRICS:
            out.append("maximize" if METRICS[name][1] else "minimize")
        else:
            known = sorted([*METRICS, *MODEL_OBJECTIVES])
            raise TuningError(
                f"unknown metric {name!r}; use one of {', '.join(known)}, or pass "
                "directions=[...] with a custom objective"
            )
    return out


def _check_data(data: Any, target: str | None, metrics: list[str], cv: int) -> str:
    """Check the training data before any trial; return the task it is."""
    from alambic.evaluation import METRICS, infer_task

    if target is None:
        raise TuningError("tuning an estimator needs target=, the column to predict")
    columns = getattr(data, "columns", None)
    if columns is None:
        raise TuningError(f"data must be a DataFrame with the target column, got {type(data)}")
    if target not in columns:
        raise TuningError(
            f"the target column {target!r} is not in the data; columns: "
            f"{', '.join(map(str, list(columns)[:20]))}"
        )
    if len(columns) < 2:
        raise TuningError("the data has no feature column besides the target")
    if cv < 2:
        raise TuningError(f"cv={cv}: cross-validation needs at least 2 folds")
    labels = data[target]
    if labels.isna().any():
        raise TuningError(f"the target column {target!r} has missing values; drop or fill them")
    task = infer_task(labels)
    if task != "regression":
        counts = labels.value_counts()
        if len(counts) < 2:
            raise TuningError(f"the target {target!r} has a single class; nothing to learn")
        if counts.min() < cv:
            raise TuningError(
                f"class {counts.idxmin()!r} has {counts.min()} rows, fewer than cv={cv} folds"
            )
    for name in metrics:
        if name in METRICS:
            wanted = METRICS[name][0]
            fits = wanted == task or (wanted == "classification" and task != "regression")
            if not fits:
                raise TuningError(f"metric {name!r} is for {wanted} tasks; this target is {task}")
    return task


def _encode(value: Any) -> str:
    import cloudpickle

    return base64.b64encode(cloudpickle.dumps(value)).decode()


def tune(
    estimator: Any = None,
    space: Space | Mapping[str, Any] | None = None,
    *,
    data: Any = None,
    target: str | None = None,
    objective: Callable[..., Any] | None = None,
    metric: str | Sequence[str] = "roc_auc",
    directions: Sequence[str] | None = None,
    cv: int = 3,
    n_trials: int | None = None,
    timeout: float | str | None = None,
    trial_timeout: float | str | None = None,
    sampler: Any = "tpe",
    pruner: Any = None,
    n_jobs: int = 1,
    executor: str | None = None,
    warm_start: Any = None,
    study_name: str | None = None,
    random_state: int | None = 0,
    refit: bool = True,
    select: Callable[[list[dict[str, Any]]], dict[str, Any]] | None = None,
    on_progress: Callable[[dict[str, Any]], None] | None = None,
) -> TuningResult:
    """Search hyperparameters with Optuna, running trials in parallel on the executor.

    Either tune an ``estimator`` (scikit-learn API: LightGBM, XGBoost, scikit-learn…) by
    ``cv``-fold cross-validation on ``data``, or call ``objective(params, trial)`` (a
    function returning one value per metric; it may ``trial.report`` and prune).

    Args:
        space: the search space (see :class:`Space`).
        metric: one metric name, or several for a multi-objective search (``model_size``
            and ``latency`` measure the model itself); the Pareto front is returned.
        n_trials: how many trials to finish (resumed studies count earlier ones).
        timeout: wall-clock budget ("2h", "30m" or seconds); no trial starts after it.
        trial_timeout: a trial running longer is stopped and recorded as failed.
        sampler: ``tpe`` (default), ``random``, ``grid``, ``cmaes``, ``nsga2`` or an
            Optuna sampler.
        pruner: None, ``median``, ``successive_halving`` or ``hyperband`` (or an Optuna
            pruner); estimator objectives report the running CV score after each fold.
        n_jobs: trials running at once.
        executor: ``local`` or ``ray`` (default: the configured one).
        warm_start: an earlier :class:`TuningResult` or study name (its finished trials
            seed the sampler), or a list of parameter dicts to try first.
        study_name: continue (or start) the study of this name; inside a pipeline step
            it defaults to one per step run, so a resumed run continues its study.
        refit: refit the chosen point on all the data and package it as ``result.model``.
        select: picks the trial to refit from the Pareto front (default: best first metric).
        on_progress: called with ``{"done", "total", "best", "running"}`` after each trial.

    Raises:
        TuningError: the space, metric, data or budget is invalid (before any trial), or
            no trial succeeded (with a summary of the reasons).
    """
    from alambic.pipelines import create_executor, current_step, report_progress

    if (estimator is None) == (objective is None):
        raise TuningError("give either an estimator to cross-validate or an objective function")
    parsed = Space.parse(space if space is not None else {})
    metrics = [metric] if isinstance(metric, str) else list(metric)
    if not metrics:
        raise TuningError("give at least one metric to optimise")
    dirs = _directions(metrics, directions)
    make_pruner(pruner)  # an unknown pruner is refused before the study exists
    if pruner is not None and len(metrics) > 1:
        raise TuningError("pruning works with a single metric; drop pruner= or use one metric")
    if n_jobs < 1:
        raise TuningError(f"n_jobs={n_jobs}: run at least one trial at a time")
    budget = _budget(n_trials, timeout, parsed, sampler)
    limit = parse_duration(timeout) if timeout is not None else None
    per_trial = parse_duration(trial_timeout) if trial_timeout is not None else None
    config = current_settings()
    task = "custom"
    objective_spec: dict[str, Any]
    if estimator is not None:
        task = _check_data(data, target, metrics, cv)
        from alambic.store import ArtifactStore, save_value

        ref = save_value(ArtifactStore(config.artifacts), data, what="the tuning data")
        objective_spec = {
            "kind": "estimator",
            "estimator": _encode(estimator),
            "store": config.artifacts,
            "data": ref.to_dict(),
            "target": target,
            "task": task,
            "metrics": metrics,
            "cv": cv,
            "random_state": random_state,
        }
    else:
        objective_spec = {"kind": "function", "pickled": _encode(objective)}

    step = current_step()
    if study_name is None:
        study_name = f"{step.label}-{step.step_run}" if step and step.step_run else new_id("study")
    path = storage_path(config.home, study_name)
    study = create_or_resume(
        path,
        study_name,
        directions=dirs,
        sampler=make_sampler(sampler, parsed, random_state),
        pruner=pruner,
    )
    if isinstance(sampler, str) and sampler.lower() == "grid":
        enqueue_grid(study, parsed, random_state)
    if warm_start is not None:
        added = seed_study(study, warm_start, parsed)
        log.info("study %s: warm start with %d trial(s)", study_name, added)
    spec_study = study_spec(path, study_name, pruner) if pruner is not None else None
    tracker = _Tracker(study_name, metrics, parsed, in_step=step is not None)

    import optuna

    states = optuna.trial.TrialState
    started = time.monotonic()
    running: dict[str, _Running] = {}
    done = _count_done(study)
    best_text = "–"

    def progress() -> None:
        total = budget if budget is not None else "?"
        text = f"trials {done}/{total} · best {best_text} · running {len(running)}"
        report_progress(text)
        if on_progress is not None:
            on_progress({"done": done, "total": budget, "best": best_text, "running": len(running)})

    with create_executor(config, executor, max_workers=n_jobs) as pool:
        while True:
            out_of_time = limit is not None and time.monotonic() - started > limit
            while (
                len(running) < n_jobs
                and not out_of_time
                and (budget is None or done + len(running) < budget)
            ):
                trial = study.ask()
                params = parsed.sample(trial)
                run_id = tracker.start(trial.number, params)
                spec = {
                    "params": params,
                    "number": trial.number,
                    "trial_id": trial._trial_id,
                    "study": spec_study,
                    "objective": objective_spec,
                }
                task_id = f"{study_name}:{trial.number}"
                pool.submit(_task(task_id, spec, config.artifacts, trial.number))
                running[task_id] = _Running(trial, params, run_id, time.monotonic())
                progress()
            if not running:
                break
            for result in pool.wait(1.0):
                entry = running.pop(result.task_id, None)
                if entry is None:
                    continue
                outcome = _outcome(result, config.artifacts)
                _tell(study, entry, outcome, states)
                tracker.finish(entry, outcome, result.tracking)
                done += 1
                best_text = _best_text(study, metrics)
                log.info(
                    "trial %d %s in %.1fs · best %s",
                    entry.trial.number,
                    outcome["state"] if outcome["state"] != "complete" else outcome["values"],
                    time.monotonic() - entry.started,
                    best_text,
                )
                progress()
            if per_trial is not None:
                now = time.monotonic()
                for task_id, entry in list(running.items()):
                    if now - entry.started > per_trial:
                        pool.cancel(task_id)
                        del running[task_id]
                        outcome = {
                            "state": "fail",
                            "reason": f"timed out after {per_trial:g}s (trial_timeout)",
                        }
                        _tell(study, entry, outcome, states)
                        tracker.finish(entry, outcome, {})
                        done += 1
                        progress()
    tracker.close()
    return _result(study, path, metrics, dirs, parsed, estimator, data, target, refit, select, task)


def _budget(n_trials: int | None, timeout: Any, space: Space, sampler: Any) -> int | None:
    if n_trials is not None and (not isinstance(n_trials, int) or n_trials < 1):
        raise TuningError(f"n_trials={n_trials!r}: give a positive number of trials")
    if n_trials is None and isinstance(sampler, str) and sampler.lower() == "grid":
        return space.size()
    if n_trials is None and timeout is None:
        raise TuningError("give a budget: n_trials=, timeout= (e.g. '30m'), or both")
    return n_trials


def _task(task_id: str, spec: dict[str, Any], artifacts: str, number: int) -> Any:
    from alambic.pipelines import Task

    payload = {
        "code": _TRIAL_CODE,
        "args": {"spec": {"value": spec}},
        "outputs": ["return"],
        "label": f"trial-{number}",
        "artifacts": artifacts,
        "allow_pickle": False,
    }
    return Task(task_id, payload, None)


def _outcome(result: Any, artifacts: str) -> dict[str, Any]:
    """A trial's result as ``{"state", "values", "reason", ...}``."""
    if not result.ok:
        reason = (result.error or "failed").strip().splitlines()[0]
        if result.crashed:
            reason = f"worker crashed: {reason.removeprefix('WorkerCrashed: ')}"
        return {"state": "fail", "reason": reason, "duration": result.duration}
    from alambic.store import ArtifactRef, ArtifactStore, load_value

    data = load_value(ArtifactStore(artifacts), ArtifactRef.from_dict(result.outputs["return"]))
    values = data["values"]
    if data["pruned"]:
        return {**data, "state": "pruned", "reason": "pruned", "duration": result.duration}
    bad = [v for v in values if not math.isfinite(v)]
    if bad:
        return {**data, "state": "fail", "reason": f"the objective returned {bad[0]}"}
    return {**data, "state": "complete", "reason": "", "duration": result.duration}


def _tell(study: Any, entry: _Running, outcome: dict[str, Any], states: Any) -> None:
    trial = entry.trial
    for key, value in (outcome.get("attrs") or {}).items():
        trial.set_user_attr(key, value)
    if outcome["state"] == "complete":
        values = outcome["values"]
        if len(values) != len(study.directions):
            outcome["state"] = "fail"
            outcome["reason"] = (
                f"the objective returned {len(values)} value(s) for {len(study.directions)} "
                "metric(s)"
            )
        else:
            study.tell(trial, values)
            return
    trial.set_user_attr("fail_reason", outcome["reason"])
    state = states.PRUNED if outcome["state"] == "pruned" else states.FAIL
    study.tell(trial, state=state)


def _count_done(study: Any) -> int:
    return sum(
        1
        for t in study.get_trials(deepcopy=False)
        if t.state.is_finished()
        and not t.user_attrs.get("warm_start")
        and t.user_attrs.get("fail_reason", "").split(":")[0] != "interrupted"
    )


def _best_text(study: Any, metrics: list[str]) -> str:
    import optuna

    complete = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    if not complete:
        return "–"
    if len(metrics) > 1:
        return f"{len(study.best_trials)} on the Pareto front"
    return f"{metrics[0]}={study.best_value:.4g}"


class _Tracker:
    """Each trial as a tracked run, child of the step's run (or of a ``tune`` run)."""

    def __init__(self, study_name: str, metrics: list[str], space: Space, *, in_step: bool):
        from alambic import tracking

        self.tracking = tracking
        self.metrics = metrics
        self.own: str | None = None
        if not in_step and tracking.active_run_id() is None:
            self.own = tracking.start_run(f"tune {study_name}", kind="tuning").id
        self.parent = tracking.active_run_id()
        tracking.set_tags({"alambic.study": study_name}, run_id=self.parent)
        tracking.log_params(
            {f"space.{k}": v for k, v in space.describe().items()}, run_id=self.parent
        )

    def start(self, number: int, params: dict[str, Any]) -> str:
        # Not made the active run: trials overlap, and each is named by id.
        run = self.tracking.start_run(
            f"trial-{number}", parent=self.parent, kind="trial", activate=False
        )
        self.tracking.log_params(params, run_id=run.id)
        return run.id

    def finish(self, entry: _Running, outcome: dict[str, Any], logged: dict[str, Any]) -> None:
        from alambic.tracking._api import absorb_tracking

        run_id = entry.run_id
        if logged:
            absorb_tracking(logged, run_id)
        for step, value in outcome.get("intermediate") or []:
            self.tracking.log_metric("intermediate", value, step=step, run_id=run_id)
        if outcome["state"] == "complete":
            values = dict(zip(self.metrics, outcome["values"], strict=False))
            self.tracking.log_metrics(values, run_id=run_id)
        self.tracking.set_tags(
            {"alambic.trial_state": outcome["state"], "alambic.reason": outcome["reason"]},
            run_id=run_id,
        )
        status = "finished" if outcome["state"] == "complete" else "failed"
        if outcome["state"] == "pruned":
            status = "killed"
        self.tracking.end_run(status, run_id=run_id)

    def close(self) -> None:
        if self.own is not None:
            self.tracking.end_run("finished", run_id=self.own)


def _trials_frame(study: Any, metrics: list[str]) -> Any:
    import pandas as pd

    rows = []
    for t in study.get_trials(deepcopy=False):
        row: dict[str, Any] = {"number": t.number, "state": t.state.name.lower()}
        for i, name in enumerate(metrics):
            row[name] = t.values[i] if t.values is not None else None
        duration = t.duration.total_seconds() if t.duration is not None else None
        row["duration"] = duration
        row["reason"] = t.user_attrs.get("fail_reason", "")
        row.update({f"params.{k}": v for k, v in t.params.items()})
        rows.append(row)
    return pd.DataFrame(rows)


def _failure_summary(study: Any) -> str:
    reasons = collections.Counter(
        t.user_attrs.get("fail_reason") or t.state.name.lower()
        for t in study.get_trials(deepcopy=False)
    )
    return "; ".join(f"{count}× {reason}" for reason, count in reasons.most_common(5))


def _result(
    study: Any,
    path: Path,
    metrics: list[str],
    directions: list[str],
    space: Space,
    estimator: Any,
    data: Any,
    target: str | None,
    refit: bool,
    select: Callable[[list[dict[str, Any]]], dict[str, Any]] | None,
    task: str,
) -> TuningResult:
    import optuna

    complete = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    if not complete:
        total = len(study.get_trials(deepcopy=False))
        raise TuningError(
            f"no trial of study {study.study_name!r} succeeded ({total} trial(s)): "
            f"{_failure_summary(study)}"
        )
    front = study.best_trials if len(metrics) > 1 else [study.best_trial]
    pareto = [
        {"number": t.number, "params": dict(t.params), **dict(zip(metrics, t.values, strict=True))}
        for t in front
    ]
    if select is not None:
        chosen_row = select(pareto)
    else:
        sign = 1 if directions[0] == "maximize" else -1
        chosen_row = max(pareto, key=lambda row: sign * row[metrics[0]])
    chosen = next(t for t in front if t.number == chosen_row["number"])
    cv_scores = chosen.user_attrs.get("cv_scores", {})
    result = TuningResult(
        study_name=study.study_name,
        storage=str(path),
        metrics=metrics,
        directions=directions,
        best_params=dict(chosen.params),
        best_values=dict(zip(metrics, chosen.values, strict=True)),
        best_trial=chosen.number,
        cv_scores=cv_scores,
        trials=_trials_frame(study, metrics),
        pareto=pareto if len(metrics) > 1 else [],
    )
    if refit and estimator is not None:
        result.model = _refit(estimator, result, data, target, space)
    return result


def _refit(estimator: Any, result: TuningResult, data: Any, target: Any, space: Space) -> Any:
    from sklearn.base import clone

    from alambic.models import dumps_model, package

    features, labels = data.drop(columns=[target]), data[target]
    try:
        model = clone(estimator).set_params(**result.best_params).fit(features, labels)
    except Exception as exc:
        raise TuningError(
            f"refitting the best trial ({result.best_params}) on all the data failed: {exc}"
        ) from exc
    metadata = {"tuning": result.summary(), "space": space.describe()}
    packaged = package(model, features, labels, metadata=metadata)
    packaged.size_bytes = dumps_model(packaged, allow_pickle=True)[1]["size_bytes"]
    return packaged
