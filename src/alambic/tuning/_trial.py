"""What one trial runs, inside a worker: cross-validate an estimator or call an objective.

:func:`run_trial` is an ordinary task function: the study's driver sends it to the
executor (local processes or Ray) like a pipeline step. It needs no database. With a
pruner, the trial opens the study's journal file to report intermediate scores and ask
whether to stop, which is how Optuna prunes across processes.

Example:
    >>> trial = Trial({"depth": 3}, number=0)
    >>> trial.params["depth"], trial.should_prune()
    (3, False)
"""

from __future__ import annotations

import base64
import math
import time
from dataclasses import dataclass, field
from typing import Any

from alambic.errors import TuningError

__all__ = ["Pruned", "Trial", "run_trial", "trial_data"]

# Objectives that are not metrics of the predictions: smaller is better.
MODEL_OBJECTIVES = {"model_size": "bytes of the stored model", "latency": "ms per 1,000 rows"}

_data: dict[str, Any] = {}  # training data by content hash: trials on one worker load it once


class Pruned(Exception):
    """Raised by an objective to stop a trial that the pruner judged unpromising."""


@dataclass
class Trial:
    """The handle an objective receives: its parameters, and pruning.

    Attributes:
        params: the sampled hyperparameters.
        number: the trial's number in its study.
    """

    params: dict[str, Any]
    number: int
    _optuna: Any = None
    intermediate: list[tuple[int, float]] = field(default_factory=list)
    attrs: dict[str, Any] = field(default_factory=dict)

    def report(self, value: float, step: int) -> None:
        """Record an intermediate score (e.g. after each fold or epoch)."""
        self.intermediate.append((int(step), float(value)))
        if self._optuna is not None:
            self._optuna.report(float(value), int(step))

    def should_prune(self) -> bool:
        """Whether the pruner wants this trial stopped (always False without a pruner)."""
        return bool(self._optuna is not None and self._optuna.should_prune())

    def set_attr(self, key: str, value: Any) -> None:
        """Attach a JSON-able value to the trial (shown in results and tracking)."""
        self.attrs[key] = value


def _optuna_trial(study: dict[str, Any] | None, trial_id: int) -> Any:
    if study is None:
        return None
    import optuna

    from alambic.tuning._study import open_study

    return optuna.Trial(open_study(study), trial_id)


def _unpickle(text: str) -> Any:
    import cloudpickle

    return cloudpickle.loads(base64.b64decode(text))


def run_trial(spec: dict[str, Any]) -> dict[str, Any]:
    """Evaluate one point of the space; return its objective values and what it learned.

    Args:
        spec: ``params``, ``number``, ``trial_id``, ``study`` (for pruning, or None) and
            ``objective`` (``{"kind": "estimator", "data": ..., ...}`` or
            ``{"kind": "function", "pickled": ...}``).
    """
    trial = Trial(dict(spec["params"]), int(spec["number"]))
    trial._optuna = _optuna_trial(spec.get("study"), int(spec["trial_id"]))
    objective = spec["objective"]
    try:
        if objective["kind"] == "estimator":
            data = trial_data(objective["store"], objective["data"])
            values = _cross_validate(trial, objective, data)
        else:
            function = _unpickle(objective["pickled"])
            values = function(trial.params, trial)
    except Pruned:
        return _outcome(trial, None, pruned=True)
    except Exception as exc:
        if type(exc).__name__ == "TrialPruned":  # optuna's own, raised by user code
            return _outcome(trial, None, pruned=True)
        raise
    if isinstance(values, int | float):
        values = [float(values)]
    values = [float(v) for v in values]
    return _outcome(trial, values, pruned=False)


def _outcome(trial: Trial, values: list[float] | None, *, pruned: bool) -> dict[str, Any]:
    return {
        "values": values,
        "pruned": pruned,
        "intermediate": trial.intermediate,
        "attrs": trial.attrs,
    }


def _cross_validate(trial: Trial, objective: dict[str, Any], data: Any) -> list[float]:
    """K-fold cross-validation; the running mean of the first metric is reported per fold."""
    from sklearn.base import clone
    from sklearn.model_selection import KFold, StratifiedKFold

    from alambic.evaluation import metric, scores_of

    target, task = objective["target"], objective["task"]
    metrics: list[str] = objective["metrics"]
    features, labels = data.drop(columns=[target]), data[target]
    splitter_type = StratifiedKFold if task in ("binary", "multiclass") else KFold
    splitter = splitter_type(
        n_splits=objective["cv"], shuffle=True, random_state=objective["random_state"]
    )
    template = _unpickle(objective["estimator"])
    scores: dict[str, list[float]] = {m: [] for m in metrics if m not in MODEL_OBJECTIVES}
    size = latency = 0.0
    model: Any = None
    for fold, (train, valid) in enumerate(splitter.split(features, labels)):
        model = clone(template).set_params(**trial.params)
        model.fit(features.iloc[train], labels.iloc[train])
        started = time.perf_counter()
        predicted = scores_of(model, features.iloc[valid], task)
        latency = (time.perf_counter() - started) * 1000 * 1000 / max(1, len(valid))
        for name in scores:
            scores[name].append(metric(name, labels.iloc[valid], predicted))
        if scores:
            first = next(iter(scores.values()))
            running = sum(first) / len(first)
            if not math.isfinite(running):
                raise TuningError(f"the metric is {running} on fold {fold}; check the data")
            trial.report(running, fold)
            if trial.should_prune():
                raise Pruned(f"pruned after fold {fold}")
    if "model_size" in metrics and model is not None:
        from alambic.models import dumps_model

        size = float(len(dumps_model(model, allow_pickle=True)[0]))
    trial.set_attr("cv_scores", scores)
    values = []
    for name in metrics:
        if name == "model_size":
            values.append(size)
        elif name == "latency":
            values.append(latency)
        else:
            values.append(sum(scores[name]) / len(scores[name]))
    return values


def trial_data(store_url: str, ref: dict[str, Any]) -> Any:
    """The training data of a study, loaded once per worker (trials of one study share it).

    Args:
        store_url: the artifact store the data was saved to.
        ref: the saved value's :class:`~alambic.store.ArtifactRef`, as a dict.
    """
    cached = _data.get(ref["hash"])
    if cached is None:
        from alambic.store import ArtifactRef, ArtifactStore, load_value

        _data.clear()  # keep one data set: a worker serves one study at a time
        cached = _data[ref["hash"]] = load_value(
            ArtifactStore(store_url), ArtifactRef.from_dict(ref)
        )
    return cached
