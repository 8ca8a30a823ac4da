"""Tuning: check the search, open its study, let the driver run the trials, read the result.

:func:`tune` runs wherever it is called: in a notebook, or inside a pipeline step (the
study is then named after the step run, so ``alambic resume`` continues it without
repeating finished trials). Trials run in parallel on the configured executor (local
worker processes or Ray), driven by :class:`~alambic.tuning._driver.StudyDriver`; each
is a tracked run, child of the step's (or of a ``tune`` run). A failing, timed-out or
crashed trial is recorded as failed with its reason and the study goes on.

Example:
    >>> import pandas as pd
    >>> from sklearn.datasets import load_breast_cancer
    >>> from sklearn.tree import DecisionTreeClassifier
    >>> from alambic.tuning import Int
    >>> data = load_breast_cancer(as_frame=True).frame
    >>> result = tune(DecisionTreeClassifier(random_state=0), {"max_depth": Int(2, 8)},
    ...               data=data, target="target", metric="roc_auc", n_trials=4, cv=3,
    ...               executor="inline")
    >>> sorted(result.best_params), result.best_value > 0.9, result.model.signature.task
    (['max_depth'], True, 'binary')
"""

from __future__ import annotations

import base64
import collections
import dataclasses
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from alambic.config import settings as current_settings
from alambic.core import new_id, parse_duration
from alambic.errors import TuningError
from alambic.tuning._driver import Limits, StudyDriver
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

if TYPE_CHECKING:
    from alambic.config import Settings

__all__ = ["TuningResult", "tune"]

log = logging.getLogger(__name__)

_Selector = Callable[[list[dict[str, Any]]], dict[str, Any]]
"""Picks the trial to refit from the Pareto front (rows of number, params, metrics)."""


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
        trials: one row per trial: number, state, values, duration, reason, attrs (what
            the objective attached with ``trial.set_attr``), params (``params.<name>``).
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


@dataclass(frozen=True)
class _Search:
    """What describes a search, to read its result from the study (and refit it).

    Attributes:
        name: the study's name.
        path: its journal file.
        metrics: the objectives, in order; ``directions`` says which way each is better.
        space: the search space.
        estimator: the tuned estimator, or None for an objective function.
        data: the training data (estimators), with its ``target`` column.
        task: what the target is (``binary``, ``regression``…), or ``custom``.
        refit: whether to refit the chosen point on all the data.
        select: picks the trial to refit from the Pareto front, or None for the best first.
    """

    name: str
    path: Path
    metrics: list[str]
    directions: list[str]
    space: Space
    estimator: Any
    data: Any
    target: str | None
    task: str
    refit: bool
    select: _Selector | None


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
    stop_at: float | str | None = None,
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
        stop_at: seconds from the start after which the trials still running are stopped
            (recorded as failed): with ``timeout``, a hard end to the whole study.
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
    if (estimator is None) == (objective is None):
        raise TuningError("give either an estimator to cross-validate or an objective function")
    parsed = Space.parse(space if space is not None else {})
    metrics = _metric_names(metric)
    dirs = _directions(metrics, directions)
    _check_pruner(pruner, metrics)
    limits = _limits(n_jobs, n_trials, timeout, trial_timeout, space=parsed, sampler=sampler)
    limits = dataclasses.replace(limits, stop_at=parse_duration(stop_at))
    config = current_settings()
    task = "custom" if estimator is None else _check_data(data, target, metrics, cv)
    name, in_step = _study_name(study_name)
    search = _Search(
        name=name,
        path=storage_path(config.home, name),
        metrics=metrics,
        directions=dirs,
        space=parsed,
        estimator=estimator,
        data=data,
        target=target,
        task=task,
        refit=refit,
        select=select,
    )
    objective_spec = _objective_spec(search, objective, config, cv=cv, random_state=random_state)
    study = _open_study(search, sampler, pruner, random_state=random_state, warm_start=warm_start)
    StudyDriver(
        study,
        objective_spec,
        space=parsed,
        metrics=metrics,
        limits=limits,
        settings=config,
        executor=executor,
        pruning=study_spec(search.path, name, pruner) if pruner is not None else None,
        in_step=in_step,
        on_progress=on_progress,
    ).run()
    return _result(study, search)


