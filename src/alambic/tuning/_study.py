"""Optuna studies: samplers and pruners by name, journal storage, recovery, warm start.

A study lives in an Optuna journal file under ``ALAMBIC_HOME/studies/``: an append-only
log that several processes share safely (file lock), so trials on other workers can
report intermediate scores to it, and a study interrupted by a crash is reopened by name
with every finished trial intact. (Optuna's SQL storage would collide with alambic's own
Alembic-managed tables, hence the journal.)
"""

from __future__ import annotations

import base64
import logging
import re
from pathlib import Path
from typing import Any

from alambic.core import optional_import
from alambic.errors import TuningError
from alambic.tuning._space import Space

__all__ = ["PRUNERS", "SAMPLERS", "make_pruner", "make_sampler", "open_study", "study_spec"]

log = logging.getLogger(__name__)

SAMPLERS = ("tpe", "random", "grid", "cmaes", "nsga2")
PRUNERS = ("median", "successive_halving", "hyperband", "none")
INTERRUPTED = "interrupted: the tuning process stopped before the trial ended"


def _optuna() -> Any:
    optuna = optional_import("optuna", extra="tuning")
    optuna.logging.set_verbosity(optuna.logging.WARNING)  # alambic reports progress itself
    return optuna


def make_sampler(sampler: Any, space: Space, random_state: int | None) -> Any:
    """An Optuna sampler from its name (or an Optuna sampler, returned as is)."""
    optuna = _optuna()
    if not isinstance(sampler, str):
        if isinstance(sampler, optuna.samplers.BaseSampler):
            return sampler
        raise TuningError(f"sampler must be one of {', '.join(SAMPLERS)}, got {sampler!r}")
    name = sampler.lower().replace("-", "").replace("_", "")
    if name == "tpe":
        return optuna.samplers.TPESampler(seed=random_state)
    if name == "random":
        return optuna.samplers.RandomSampler(seed=random_state)
    if name == "grid":
        # Optuna's GridSampler stops the study from inside optimize(), which ask-and-tell
        # has not got; every point is queued instead (see enqueue_grid).
        space.grid()  # refuses spaces without a finite grid
        return optuna.samplers.RandomSampler(seed=random_state)
    if name in ("cmaes", "cma"):
        optional_import("cmaes", extra="tuning")
        return optuna.samplers.CmaEsSampler(seed=random_state, warn_independent_sampling=False)
    if name in ("nsga2", "nsgaii"):
        return optuna.samplers.NSGAIISampler(seed=random_state)
    raise TuningError(f"unknown sampler {sampler!r}; use one of: {', '.join(SAMPLERS)}")


def make_pruner(pruner: Any) -> Any:
    """An Optuna pruner from its name, None for no pruning (or an Optuna pruner, as is)."""
    optuna = _optuna()
    if pruner is None:
        return optuna.pruners.NopPruner()
    if not isinstance(pruner, str):
        if isinstance(pruner, optuna.pruners.BasePruner):
            return pruner
        raise TuningError(f"pruner must be one of {', '.join(PRUNERS)}, got {pruner!r}")
    name = pruner.lower().replace("-", "_")
    if name == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=4, n_warmup_steps=0)
    if name in ("successive_halving", "sha", "asha"):
        return optuna.pruners.SuccessiveHalvingPruner()
    if name == "hyperband":
        return optuna.pruners.HyperbandPruner()
    if name in ("none", "nop"):
        return optuna.pruners.NopPruner()
    raise TuningError(f"unknown pruner {pruner!r}; use one of: {', '.join(PRUNERS)}")


def storage_path(home: Path, study_name: str) -> Path:
    """The journal file of a study."""
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", study_name)[:150]
    return home / "studies" / f"{safe}.journal"


def _storage(path: str) -> Any:
    optuna = _optuna()
    from optuna.storages.journal import JournalFileBackend

    Path(path).parent.mkdir(parents=True, exist_ok=True)
    return optuna.storages.JournalStorage(JournalFileBackend(path))


