"""The search across candidates: one study, the same folds for all, pruned as it goes.

Every candidate's ``SPACE`` joins one search space under a ``candidate`` choice (its
parameters named ``01_lightgbm:model__num_leaves``, sampled only when that candidate
is), so the sampler spends trials where they pay rather than a fixed share per family;
and the pruner (successive halving by default) stops a trial whose running score after
a fold falls behind what other trials, of any family, reached at that fold. The
``PORTFOLIO`` configurations of every candidate are queued first, and the first of
each is never pruned: every family gets a full score on the leaderboard.

A trial is :func:`run_candidate`: on a worker (local processes or Ray), it reads the
data from the artifact store (once per worker), the candidate's source as the driver
read it, fits the pipeline on each fold's training rows and scores the held-out rows.
Its out-of-fold predictions are saved to the artifact store (for the ensemble); its
folds' scores and fit time are attributes of the trial.

Example:
    >>> from alambic.tuning import Int
    >>> sorted(joint_space({"01_knn": {"model__n_neighbors": Int(1, 5)}}))
    ['01_knn:model__n_neighbors', 'candidate']
"""

from __future__ import annotations

import dataclasses
import hashlib
import time
from collections.abc import Mapping
from typing import Any

import numpy as np

from alambic.automl._ensemble import aligned
from alambic.errors import AutoMLError
from alambic.tuning import Categorical, Int, Pruned, Space, Trial, trial_data

__all__ = [
    "folds_of",
    "joint_space",
    "metric_labels",
    "portfolio_points",
    "run_candidate",
    "source_hash",
    "split_params",
]

_modules: dict[str, dict[str, Any]] = {}  # candidate namespaces by source hash, per worker