def _metric_names(metric: str | Sequence[str]) -> list[str]:
    metrics = [metric] if isinstance(metric, str) else list(metric)
    if not metrics:
        raise TuningError("give at least one metric to optimise")
    return metrics


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


def _check_pruner(pruner: Any, metrics: list[str]) -> None:
    make_pruner(pruner)  # an unknown pruner is refused before the study exists
    if pruner is not None and len(metrics) > 1:
        raise TuningError("pruning works with a single metric; drop pruner= or use one metric")


def _limits(
    n_jobs: int,
    n_trials: int | None,
    timeout: float | str | None,
    trial_timeout: float | str | None,
    *,
    space: Space,
    sampler: Any,
) -> Limits:
    if n_jobs < 1:
        raise TuningError(f"n_jobs={n_jobs}: run at least one trial at a time")
    budget = _budget(n_trials, timeout, space, sampler)
    return Limits(n_jobs, budget, parse_duration(timeout), parse_duration(trial_timeout))


def _budget(n_trials: int | None, timeout: Any, space: Space, sampler: Any) -> int | None:
    if n_trials is not None and (not isinstance(n_trials, int) or n_trials < 1):
        raise TuningError(f"n_trials={n_trials!r}: give a positive number of trials")
    if n_trials is None and isinstance(sampler, str) and sampler.lower() == "grid":
        return space.size()
    if n_trials is None and timeout is None:
        raise TuningError("give a budget: n_trials=, timeout= (e.g. '30m'), or both")
    return n_trials


def _check_data(data: Any, target: str | None, metrics: list[str], cv: int) -> str:
    """Check the training data before any trial; return the task it is."""
    labels = _labels(data, target, cv)
    task = _check_labels(labels, target, cv)
    _check_metrics(metrics, task)
    return task


def _labels(data: Any, target: str | None, cv: int) -> Any:
    """The target column, once the frame (and the number of folds) are checked."""
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
    return data[target]


def _check_labels(labels: Any, target: str | None, cv: int) -> str:
    """Check the target's values; return the task they make."""
    from alambic.evaluation import infer_task

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
    return task


def _check_metrics(metrics: list[str], task: str) -> None:
    from alambic.evaluation import METRICS

    for name in metrics:
        if name in METRICS:
            wanted = METRICS[name][0]
            fits = wanted == task or (wanted == "classification" and task != "regression")
            if not fits:
                raise TuningError(f"metric {name!r} is for {wanted} tasks; this target is {task}")


def _encode(value: Any) -> str:
    import cloudpickle

    return base64.b64encode(cloudpickle.dumps(value)).decode()


def _study_name(given: str | None) -> tuple[str, bool]:
    """The study's name (inside a pipeline step: one per step run), and whether in a step."""
    from alambic.executors import current_step

    step = current_step()
    if given is not None:
        return given, step is not None
    name = f"{step.label}-{step.step_run}" if step and step.step_run else new_id("study")
    return name, step is not None


def _objective_spec(
    search: _Search, objective: Any, config: Settings, *, cv: int, random_state: int | None
) -> dict[str, Any]:
    """What a trial evaluates; an estimator's training data is stored once, here."""
    if search.estimator is None:
        return {"kind": "function", "pickled": _encode(objective)}
    from alambic.store import ArtifactStore, save_value

    ref = save_value(ArtifactStore(config.artifacts), search.data, what="the tuning data")
    return {
        "kind": "estimator",
        "estimator": _encode(search.estimator),
        "store": config.artifacts,
        "data": ref.to_dict(),
        "target": search.target,
        "task": search.task,
        "metrics": search.metrics,
        "cv": cv,
        "random_state": random_state,
    }