def study_spec(path: Path, name: str, pruner: Any) -> dict[str, Any]:
    """What a trial worker needs to reopen the study (to report and prune)."""
    import cloudpickle

    return {
        "storage": str(path),
        "name": name,
        "pruner": base64.b64encode(cloudpickle.dumps(make_pruner(pruner))).decode(),
    }


def open_study(spec: dict[str, Any]) -> Any:
    """Reopen a study from a worker (see :func:`study_spec`)."""
    import cloudpickle

    pruner = cloudpickle.loads(base64.b64decode(spec["pruner"]))
    return _optuna().load_study(
        study_name=spec["name"], storage=_storage(spec["storage"]), pruner=pruner
    )


def create_or_resume(
    path: Path, name: str, *, directions: list[str], sampler: Any, pruner: Any
) -> Any:
    """Open the study (created when new); trials left running by a crash are marked failed."""
    optuna = _optuna()
    storage = _storage(str(path))
    try:
        study = optuna.create_study(
            storage=storage,
            study_name=name,
            sampler=sampler,
            pruner=make_pruner(pruner),
            directions=directions,
            load_if_exists=True,
        )
    except ValueError as exc:
        raise TuningError(f"study {name!r} in {path} cannot be reopened: {exc}") from exc
    existing = [d.name.lower() for d in study.directions]
    if existing != directions:
        raise TuningError(
            f"study {name!r} was created to {existing}, not {directions}; "
            "give another study_name to start afresh"
        )
    running = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,))
    for trial in running:
        study._storage.set_trial_user_attr(trial._trial_id, "fail_reason", INTERRUPTED)
        study.tell(trial.number, state=optuna.trial.TrialState.FAIL)
    if running:
        log.info("study %s: %d interrupted trial(s) marked failed", name, len(running))
    return study


def enqueue_grid(study: Any, space: Space, random_state: int | None) -> None:
    """Queue every point of the grid once, in a seeded random order (new studies only)."""
    import itertools
    import random

    if study.get_trials(deepcopy=False):
        return
    grid = space.grid()
    points = [dict(zip(grid, values, strict=True)) for values in itertools.product(*grid.values())]
    random.Random(random_state).shuffle(points)  # noqa: S311 - an order, not a secret
    for point in points:
        study.enqueue_trial(point)


def warm_start(study: Any, source: Any, space: Space) -> int:
    """Seed a new study with the finished trials of an earlier one, or with given points.

    Args:
        source: a :class:`TuningResult`, the name of an earlier study in this home, or a
            list of parameter dicts to try first.

    Returns:
        How many trials were added or queued.
    """
    optuna = _optuna()
    if study.get_trials(deepcopy=False):
        return 0  # resuming: the warm start happened when the study began
    if isinstance(source, list):
        for params in source:
            unknown = sorted(set(params) - set(space.params))
            if unknown:
                raise TuningError(
                    f"warm-start point {params!r} names unknown parameter(s) {unknown}"
                )
            study.enqueue_trial(params, user_attrs={"warm_start": True})
        return len(source)
    storage, name = getattr(source, "storage", None), getattr(source, "study_name", source)
    if storage is None:
        from alambic.config import settings

        storage = str(storage_path(settings().home, str(name)))
    if not Path(storage).exists():
        raise TuningError(f"no earlier study {name!r} to warm-start from (looked for {storage})")
    earlier = optuna.load_study(study_name=str(name), storage=_storage(str(storage)))
    finished = earlier.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    if len(earlier.directions) != len(study.directions):
        raise TuningError(f"study {name!r} has a different number of objectives")
    added = 0
    for trial in finished:
        if set(trial.params) <= set(space.params):
            copy = optuna.trial.create_trial(
                params=trial.params,
                distributions=trial.distributions,
                values=trial.values,
                user_attrs={**trial.user_attrs, "warm_start": str(name)},
            )
            study.add_trial(copy)
            added += 1
    return added