def joint_space(spaces: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """One space: a ``candidate`` choice, and each candidate's parameters under its name.

    Raises:
        AutoMLError: a candidate's space is invalid (names the candidate).
    """
    joint: dict[str, Any] = {"candidate": Categorical(list(spaces))}
    for name, space in spaces.items():
        try:
            params = Space.parse(space).params
        except Exception as exc:
            raise AutoMLError(f"candidate {name}: its SPACE is invalid: {exc}") from exc
        for key, param in params.items():
            joint[f"{name}:{key}"] = dataclasses.replace(param, when={"candidate": name})
    return joint


def split_params(params: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """A trial's candidate, and its own parameters (without the candidate's prefix)."""
    name = str(params["candidate"])
    prefix = f"{name}:"
    return name, {k[len(prefix) :]: v for k, v in params.items() if k.startswith(prefix)}


def portfolio_points(
    portfolios: Mapping[str, list[dict[str, Any]]], spaces: Mapping[str, Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """The warm start: each candidate's portfolio entries as points of the joint space,
    taken in turns (every candidate's first entry, then every second one…); a parameter
    an entry leaves out takes the middle of its range.

    Raises:
        AutoMLError: an entry names a parameter its SPACE lacks, or a value outside it.
    """
    parsed = {name: Space.parse(spaces[name]).params for name in portfolios}
    for name, entries in portfolios.items():
        _check_portfolio(name, parsed[name], entries)
    points = []
    longest = max((len(p) for p in portfolios.values()), default=0)
    for i in range(longest):
        for name, entries in portfolios.items():
            if i < len(entries):
                # a whole point: what the entry leaves out takes the middle of its range,
                # so that the trial is the same configuration every time (not sampled)
                full = {key: _middle(param) for key, param in parsed[name].items()}
                full.update(entries[i])
                points.append({"candidate": name, **{f"{name}:{k}": v for k, v in full.items()}})
    return points


def _middle(param: Any) -> Any:
    """The middle of a parameter's range (geometric on a log scale), or its first choice."""
    if isinstance(param, Categorical):
        return param.choices[0]
    low, high = float(param.low), float(param.high)
    middle = float(np.sqrt(low * high)) if param.log else (low + high) / 2
    if isinstance(param, Int):
        step = int(param.step)
        return int(param.low + round((middle - param.low) / step) * step)
    if param.step:
        return float(param.low + round((middle - param.low) / param.step) * param.step)
    return middle


def _check_portfolio(name: str, params: Mapping[str, Any], entries: list[dict[str, Any]]) -> None:
    for entry in entries:
        for key, value in entry.items():
            param = params.get(key)
            if param is None:
                raise AutoMLError(
                    f"candidate {name}: PORTFOLIO sets {key!r}, which SPACE does not hold; "
                    f"add it to SPACE or drop it (SPACE holds {', '.join(params)})"
                )
            if isinstance(param, Categorical):
                fits = value in param.choices
            else:
                number = isinstance(value, int | float) and not isinstance(value, bool)
                fits = number and param.low <= value <= param.high
            if not fits:
                raise AutoMLError(
                    f"candidate {name}: PORTFOLIO sets {key}={value!r}, outside SPACE's {param}"
                )


def folds_of(labels: Any, task: str, n_folds: int, random_state: int) -> list[list[int]]:
    """The held-out row positions of each fold (stratified for classes), shared by all."""
    from sklearn.model_selection import KFold, StratifiedKFold

    splitter_type = StratifiedKFold if task != "regression" else KFold
    splitter = splitter_type(n_splits=n_folds, shuffle=True, random_state=random_state)
    placeholder = np.zeros(len(labels))
    return [valid.tolist() for _, valid in splitter.split(placeholder, labels)]


def metric_labels(labels: Any, classes: list[Any]) -> np.ndarray:
    """Labels as metrics read them beside probabilities: each class's position in
    ``classes`` (the order of ``predict_proba``'s columns); values as they are otherwise."""
    if not classes:
        return np.asarray(labels)
    positions = {c: i for i, c in enumerate(classes)}
    return np.asarray([positions[c] for c in labels])


def run_candidate(spec: dict[str, Any], params: dict[str, Any], trial: Trial) -> float:
    """One trial: cross-validate the chosen candidate with its parameters.

    Args:
        spec: ``store`` and ``data`` (the saved training table), ``target``, ``task``,
            ``metric``, ``classes`` (sorted; empty for a regression), ``folds``
            (held-out positions), ``sources`` (candidate name to its module's text),
            ``unpruned`` (trials numbered below it run every fold: each candidate's first
            portfolio entry, so that every family has a score), ``threads`` (per trial).
        params: the point of the joint space.
        trial: reports the running score after each fold, and prunes.
    """
    from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]

    # Trials run side by side: each keeps to its share of the cores (OpenMP, BLAS).
    with threadpool_limits(limits=int(spec.get("threads", 1))):
        return _cross_validate(spec, params, trial)


def _cross_validate(spec: dict[str, Any], params: dict[str, Any], trial: Trial) -> float:
    from alambic.evaluation import metric, scores_of

    name, own = split_params(params)
    build = _namespace(spec["sources"][name])["build"]
    data = trial_data(spec["store"], spec["data"])
    target, task, chosen = spec["target"], spec["task"], spec["metric"]
    features, labels = data.drop(columns=[target]), data[target]
    scored = metric_labels(labels, spec["classes"])
    positions = np.arange(len(data))
    oof: np.ndarray | None = None
    scores: list[float] = []
    fit_seconds = 0.0
    for fold, valid in enumerate(spec["folds"]):
        train = np.setdiff1d(positions, valid, assume_unique=True)
        started = time.perf_counter()
        model = build(**own).fit(features.iloc[train], labels.iloc[train])
        fit_seconds += time.perf_counter() - started
        predicted = aligned(scores_of(model, features.iloc[valid], task), model, spec["classes"])
        if oof is None:
            oof = np.full((len(data), *predicted.shape[1:]), np.nan)
        oof[valid] = predicted
        scores.append(metric(chosen, scored[valid], predicted))
        running = float(np.mean(scores))
        if not np.isfinite(running):
            raise AutoMLError(f"{name}: the {chosen} of fold {fold} is {running}")
        trial.report(running, fold)
        if trial.number >= spec.get("unpruned", 0) and trial.should_prune():
            raise Pruned(f"pruned after fold {fold}")
    trial.set_attr("candidate", name)
    trial.set_attr("source", source_hash(spec["sources"][name]))  # the code it scored
    trial.set_attr("params", own)  # as sampled (the trials table turns ints into floats)
    trial.set_attr("cv_scores", scores)
    trial.set_attr("fit_seconds", fit_seconds / max(1, len(scores)))
    trial.set_attr("oof", _save_oof(spec["store"], oof))
    return float(np.mean(scores))


def source_hash(source: str) -> str:
    """A short hash of a candidate's text: which version of it a trial scored."""
    return hashlib.sha256(source.encode()).hexdigest()[:16]


def _namespace(source: str) -> dict[str, Any]:
    """A candidate module's names, from its text (run once per worker and text)."""
    key = hashlib.sha256(source.encode()).hexdigest()
    namespace = _modules.get(key)
    if namespace is None:
        namespace = {"__name__": f"alambic_candidate_{key[:12]}"}
        exec(compile(source, f"<candidate {key[:12]}>", "exec"), namespace)  # noqa: S102
        _modules[key] = namespace
    return namespace


def _save_oof(store_url: str, oof: Any) -> dict[str, Any]:
    from alambic.store import ArtifactStore, save_value

    ref = save_value(ArtifactStore(store_url), oof, what="out-of-fold predictions")
    return dict(ref.to_dict())