def _open_study(
    search: _Search, sampler: Any, pruner: Any, *, random_state: int | None, warm_start: Any
) -> Any:
    """The study, created or resumed, its grid queued and its warm start added."""
    study = create_or_resume(
        search.path,
        search.name,
        directions=search.directions,
        sampler=make_sampler(sampler, search.space, random_state),
        pruner=pruner,
    )
    if isinstance(sampler, str) and sampler.lower() == "grid":
        enqueue_grid(study, search.space, random_state)
    if warm_start is not None:
        added = seed_study(study, warm_start, search.space)
        log.info("study %s: warm start with %d trial(s)", search.name, added)
    return study


def _result(study: Any, search: _Search) -> TuningResult:
    """The search's result: the chosen trial, every trial, the front, the refit model."""
    metrics = search.metrics
    front = _front(study, metrics)
    pareto = [
        {"number": t.number, "params": dict(t.params), **dict(zip(metrics, t.values, strict=True))}
        for t in front
    ]
    chosen = _choose(front, pareto, search)
    result = TuningResult(
        study_name=study.study_name,
        storage=str(search.path),
        metrics=metrics,
        directions=search.directions,
        best_params=dict(chosen.params),
        best_values=dict(zip(metrics, chosen.values, strict=True)),
        best_trial=chosen.number,
        cv_scores=chosen.user_attrs.get("cv_scores", {}),
        trials=_trials_frame(study, metrics),
        pareto=pareto if len(metrics) > 1 else [],
    )
    if search.refit and search.estimator is not None:
        result.model = _refit(search, result)
    return result


def _front(study: Any, metrics: list[str]) -> list[Any]:
    """The best trials (the Pareto front, or the best one); refused when none succeeded."""
    import optuna

    complete = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    if not complete:
        total = len(study.get_trials(deepcopy=False))
        raise TuningError(
            f"no trial of study {study.study_name!r} succeeded ({total} trial(s)): "
            f"{_failure_summary(study)}"
        )
    return study.best_trials if len(metrics) > 1 else [study.best_trial]


def _choose(front: list[Any], pareto: list[dict[str, Any]], search: _Search) -> Any:
    """The trial to report (and refit): ``select``'s pick, or the best first metric."""
    if search.select is not None:
        chosen_row = search.select(pareto)
    else:
        sign = 1 if search.directions[0] == "maximize" else -1
        first = search.metrics[0]
        chosen_row = max(pareto, key=lambda row: sign * row[first])
    return next(t for t in front if t.number == chosen_row["number"])


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
        row["attrs"] = {k: v for k, v in t.user_attrs.items() if k != "fail_reason"}
        row.update({f"params.{k}": v for k, v in t.params.items()})
        rows.append(row)
    return pd.DataFrame(rows)


def _failure_summary(study: Any) -> str:
    reasons = collections.Counter(
        t.user_attrs.get("fail_reason") or t.state.name.lower()
        for t in study.get_trials(deepcopy=False)
    )
    return "; ".join(f"{count}× {reason}" for reason, count in reasons.most_common(5))


def _refit(search: _Search, result: TuningResult) -> Any:
    from sklearn.base import clone

    from alambic.models import dumps_model, package

    data, target = search.data, search.target
    features, labels = data.drop(columns=[target]), data[target]
    try:
        model = clone(search.estimator).set_params(**result.best_params).fit(features, labels)
    except Exception as exc:
        raise TuningError(
            f"refitting the best trial ({result.best_params}) on all the data failed: {exc}"
        ) from exc
    metadata = {"tuning": result.summary(), "space": search.space.describe()}
    packaged = package(model, features, labels, metadata=metadata)
    packaged.size_bytes = dumps_model(packaged, allow_pickle=True)[1]["size_bytes"]
    return packaged
